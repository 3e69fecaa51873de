/**
 * ManagedIdentityResourceTokenProvider: gets Entra ID tokens for a resource as
 * an account's managed identity, with the identity's credential read from Key
 * Vault. Credentials are built once per identity version and reused; tokens are
 * cached per (account, identity version, resource) and refreshed ahead of expiry.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { RefreshingCache, tokenTiming, type Timed } from '../../common/refreshing-cache.ts';
import type { AccountRecord } from './account.ts';
import { RoutingError, isRoutingError } from './errors.ts';
import type { Clock, IdentityCredentialFactory, IdentitySecretStore } from './ports.ts';
import { systemClock } from './ports.ts';

/** A token for a resource with its timing. */
export interface ResourceToken {
  /** The normalised resource the token is for. */
  resource: string;
  /** The access token. */
  token: string;
  /** Expiry (ms since epoch). */
  expiresOnMs: number;
  /** When the caller should come back for a new one (ms since epoch). */
  refreshAfterMs: number;
}

/** Options of the provider. */
export interface TokenProviderOptions {
  /** Most cached tokens. */
  maxTokens: number;
  /** How long a credential (and the secret it holds) is reused before Key Vault is read again. */
  credentialTtlMs: number;
  /** Clock (tests). */
  clock?: Clock;
  /** Logs a background refresh failure (never with a token). */
  onBackgroundError?: (key: string, err: unknown) => void;
  /** Told how each acquisition ended (metrics): `success`, `backing-off`, or the error kind; with its duration. */
  onAcquisition?: (outcome: string, durationMs: number) => void;
}

interface CachedCredential {
  credential: TokenCredential;
  version: string | undefined;
}

/** See the module comment. */
export class ManagedIdentityResourceTokenProvider {
  private readonly tokens: RefreshingCache<ResourceToken>;
  private readonly credentials: RefreshingCache<CachedCredential>;
  private readonly clock: Clock;
  private readonly coolDown = new Map<string, { untilMs: number; failures: number; reason: string }>();

  /** Wires the provider to its secret store and credential factory. */
  constructor(
    private readonly secrets: IdentitySecretStore,
    private readonly credentialFactory: IdentityCredentialFactory,
    private readonly options: TokenProviderOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.tokens = new RefreshingCache<ResourceToken>({
      maxEntries: options.maxTokens,
      proactive: true,
      now: () => this.clock.now(),
      onBackgroundError: options.onBackgroundError,
    });
    this.credentials = new RefreshingCache<CachedCredential>({ maxEntries: options.maxTokens, now: () => this.clock.now() });
  }

  /** Cache counters of tokens (hits, misses, loads...). */
  get tokenStats() {
    return this.tokens.stats;
  }

  /** A token for `resource` (already normalised and allowed) as `account`'s identity. */
  getToken(account: AccountRecord, resource: string): Promise<ResourceToken> {
    const identityKey = this.identityKey(account);
    return this.tokens.get(this.cacheKey(account, resource), () => this.acquire(account, identityKey, resource));
  }

  /** The cached token if still servable, synchronously (the hot path); else undefined. */
  peekToken(account: AccountRecord, resource: string): ResourceToken | undefined {
    return this.tokens.peek(this.cacheKey(account, resource))?.value;
  }

  // Cache keys per account record (records are replaced, not mutated, when re-read): the hot path builds no strings.
  private readonly keys = new WeakMap<AccountRecord, Map<string, string>>();

  private cacheKey(account: AccountRecord, resource: string): string {
    let byResource = this.keys.get(account);
    if (!byResource) this.keys.set(account, (byResource = new Map()));
    let key = byResource.get(resource);
    if (key === undefined) {
      if (byResource.size >= 64) byResource.clear();
      byResource.set(resource, (key = `${account.name}\n${this.identityKey(account)}\n${resource}`));
    }
    return key;
  }

  private identityKey(account: AccountRecord): string {
    const { clientId, tenantId, secretName } = account.identity;
    return `${tenantId}/${clientId}/${secretName}/${account.identityEtag}`;
  }

  private async acquire(account: AccountRecord, identityKey: string, resource: string): Promise<Timed<ResourceToken>> {
    const now = this.clock.now();
    const cooling = this.coolDown.get(identityKey);
    if (cooling && now < cooling.untilMs) {
      this.options.onAcquisition?.('backing-off', 0);
      throw new RoutingError('dependency-unavailable', `${cooling.reason} (backing off for ${Math.ceil((cooling.untilMs - now) / 1000)} s)`, {
        retryAfterMs: cooling.untilMs - now,
      });
    }
    const started = performance.now();
    try {
      const token = await this.acquireNow(account, identityKey, resource);
      this.coolDown.delete(identityKey);
      this.options.onAcquisition?.('success', performance.now() - started);
      return token;
    } catch (err) {
      this.options.onAcquisition?.(isRoutingError(err) ? err.kind : 'internal', performance.now() - started);
      if (isRoutingError(err, 'dependency-unavailable')) {
        // Back off per identity (1 s doubling to 30 s, or as long as the dependency asked, at most 5 min) instead
        // of sending every caller's request to a failing dependency. The credential stays cached: it rebuilds its
        // MSAL client after a failure (ObservedEntraCredential), so no Key Vault read is spent on an Entra outage.
        const failures = (cooling?.failures ?? 0) + 1;
        const delay = Math.max(Math.min(30_000, 1_000 * 2 ** (failures - 1)), Math.min(err.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
        this.coolDown.set(identityKey, { untilMs: this.clock.now() + delay, failures, reason: err.message });
        throw new RoutingError('dependency-unavailable', err.message, { cause: err, retryAfterMs: delay });
      }
      throw err;
    }
  }

  private async acquireNow(account: AccountRecord, identityKey: string, resource: string): Promise<Timed<ResourceToken>> {
    const cached = await this.credentials.get(identityKey, () => this.buildCredential(account));
    const acquiredAt = this.clock.now();
    let token: AccessToken | null;
    try {
      token = await cached.credential.getToken(`${resource}/.default`);
    } catch (err) {
      const mapped = mapEntraError(err, account.identity.clientId, resource);
      // A rejected credential may be a rotated secret: read Key Vault again next time.
      if (mapped.kind === 'identity-rejected') this.credentials.delete(identityKey);
      throw mapped;
    }
    if (!token?.token) throw new RoutingError('dependency-unavailable', 'Entra ID returned no token');
    const timing = tokenTiming(acquiredAt, token.expiresOnTimestamp);
    return {
      value: { resource, token: token.token, expiresOnMs: token.expiresOnTimestamp, refreshAfterMs: timing.clientRefreshAfterMs },
      refreshAtMs: timing.refreshAtMs,
      serveUntilMs: timing.serveUntilMs,
    };
  }

  private async buildCredential(account: AccountRecord): Promise<Timed<CachedCredential>> {
    const secret = await this.secrets.getSecret(account.identity.secretName);
    const credential = this.credentialFactory.create(account.identity, secret);
    const until = this.clock.now() + this.options.credentialTtlMs;
    return { value: { credential, version: secret.version }, refreshAtMs: until, serveUntilMs: until };
  }
}

/** Longest back-off a dependency's Retry-After can impose. */
const MAX_RETRY_AFTER_MS = 300_000;

const AADSTS_RE = /AADSTS\d+/;
/** AADSTS codes and OAuth errors that mean "try again later", not "this identity is wrong". */
const TRANSIENT_RE = /AADSTS(90033|90055|50196)\b|temporarily_unavailable|server_error|throttl/i;

/** Maps an @azure/identity failure to a RoutingError; keeps the AADSTS code, drops anything else the service said. */
export function mapEntraError(err: unknown, clientId: string, resource: string): RoutingError {
  if (isRoutingError(err)) return err;
  const e = err as { name?: string; statusCode?: number; message?: string; errorResponse?: { error?: string; errorDescription?: string } };
  const text = `${e.errorResponse?.errorDescription ?? ''} ${e.message ?? ''}`;
  const code = AADSTS_RE.exec(text)?.[0];
  const status = e.statusCode;
  if (status === 429 || (status !== undefined && status >= 500) || TRANSIENT_RE.test(text) || TRANSIENT_RE.test(e.errorResponse?.error ?? '')) {
    return new RoutingError('dependency-unavailable', `Entra ID is unavailable (HTTP ${status}${code ? `, ${code}` : ''}); retry later`, { cause: err });
  }
  if (code || (status !== undefined && status >= 400 && status < 500) || e.errorResponse?.error) {
    const reason = e.errorResponse?.error ? ` (${e.errorResponse.error})` : '';
    return new RoutingError(
      'identity-rejected',
      `Entra ID rejected managed identity ${clientId} for ${resource}: ${code ?? 'no AADSTS code'}${reason}`,
      { cause: err },
    );
  }
  return new RoutingError('dependency-unavailable', 'Entra ID could not be reached; retry later', { cause: err });
}
