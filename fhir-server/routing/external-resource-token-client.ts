/**
 * `ExternalResourceTokenClient`: access tokens for external resources (the
 * customer's storage), issued to the account's managed identity by the routing
 * server's `TokenService`. Tokens are cached per resource and refreshed in the
 * background before they expire; concurrent callers of a cold resource share
 * one call. A token is dropped from memory when it expires.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { RefreshingCache, tokenTiming, type RefreshingCacheStats, type Timed } from '../../common/refreshing-cache.ts';
import { abortError } from './retry-policy.ts';
import { RoutingCaller, type RoutingCallerOptions, type RoutingCallOptions } from './routing-caller.ts';
import type { RoutingConnection } from './routing-connection.ts';

/** An access token with its timing (the shape of `@azure/core-auth`'s AccessToken). */
export interface ExternalResourceToken {
  /** The access token. Never log it. */
  token: string;
  /** When it stops being accepted (ms since epoch). */
  expiresOnTimestamp: number;
  /** When a holder should ask for a new one (ms since epoch). */
  refreshAfterTimestamp: number;
}

/** Dependencies and settings of the client. */
export interface ExternalResourceTokenClientOptions extends RoutingCallerOptions {
  /** The channel to the routing server. */
  connection: RoutingConnection;
  /** Most resources cached (default 100). */
  maxResources?: number;
}

/** Normalises a resource URI or scope for caching: no `/.default`, no trailing slash, lower-case scheme and host. */
export function resourceKey(resourceUri: string): string {
  const raw = resourceUri.trim().replace(/\/\.default$/, '').replace(/\/+$/, '');
  try {
    const url = new URL(raw); // lower-cases scheme and host, drops a default port
    if (url.search || url.hash || url.username || url.password) return raw;
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return raw; // the routing server says why it is not a resource URI
  }
}

/** See the module comment. */
export class ExternalResourceTokenClient {
  /** The call layer (its counters: calls, attempts, retries). */
  readonly caller: RoutingCaller;
  readonly #connection: RoutingConnection;
  readonly #cache: RefreshingCache<ExternalResourceToken>;
  readonly #expiryTimers = new Map<string, NodeJS.Timeout>();
  readonly #logger: Logger;

  /** Creates the client; nothing is called until the first `getToken`. */
  constructor(options: ExternalResourceTokenClientOptions) {
    this.caller = new RoutingCaller(options);
    this.#connection = options.connection;
    this.#logger = options.logger ?? pino({ level: 'silent' });
    this.#cache = new RefreshingCache<ExternalResourceToken>({
      maxEntries: options.maxResources ?? 100,
      proactive: true,
      onBackgroundError: (resource, err) => this.#logger.warn({ resource, reason: (err as Error).message }, 'background token refresh failed; the current token is still served'),
    });
  }

  /** Cache counters (hits, misses, loads, background refreshes). */
  get cacheStats(): RefreshingCacheStats {
    return this.#cache.stats;
  }

  /** A token for `resourceUri` (e.g. `https://storage.azure.com`); throws `RoutingTokenError`, `RefreshTokenStoreError` or an AbortError. */
  getToken(resourceUri: string, options: RoutingCallOptions = {}): Promise<ExternalResourceToken> {
    const resource = resourceKey(resourceUri);
    const pending = this.#cache.get(resource, () => this.#acquire(resource, options.correlationId));
    const signal = options.abortSignal;
    if (!signal) return pending;
    // The acquisition is shared with other callers: an abort ends this caller's wait, not the call.
    if (signal.aborted) return Promise.reject(abortError('getToken'));
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortError('getToken'));
      signal.addEventListener('abort', onAbort, { once: true });
      pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Stops refreshing and drops every cached token. */
  close(): void {
    for (const timer of this.#expiryTimers.values()) clearTimeout(timer);
    this.#expiryTimers.clear();
    this.#cache.clear();
  }

  async #acquire(resource: string, correlationId: string | undefined): Promise<Timed<ExternalResourceToken>> {
    const tokens = this.#connection.tokens;
    const acquiredAt = Date.now();
    const res = await this.caller.call('TokenService/GetToken', tokens.getToken, tokens, { resourceUri: resource }, { correlationId });
    const expiresOn = res.expiresOn?.getTime() ?? acquiredAt;
    const timing = tokenTiming(acquiredAt, expiresOn);
    // The server's refresh_after falls after its own refresh point, so asking then brings the new token.
    const refreshAfter = Math.min(res.refreshAfter?.getTime() ?? timing.clientRefreshAfterMs, expiresOn);
    const serveUntil = Math.max(refreshAfter, timing.serveUntilMs);
    this.#forgetAtExpiry(resource, expiresOn);
    return {
      value: { token: res.accessToken, expiresOnTimestamp: expiresOn, refreshAfterTimestamp: refreshAfter },
      refreshAtMs: refreshAfter,
      serveUntilMs: serveUntil,
    };
  }

  /** Drops the resource's entry when this token expires, unless a newer token replaced it. */
  #forgetAtExpiry(resource: string, expiresOn: number): void {
    clearTimeout(this.#expiryTimers.get(resource));
    const timer = setTimeout(() => {
      this.#expiryTimers.delete(resource);
      this.#cache.delete(resource);
    }, Math.min(Math.max(0, expiresOn - Date.now()), 2_147_000_000));
    timer.unref();
    this.#expiryTimers.set(resource, timer);
  }
}
