/**
 * In-memory view of registry accounts: served from memory, re-read in the
 * background once older than the TTL (so identity and allowed-resource changes
 * take effect within it, without a restart), loaded once per name on a miss.
 */
import { RefreshingCache } from '../../common/refreshing-cache.ts';
import type { AccountRecord } from './account.ts';
import { RoutingError } from './errors.ts';
import type { AccountReadRegistryRepository, Clock } from './ports.ts';
import { systemClock } from './ports.ts';

/** See the module comment. */
export class AccountCache {
  private readonly cache: RefreshingCache<AccountRecord | undefined>;
  private readonly clock: Clock;

  /** Caches `repository` reads for `ttlMs` (served stale up to 10 TTLs while a re-read runs). */
  constructor(
    private readonly repository: AccountReadRegistryRepository,
    private readonly ttlMs: number,
    maxEntries: number,
    clock: Clock = systemClock,
  ) {
    this.clock = clock;
    this.cache = new RefreshingCache({ maxEntries, now: () => this.clock.now() });
  }

  /** The account, or `unauthenticated` when the registry has none by that name. */
  async get(name: string): Promise<AccountRecord> {
    const account = await this.cache.get(name, async () => {
      const value = await this.repository.getAccount(name);
      const now = this.clock.now();
      // Unknown names are remembered only briefly.
      return { value, refreshAtMs: now + (value ? this.ttlMs : 1_000), serveUntilMs: now + (value ? this.ttlMs * 10 : 1_000) };
    });
    if (!account) throw new RoutingError('unauthenticated', 'the refresh token belongs to an account that no longer exists');
    return account;
  }

  /** The cached account if current, synchronously (the hot path); else undefined. */
  peek(name: string): AccountRecord | undefined {
    return this.cache.peek(name)?.value;
  }

  /** Forgets a name (after an admin change on this instance). */
  invalidate(name: string): void {
    this.cache.delete(name);
  }
}
