/**
 * What a job that cannot progress waits for, and how long it may. Two limits:
 * - a storage token: `TokenWaits` (one per engine, fed by the guarded credential)
 *   knows since when tokens could not be had; past `tokenWaitSeconds` the token
 *   failure is permanent;
 * - the destination (Blob Storage, Key Vault): each call made by a work item runs
 *   under its item's `ItemWaits` (found through AsyncLocalStorage, so the storage
 *   pipeline needs no plumbing) with an abort signal that fires after
 *   `destinationTimeoutSeconds` without an answer (not counting time spent
 *   waiting for a token, which has its own limit).
 * A call waiting longer than `reportAfterMs` is reported to the item (and so to
 * `X-Progress`) until it ends.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Dependencies an export item waits on. */
export type WaitedService = 'Blob Storage' | 'Key Vault';

/** What an item waits for, as stored on the item and shown in `X-Progress`. */
export interface ItemWait {
  /** Short, secret-free: "a storage token from the routing server", "Blob Storage", "Blob Storage (retrying: …)". */
  cause: string;
  /** Since when (epoch ms). */
  sinceMs: number;
  /** The dependency, when it is one of the destination's (its limit applies). */
  service?: WaitedService;
}

/** The cause shown while tokens cannot be had. */
export const tokenCause = 'a storage token from the routing server';

/** Since when storage tokens could not be had, engine-wide. */
export class TokenWaits {
  #outstanding = new Map<number, number>();
  #next = 0;
  #failingSince: number | undefined;

  /**
   * A `getToken` call began; call the returned function with how it ended (`aborted`: its
   * caller stopped waiting, which says nothing about tokens). After a failure it answers since
   * when tokens have been failing (the start of the first failed call since the last success).
   */
  begin(now = Date.now()): (outcome: 'token' | 'failed' | 'aborted') => number | undefined {
    const id = this.#next++;
    this.#outstanding.set(id, now);
    return (outcome) => {
      this.#outstanding.delete(id);
      if (outcome === 'token') this.#failingSince = undefined;
      if (outcome === 'failed') this.#failingSince ??= now;
      return outcome === 'failed' ? this.#failingSince : undefined;
    };
  }

  /** Since when a token has been missing: failing calls, or the oldest call still waiting longer than `graceMs`. */
  waitingSince(now = Date.now(), graceMs = 0): number | undefined {
    const oldest = Math.min(...this.#outstanding.values());
    const pending = Number.isFinite(oldest) && now - oldest >= graceMs ? oldest : undefined;
    if (this.#failingSince === undefined) return pending;
    return pending === undefined ? this.#failingSince : Math.min(pending, this.#failingSince);
  }
}

/** How an item's waits are timed and reported. */
export interface ItemWaitRules {
  /** A destination call without an answer for this long is aborted (undefined: never). */
  destinationTimeoutMs?: number;
  /** A wait is reported once it lasts this long. */
  reportAfterMs: number;
  /** Engine-wide token state (a destination call waiting for a token is waiting for the token). */
  tokens?: TokenWaits;
  /** Stores the item's wait (`undefined`: clears it); failures are the caller's to log. */
  report(wait: ItemWait | undefined): Promise<void>;
}

/** A destination call that got no answer within the limit. */
export class DestinationTimeout extends Error {
  override readonly name = 'DestinationTimeout';
  /** `service` did not answer within `limitMs`. */
  constructor(
    readonly service: WaitedService,
    readonly limitMs: number,
  ) {
    super(`${service} did not complete a request within ${Math.round(limitMs / 1000)} s`);
  }
}

/** The waits of one running work item. */
export class ItemWaits {
  readonly #rules: ItemWaitRules;
  #reported = false;
  #writes: Promise<void> = Promise.resolve();
  /** When the last failed destination call of each service began. */
  readonly failedSince = new Map<WaitedService, number>();

  /** Waits timed and reported by `rules`; `stored` is the wait the item already shows (from an earlier failure). */
  constructor(rules: ItemWaitRules, stored?: ItemWait) {
    this.#rules = rules;
    if (stored) {
      // The first call that succeeds clears it; the limit counts from its start.
      this.#reported = true;
      if (stored.service) this.failedSince.set(stored.service, stored.sinceMs);
    }
  }

  /** Runs `call` (a call to `service`) with a deadline and reporting; rejects with `DestinationTimeout` past the deadline. */
  async call<T>(service: WaitedService, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const started = Date.now();
    const controller = new AbortController();
    const limit = this.#rules.destinationTimeoutMs;
    let timedOut = false;
    let waitedForToken = false;
    let deadline: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      deadline = setTimeout(() => {
        // Waiting for a token is the token's wait (it has its own limit): look again each second,
        // and once the token is there the destination gets its whole time again.
        if (this.#rules.tokens?.waitingSince() !== undefined) {
          waitedForToken = true;
          return arm(Math.min(limit!, 1000));
        }
        if (waitedForToken) {
          waitedForToken = false;
          return arm(limit!);
        }
        timedOut = true;
        controller.abort(new DestinationTimeout(service, limit!));
      }, ms);
    };
    if (limit !== undefined) arm(limit);
    const report = setTimeout(() => {
      // A token call outstanding for half the report delay is a wait for the token, not another item's quick refresh.
      const tokenSince = this.#rules.tokens?.waitingSince(Date.now(), this.#rules.reportAfterMs / 2);
      this.#store(tokenSince !== undefined ? { cause: tokenCause, sinceMs: tokenSince } : { cause: service, sinceMs: this.failedSince.get(service) ?? started, service });
    }, this.#rules.reportAfterMs);
    try {
      const result = await call(controller.signal);
      this.failedSince.delete(service);
      if (this.#reported) this.#store(undefined);
      return result;
    } catch (error) {
      if (!this.failedSince.has(service)) this.failedSince.set(service, started);
      if (timedOut) throw new DestinationTimeout(service, limit!);
      throw error;
    } finally {
      clearTimeout(deadline);
      clearTimeout(report);
    }
  }

  #store(wait: ItemWait | undefined): void {
    this.#reported = wait !== undefined;
    this.#writes = this.#writes.then(() => this.#rules.report(wait)).catch(() => undefined);
  }
}

const current = new AsyncLocalStorage<ItemWaits>();

/** Runs `work` with `waits` as the current item's. */
export function withItemWaits<T>(waits: ItemWaits, work: () => Promise<T>): Promise<T> {
  return current.run(waits, work);
}

/** The current item's waits (undefined outside a work item). */
export function currentItemWaits(): ItemWaits | undefined {
  return current.getStore();
}
