/**
 * A token bucket per peer address for registry reads that a caller's refresh
 * token causes: each uncached token a peer presents takes one read from its
 * bucket, a read that authenticates is given back, so only refused tokens
 * (unknown, revoked, expired) use the budget up. An empty bucket says how long
 * until the next read is allowed. Peers are kept in a bounded LRU.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from './ports.ts';
import { systemClock } from './ports.ts';

/** Settings of a {@link PeerReadBudget}. */
export interface PeerReadBudgetOptions {
  /** Reads a peer may make at once after a quiet spell. */
  burst: number;
  /** Reads a peer regains per second. */
  perSecond: number;
  /** Most peers remembered (the least recently seen are forgotten, with a full bucket). */
  maxPeers: number;
  /** Clock (tests). */
  clock?: Clock;
}

/** Defaults: 20 refused tokens at once, then 5 a second, per peer address. */
export const peerReadBudgetDefaults: Readonly<PeerReadBudgetOptions> = Object.freeze({ burst: 20, perSecond: 5, maxPeers: 10_000 });

interface Bucket {
  tokens: number;
  atMs: number;
}

/** See the module comment. */
export class PeerReadBudget {
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly clock: Clock;

  /** Creates the budget. */
  constructor(private readonly options: PeerReadBudgetOptions = peerReadBudgetDefaults) {
    this.clock = options.clock ?? systemClock;
    this.buckets = new LRUCache({ max: options.maxPeers });
  }

  /** Takes one read for `peer`: 0 when allowed, else the milliseconds until one is. */
  take(peer: string): number {
    const bucket = this.refill(peer);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / this.options.perSecond));
  }

  /** Gives one read back to `peer` (its token authenticated, or the registry failed). */
  giveBack(peer: string): void {
    const bucket = this.refill(peer);
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + 1);
  }

  private refill(peer: string): Bucket {
    const now = this.clock.now();
    let bucket = this.buckets.get(peer);
    if (!bucket) {
      bucket = { tokens: this.options.burst, atMs: now };
      this.buckets.set(peer, bucket);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.atMs);
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + (elapsed * this.options.perSecond) / 1000);
    bucket.atMs = now;
    return bucket;
  }
}
