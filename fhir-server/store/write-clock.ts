/**
 * Stamps for new versions, and the guarantee snapshot exports rest on: once
 * `settled(T)` resolves, every version stamped at or before T has either landed
 * or will never land, so reading the versions valid at T gives the state at T.
 *
 * - A version's `lastUpdated` is taken immediately before its write is sent
 *   ({@link WriteClock.begin}), and the write is abandoned (aborted, then retried
 *   with a new stamp or failed) when it has not landed within `writeTimeoutMs`.
 * - Writes of this process are tracked in memory (one clock per database and
 *   process, shared by every store instance on it): `settled(T)` waits for those
 *   stamped at or before T.
 * - Writes of other processes (other fhir-server instances, a loader) are covered
 *   by their presence document: before stamping, a writer makes sure the system
 *   container says it may write until `activeUntilMs` (a lease renewed ahead of
 *   time). A reader that finds another writer whose lease reaches T waits until
 *   every write that writer could have stamped at or before T has run out its
 *   timeout, plus the allowed clock skew. A writer idle for a second, with no
 *   write in flight, retires its lease, so readers stop waiting for it (its next
 *   write takes a new lease first), and so does one whose store is closed.
 * What remains is a request that reaches the database later than its own
 * timeout after being aborted by the client: documented in docs/history.md.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from '@azure/cosmos';
import { toFhirError } from './cosmos-errors.ts';

/** Timing rules of writes. */
export interface WriteClockOptions {
  /** A write not landed this long after its stamp is abandoned (default 10 s). */
  writeTimeoutMs?: number;
  /** Clock difference allowed between processes (default 500 ms). */
  clockSkewMs?: number;
  /** Length of a writer's presence lease (default 30 s). */
  presenceLeaseMs?: number;
  /** A writer with no write for this long retires its lease (default 1 s). */
  idleRetireMs?: number;
}

/** Defaults of {@link WriteClockOptions}. */
export const writeClockDefaults = Object.freeze({ writeTimeoutMs: 10_000, clockSkewMs: 500, presenceLeaseMs: 30_000, idleRetireMs: 1000 });

/** A write in flight: its stamp and the signal that abandons it. */
export interface StampedWrite {
  /** The version's `lastUpdatedMs`. */
  ms: number;
  /** Aborts the request once the write timeout has passed. */
  signal: AbortSignal;
  /** True while the write may still be sent (its timeout has not passed). */
  fresh(): boolean;
  /** Marks the write landed or failed. */
  done(): void;
}

interface PresenceDocument {
  id: string;
  pk: string;
  kind: 'writer';
  activeUntilMs: number;
  /** Set when the writer had no write in flight and retired its lease. */
  retired?: boolean;
}

const presencePk = 'writers';

/** How often a reader waiting for another writer looks at its presence again. */
const settlePollMs = 250;

const shared = new Map<string, WriteClock>();
const clientIds = new WeakMap<object, string>();

// The account a container belongs to: its client's endpoint (an SDK internal, read defensively), else the client object itself.
function accountOf(container: Container): string {
  const client = container.database.client as unknown as { clientContext?: { cosmosClientOptions?: { endpoint?: unknown } } };
  const endpoint = client.clientContext?.cosmosClientOptions?.endpoint;
  if (typeof endpoint === 'string') return endpoint;
  let id = clientIds.get(client);
  if (!id) clientIds.set(client, (id = randomUUID()));
  return id;
}

/** Stamps and in-flight tracking for one process's writes. */
export class WriteClock {
  /** The clock of this process for the database of `system` (one per database, whatever the number of store instances). */
  static shared(system: Container, options: WriteClockOptions = {}): WriteClock {
    const key = `${accountOf(system)}|${system.database.id}|${system.id}`;
    let clock = shared.get(key);
    if (!clock) {
      clock = new WriteClock(system, options);
      shared.set(key, clock);
    }
    return clock;
  }

  /** This process's writer id. */
  readonly writerId = randomUUID();
  readonly #options: Required<WriteClockOptions>;
  readonly #system: Container | undefined;
  readonly #inFlight = new Map<number, { ms: number; landed: Promise<void> }>();
  #next = 0;
  #activeUntilMs = 0;
  #lastStampMs = 0;
  #renewing: Promise<void> | undefined;
  #idleTimer: NodeJS.Timeout | undefined;

  /** `system`: where presence documents live (none: single-process use, as in unit tests). */
  constructor(system: Container | undefined, options: WriteClockOptions = {}) {
    this.#system = system;
    this.#options = { ...writeClockDefaults, ...options };
  }

  /** How long a write may take before it is abandoned. */
  get writeTimeoutMs(): number {
    return this.#options.writeTimeoutMs;
  }

  /** A stamp for a write about to be sent: at least `floorMs`, covered by this writer's presence. */
  async begin(floorMs = 0): Promise<StampedWrite> {
    await this.#cover();
    const ms = Math.max(Date.now(), floorMs);
    this.#lastStampMs = Math.max(this.#lastStampMs, ms);
    const deadline = Date.now() + this.#options.writeTimeoutMs;
    const token = this.#next++;
    let release!: () => void;
    const landed = new Promise<void>((resolve) => (release = resolve));
    this.#inFlight.set(token, { ms, landed });
    return {
      ms,
      signal: AbortSignal.timeout(this.#options.writeTimeoutMs),
      fresh: () => Date.now() < deadline,
      done: () => {
        this.#inFlight.delete(token);
        release();
        this.#armIdleRetire();
      },
    };
  }

  /** Resolves once every version stamped at or before `instantMs`, by any writer, has landed or can no longer land. */
  async settled(instantMs: number): Promise<void> {
    const local = [...this.#inFlight.values()].filter((w) => w.ms <= instantMs).map((w) => w.landed);
    await Promise.all(local);
    // Another writer holding a lease that reaches back to the instant: wait until its writes of then have run
    // out their timeout, or until it retires its lease (nothing in flight), whichever comes first.
    for (;;) {
      const others = await this.#otherWriters();
      const waitUntil = Math.max(0, ...others.map((until) => Math.min(until, instantMs) + this.#options.writeTimeoutMs + this.#options.clockSkewMs));
      const waitMs = waitUntil - Date.now();
      if (waitMs <= 0) return;
      await sleep(Math.min(waitMs, settlePollMs));
    }
  }

  /**
   * This process stops writing for now: waits for its writes in flight to land or be abandoned,
   * then retires its lease at once (not after `idleRetireMs`, which a process about to exit
   * would never reach: readers would then wait out the whole lease). A later write takes a new
   * lease first, as after an idle retirement.
   */
  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    if (!this.#system) return;
    for (;;) {
      await Promise.all([...this.#inFlight.values()].map((w) => w.landed));
      while (this.#renewing) await this.#renewing;
      if (this.#inFlight.size === 0) break;
    }
    if (this.#activeUntilMs <= this.#lastStampMs) return; // no lease, or already retired
    this.#renewing = this.#publish(this.#lastStampMs, true).finally(() => (this.#renewing = undefined));
    await this.#renewing;
  }

  // Renews the presence lease when less than two write timeouts of it remain (one request per lease, not per write).
  async #cover(): Promise<void> {
    if (!this.#system) return;
    while (this.#renewing) await this.#renewing; // a retirement in progress ends first
    if (this.#activeUntilMs - Date.now() > 2 * this.#options.writeTimeoutMs) return;
    this.#renewing = this.#publish(Date.now() + this.#options.presenceLeaseMs + 2 * this.#options.writeTimeoutMs, false).finally(() => (this.#renewing = undefined));
    await this.#renewing;
  }

  // After `idleRetireMs` without writes, ends the lease at the last stamp: readers then wait for nothing of ours.
  #armIdleRetire(): void {
    if (!this.#system || this.#inFlight.size > 0) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (this.#inFlight.size > 0 || this.#renewing || this.#activeUntilMs <= this.#lastStampMs) return;
      this.#renewing = this.#publish(this.#lastStampMs, true)
        .catch(() => undefined) // the lease then simply runs out
        .finally(() => (this.#renewing = undefined));
    }, this.#options.idleRetireMs);
    this.#idleTimer.unref();
  }

  async #publish(activeUntilMs: number, retired: boolean): Promise<void> {
    const doc: PresenceDocument = { id: this.writerId, pk: presencePk, kind: 'writer', activeUntilMs, ...(retired ? { retired } : {}) };
    try {
      await this.#system!.items.upsert(doc);
    } catch (error) {
      throw toFhirError(error, 'recording the writer presence');
    }
    this.#activeUntilMs = activeUntilMs;
  }

  // Lease ends of other writers that may still have writes in flight; leases long over are deleted.
  async #otherWriters(): Promise<number[]> {
    if (!this.#system) return [];
    let docs: PresenceDocument[];
    try {
      ({ resources: docs } = await this.#system.items
        .query<PresenceDocument>({ query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: presencePk }] }, { partitionKey: presencePk })
        .fetchAll());
    } catch (error) {
      throw toFhirError(error, 'reading writer presence');
    }
    const horizon = Date.now() - this.#options.writeTimeoutMs - this.#options.clockSkewMs;
    const stale = docs.filter((d) => d.activeUntilMs < horizon - 24 * 3600_000);
    await Promise.all(stale.map((d) => this.#system!.item(d.id, presencePk).delete().catch(() => undefined)));
    return docs.filter((d) => d.id !== this.writerId && !d.retired && d.activeUntilMs >= horizon).map((d) => d.activeUntilMs);
  }
}
