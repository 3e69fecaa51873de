/**
 * Assertion ids (`jti`) seen by this instance, each kept until its assertion
 * expires (plus the clock tolerance), so an assertion is accepted once.
 * Bounded: past `max` live entries the least recently seen are dropped and
 * counted in `evictedUnexpired` (size it above the assertions one instance
 * accepts within the longest assertion lifetime, 5 minutes).
 */
import { LRUCache } from 'lru-cache';

/** See the module comment. */
export class ReplayCache {
  readonly #seen: LRUCache<string, number>;
  readonly #now: () => number;
  #evictedUnexpired = 0;

  /** A cache of at most `max` ids. */
  constructor(max = 100_000, now: () => number = Date.now) {
    this.#now = now;
    this.#seen = new LRUCache<string, number>({
      max,
      ttlAutopurge: false,
      dispose: (expiresAtMs, _key, reason) => {
        if (reason === 'evict' && expiresAtMs > this.#now()) this.#evictedUnexpired += 1;
      },
    });
  }

  /** Records `jti` of `clientId` until `expiresAtMs`; false when it was already recorded and has not expired. */
  firstUse(clientId: string, jti: string, expiresAtMs: number): boolean {
    const key = `${clientId.length}:${clientId}|${jti}`;
    const now = this.#now();
    const until = this.#seen.get(key);
    if (until !== undefined && until > now) return false;
    this.#seen.set(key, expiresAtMs, { ttl: Math.max(1, expiresAtMs - now) });
    return true;
  }

  /** Live ids dropped because the cache was full (each could have been replayed here). */
  get evictedUnexpired(): number {
    return this.#evictedUnexpired;
  }
}
