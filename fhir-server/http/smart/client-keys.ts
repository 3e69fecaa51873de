/**
 * The public keys a client signs its assertions with: the inline JWKS, or the
 * JWKS at its `jwks_uri`, fetched over https trusting the configured CA,
 * cached for `cacheSeconds` and fetched again (at most every
 * `minRefreshSeconds`) when an assertion names a key the cache lacks.
 * Fetches connect only to public addresses (common/net/guarded-connect.ts,
 * `host:port` exemptions for local testing), take at most 5 s and 64 KiB, and
 * their errors never carry the body that came back.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { fetchLimitedJson } from '../../../common/auth/jwks.ts';
import { GuardedAgent, type AddressGuard } from '../../../common/net/guarded-connect.ts';
import { FhirError } from '../../fhir/errors.ts';
import { publicKeyProblem, type SmartClient } from './client.ts';
import { OAuthError } from './oauth-errors.ts';

/** Options of {@link ClientKeys}. */
export interface ClientKeysOptions {
  /** Private CA trusted for `jwks_uri` fetches. */
  caPem?: string;
  /** How long a fetched JWKS is used (default 300 s). */
  cacheSeconds?: number;
  /** Earliest refetch for an unknown `kid` (default 30 s). */
  minRefreshSeconds?: number;
  /** Where `jwks_uri` fetches may connect (default: public addresses only). */
  guard?: AddressGuard;
  /** Fetches a JSON document (default: a limited https GET through the guard, trusting `caPem`). */
  fetch?: (url: string) => Promise<unknown>;
}

/** Largest `jwks_uri` document read. */
export const JWKS_MAX_BYTES = 64 * 1024;

interface Fetched {
  keys: JWTVerifyGetKey;
  kids: Set<string>;
  fetchedAt: number;
}

/** The usable public keys of a fetched JWKS (keys of other kinds are skipped). */
export function usableKeys(document: unknown): JSONWebKeySet {
  const keys = (document as { keys?: unknown } | null)?.keys;
  return { keys: Array.isArray(keys) ? (keys as JWK[]).filter((k) => !publicKeyProblem(k, 'key')) : [] };
}

/** See the module comment. */
export class ClientKeys {
  readonly #fetched: LRUCache<string, Fetched>;
  readonly #inflight = new Map<string, Promise<Fetched>>();
  readonly #fetch: (url: string) => Promise<unknown>;
  readonly #minRefreshMs: number;

  constructor(options: ClientKeysOptions = {}) {
    this.#fetched = new LRUCache({ max: 1000, ttl: (options.cacheSeconds ?? 300) * 1000 });
    if (options.fetch) this.#fetch = options.fetch;
    else {
      const agent = new GuardedAgent(options.guard ?? {}, { keepAlive: false, ...(options.caPem ? { ca: options.caPem } : {}) });
      this.#fetch = (url) => fetchLimitedJson(url, { agent, timeoutMs: 5_000, maxBytes: JWKS_MAX_BYTES });
    }
    this.#minRefreshMs = (options.minRefreshSeconds ?? 30) * 1000;
  }

  /** Fetches `jwksUri` now and checks it holds a usable key (registration); throws `FhirError('invalid')`. */
  async check(jwksUri: string): Promise<void> {
    let fetched: Fetched;
    try {
      fetched = await this.#load(jwksUri);
    } catch (err) {
      throw new FhirError('invalid', `jwks_uri could not be fetched: ${(err as Error).message}`, { expression: 'jwks_uri' });
    }
    if (fetched.kids.size === 0) throw new FhirError('invalid', 'jwks_uri holds no RS384/ES384 public key with a kid', { expression: 'jwks_uri' });
  }

  /** The key resolver for `client`'s assertions; a `jwks_uri` that cannot be fetched is `invalid_client`. */
  resolverFor(client: SmartClient): JWTVerifyGetKey {
    if (client.jwks) return createLocalJWKSet(usableKeys(client.jwks));
    const uri = client.jwksUri!;
    return async (header, token) => {
      let fetched = this.#fetched.get(uri) ?? (await this.#loadForClient(uri));
      if (header.kid && !fetched.kids.has(header.kid) && Date.now() - fetched.fetchedAt >= this.#minRefreshMs) fetched = await this.#loadForClient(uri);
      return fetched.keys(header, token);
    };
  }

  async #loadForClient(uri: string): Promise<Fetched> {
    try {
      return await this.#load(uri);
    } catch (err) {
      throw new OAuthError('invalid_client', "the client's jwks_uri could not be fetched", { cause: err });
    }
  }

  #load(uri: string): Promise<Fetched> {
    let pending = this.#inflight.get(uri);
    if (!pending) {
      pending = (async () => {
        const jwks = usableKeys(await this.#fetch(uri));
        const fetched = { keys: createLocalJWKSet(jwks), kids: new Set(jwks.keys.map((k) => k.kid!)), fetchedAt: Date.now() };
        this.#fetched.set(uri, fetched);
        return fetched;
      })().finally(() => this.#inflight.delete(uri));
      this.#inflight.set(uri, pending);
    }
    return pending;
  }
}
