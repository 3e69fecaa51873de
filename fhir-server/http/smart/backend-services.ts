/**
 * SMART Backend Services for one fhir-server: registered clients, their
 * keys, the assertion replay cache, the signing key ring and the access
 * tokens, wired together. Routes and the REST bearer path are built from it.
 */
import type { Logger } from 'pino';
import type { BearerTokenPath } from '../auth.ts';
import { SmartAccessTokens } from './access-tokens.ts';
import { smartBearerPath } from './bearer-path.ts';
import type { AddressGuard } from '../../../common/net/guarded-connect.ts';
import { ClientKeys } from './client-keys.ts';
import type { SmartClientRegistry } from './client-registry.ts';
import { ReplayCache } from './replay-cache.ts';
import { SigningKeyRing, type SigningKeySource } from './signing-keys.ts';
import type { TokenServiceDeps } from './token-service.ts';

/** Path of the token endpoint under the base URL. */
export const TOKEN_PATH = '/auth/token';

/** Options of {@link SmartBackendServices}. */
export interface SmartBackendServicesOptions {
  /** Registered clients. */
  registry: SmartClientRegistry;
  /** Where the access-token signing keys come from. */
  signingKeys: SigningKeySource;
  /** The server's public base URL (no trailing slash): the token issuer, audience and endpoint base. */
  baseUrl: () => string;
  /** Private CA trusted for clients' `jwks_uri`. */
  caPem?: string;
  /** Where `jwks_uri` fetches may connect (default: public addresses only). */
  jwksGuard?: AddressGuard;
  /** Access token lifetime in seconds (≤ 300, default 300). */
  accessTokenLifetimeSeconds?: number;
  /** Assertion ids remembered at once (default 100 000). */
  replayCacheSize?: number;
  /** Reload the signing keys this often (default 600 s). */
  keyRefreshSeconds?: number;
  /** Client JWKS fetching (tests may replace the fetch). */
  clientKeys?: ClientKeys;
  /** Logs (the key source, never a key). */
  logger?: Logger;
  /** Clock (tests). */
  now?: () => number;
}

/** See the module comment. */
export class SmartBackendServices {
  /** Registered clients. */
  readonly registry: SmartClientRegistry;
  /** Client public keys. */
  readonly clientKeys: ClientKeys;
  /** Assertion ids seen. */
  readonly replay: ReplayCache;
  /** Signing keys. */
  readonly signingKeys: SigningKeyRing;
  /** Access tokens. */
  readonly tokens: SmartAccessTokens;
  readonly #options: SmartBackendServicesOptions;

  constructor(options: SmartBackendServicesOptions) {
    this.#options = options;
    this.registry = options.registry;
    this.clientKeys = options.clientKeys ?? new ClientKeys({ caPem: options.caPem, ...(options.jwksGuard ? { guard: options.jwksGuard } : {}) });
    this.replay = new ReplayCache(options.replayCacheSize, options.now);
    this.signingKeys = new SigningKeyRing(options.signingKeys, { refreshSeconds: options.keyRefreshSeconds });
    this.tokens = new SmartAccessTokens({ keys: this.signingKeys, issuer: options.baseUrl, lifetimeSeconds: options.accessTokenLifetimeSeconds, now: options.now });
  }

  /** Loads the signing keys (fails start-up when they cannot be read or created, unless their source may be out of reach at start). */
  async start(): Promise<void> {
    try {
      await this.signingKeys.load();
    } catch (error) {
      if (!this.signingKeys.mayBeUnreachableAtStart) throw error;
      // SMART token requests answer 503 until the keys can be read; everything else works.
      this.#options.logger?.warn({ keySource: this.signingKeys.description, err: (error as Error).message }, 'SMART signing keys not loaded; they are loaded on first use');
      return;
    }
    this.#options.logger?.info({ keySource: this.signingKeys.description }, 'SMART access-token signing keys loaded');
  }

  /** The server's own base URL (issuer and audience of its access tokens). */
  baseUrl(): string {
    return this.#options.baseUrl();
  }

  /** The token endpoint URL under the server's own base URL (an `aud` client assertions may name). */
  tokenEndpoint(): string {
    return `${this.#options.baseUrl()}${TOKEN_PATH}`;
  }

  /**
   * What the token endpoint logic needs. `requestEndpoint` is the token endpoint under the
   * request's base URL (`base-url.ts`: from configuration or a trusted proxy, never the Host
   * header); an assertion may name it or this server's own endpoint as its audience.
   */
  tokenServiceDeps(requestEndpoint?: string): TokenServiceDeps {
    const own = this.tokenEndpoint();
    const audiences = requestEndpoint && requestEndpoint !== own ? [own, requestEndpoint] : own;
    return { registry: this.registry, keys: this.clientKeys, replay: this.replay, tokenEndpoint: () => audiences, tokens: this.tokens, now: this.#options.now };
  }

  /** The REST bearer path accepting this server's access tokens. */
  bearerPath(): BearerTokenPath {
    return smartBearerPath(this.tokens, this.registry);
  }
}
