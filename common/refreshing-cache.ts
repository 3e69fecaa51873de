/**
 * A bounded (LRU) cache of expiring values that refreshes entries ahead of
 * expiry in the background while still serving them, and lets concurrent
 * misses for one key share a single load (single flight).
 *
 * Used for access tokens on both sides of the mesh: the routing server caches
 * per (account, identity, resource), the FHIR service per resource.
 */
import { LRUCache } from 'lru-cache';

/** A cached value with its timing. */
export interface Timed<V> {
  /** The value. */
  value: V;
  /** When to start a background refresh (ms since epoch). */
  refreshAtMs: number;
  /** Last instant the value may be served (ms since epoch); after it, callers wait for a load. */
  serveUntilMs: number;
}

/** Options of a RefreshingCache. */
export interface RefreshingCacheOptions {
  /** Most entries kept; the least recently used go first. */
  maxEntries: number;
  /** Refresh entries that were used since their last load when their refresh time comes, without waiting for a caller. */
  proactive?: boolean;
  /** Clock (tests). */
  now?: () => number;
  /** Called when a background refresh fails; the old value stays served until serveUntilMs. */
  onBackgroundError?: (key: string, err: unknown) => void;
}

interface Entry<V> extends Timed<V> {
  load: () => Promise<Timed<V>>;
  usedSinceLoad: boolean;
  timer?: NodeJS.Timeout;
}

/** Counters for metrics and tests. */
export interface RefreshingCacheStats {
  hits: number;
  misses: number;
  loads: number;
  backgroundRefreshes: number;
  loadFailures: number;
}

/** See the module comment. */
export class RefreshingCache<V> {
  private readonly entries: LRUCache<string, Entry<V>>;
  private readonly inflight = new Map<string, Promise<Timed<V>>>();
  private readonly now: () => number;
  /** Live counters. */
  readonly stats: RefreshingCacheStats = { hits: 0, misses: 0, loads: 0, backgroundRefreshes: 0, loadFailures: 0 };

  /** Creates an empty cache. */
  constructor(private readonly options: RefreshingCacheOptions) {
    this.now = options.now ?? Date.now;
    this.entries = new LRUCache<string, Entry<V>>({
      max: options.maxEntries,
      dispose: (entry) => entry.timer && clearTimeout(entry.timer),
    });
  }

  /** The value for `key`: cached if still servable (refreshing it in the background when due), else loaded once for all concurrent callers. */
  async get(key: string, load: () => Promise<Timed<V>>): Promise<V> {
    const hit = this.peek(key, load);
    if (hit !== undefined) return hit.value;
    this.stats.misses++;
    return (await this.loadOnce(key, load)).value;
  }

  /** The cached value if still servable, synchronously (the hot path); starts a background refresh when due. */
  peek(key: string, load?: () => Promise<Timed<V>>): { value: V } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (now >= entry.serveUntilMs) return undefined;
    this.stats.hits++;
    entry.usedSinceLoad = true;
    if (load) entry.load = load;
    if (now >= entry.refreshAtMs) this.refreshInBackground(key, entry);
    return { value: entry.value };
  }

  /** Drops one key (e.g. after its credential was rejected). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every key matching `predicate`. */
  deleteWhere(predicate: (key: string) => boolean): void {
    for (const key of [...this.entries.keys()]) if (predicate(key)) this.entries.delete(key);
  }

  /** Number of cached entries. */
  get size(): number {
    return this.entries.size;
  }

  /** Stops timers and empties the cache. */
  clear(): void {
    this.entries.clear();
  }

  private loadOnce(key: string, load: () => Promise<Timed<V>>): Promise<Timed<V>> {
    const running = this.inflight.get(key);
    if (running) return running;
    this.stats.loads++;
    const promise = load()
      .then((timed) => {
        this.store(key, timed, load);
        return timed;
      })
      .catch((err: unknown) => {
        this.stats.loadFailures++;
        throw err;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }

  private store(key: string, timed: Timed<V>, load: () => Promise<Timed<V>>): void {
    const entry: Entry<V> = { ...timed, load, usedSinceLoad: false };
    if (this.options.proactive) {
      const delay = Math.max(0, timed.refreshAtMs - this.now());
      entry.timer = setTimeout(() => {
        if (this.entries.peek(key) === entry && entry.usedSinceLoad) this.refreshInBackground(key, entry);
      }, Math.min(delay, 2_147_000_000));
      entry.timer.unref();
    }
    this.entries.set(key, entry);
  }

  private refreshInBackground(key: string, entry: Entry<V>): void {
    if (this.inflight.has(key)) return;
    this.stats.backgroundRefreshes++;
    this.loadOnce(key, entry.load).catch((err: unknown) => this.options.onBackgroundError?.(key, err));
  }
}

/** Refresh timing for an access token: refresh at most 4 minutes (a quarter of its life for short tokens) before expiry. */
export function tokenTiming(acquiredAtMs: number, expiresOnMs: number): { refreshAtMs: number; serveUntilMs: number; clientRefreshAfterMs: number } {
  const lifetime = Math.max(0, expiresOnMs - acquiredAtMs);
  // 240 s keeps the refresh inside MSAL's own 300 s renewal window, so MSAL
  // fetches a new token instead of returning its cached one.
  const margin = Math.min(240_000, lifetime * 0.25);
  return {
    refreshAtMs: expiresOnMs - margin,
    serveUntilMs: expiresOnMs - Math.min(30_000, lifetime * 0.05),
    // Callers are told to come back after our own refresh point, so they pick up the new token.
    clientRefreshAfterMs: expiresOnMs - margin / 2,
  };
}
