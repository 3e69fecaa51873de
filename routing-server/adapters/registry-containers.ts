/**
 * The registry's Cosmos DB containers, made sure of (created if missing) in the
 * background: the routing server starts and listens even when Cosmos DB is
 * unreachable, answers UNAVAILABLE naming it until the containers are there,
 * and keeps trying (1 s doubling to 30 s) without a restart.
 */
import type { Container, CosmosClient } from '@azure/cosmos';
import type { Logger } from 'pino';
import { ensureContainer } from '../../common/cosmos.ts';
import { RoutingError } from '../domain/errors.ts';
import { describeCosmosFailure } from './cosmos-errors.ts';

/** One container to make sure of. */
export interface ContainerSpec {
  /** Container id. */
  id: string;
  /** Partition key path. */
  partitionKeyPath: string;
}

/** See the module comment. */
export class RegistryContainers {
  private readonly ready = new Map<string, Container>();
  private lastFailure = 'not tried yet';
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Resolves once every container is there. */
  readonly whenReady: Promise<void>;
  private resolveReady!: () => void;

  /** Makes sure of `specs` in database `databaseId`; call `start()`. */
  constructor(
    private readonly cosmos: CosmosClient,
    private readonly databaseId: string,
    private readonly specs: ContainerSpec[],
    private readonly logger?: Logger,
  ) {
    this.whenReady = new Promise((resolve) => (this.resolveReady = resolve));
  }

  /** Whether every container is there. */
  get isReady(): boolean {
    return this.ready.size === this.specs.length;
  }

  /** Starts trying; resolves after the first attempt, whatever its outcome, or after `waitAtMostMs`. */
  async start(waitAtMostMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.attempt(1), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitAtMostMs)))]);
    clearTimeout(timer);
  }

  /** Stops trying. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** A source of the container `id` for the adapters: throws `dependency-unavailable` until it is there. */
  source(id: string): () => Container {
    return () => {
      const container = this.ready.get(id);
      if (container) return container;
      throw new RoutingError('dependency-unavailable', `the registry database (Cosmos DB) has not been reachable since start-up (${this.lastFailure}); retry later`, { retryAfterMs: 1_000 });
    };
  }

  private async attempt(n: number): Promise<void> {
    if (this.stopped) return;
    try {
      for (const spec of this.specs) {
        if (!this.ready.has(spec.id)) this.ready.set(spec.id, await ensureContainer(this.cosmos, this.databaseId, spec.id, spec.partitionKeyPath));
      }
      if (n > 1) this.logger?.info({ attempts: n }, 'registry database (Cosmos DB) reachable; routing server ready');
      this.resolveReady();
    } catch (err) {
      this.lastFailure = describeCosmosFailure(err);
      const delay = Math.min(30_000, 1_000 * 2 ** (n - 1));
      this.logger?.warn({ reason: this.lastFailure, attempt: n, retryInMs: delay }, 'registry database (Cosmos DB) unreachable; retrying');
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.attempt(n + 1), delay);
      this.timer.unref();
    }
  }
}
