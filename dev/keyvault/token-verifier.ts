/**
 * Bearer token verification against the Entra stand-in: RS256 signature by a
 * key of its JWKS (fetched over HTTPS trusting the local CA, refetched when a
 * token names an unknown `kid`), `iss`, `aud` (`https://vault.azure.net`, with
 * or without trailing slash), `exp` and `nbf`.
 */
import { get } from 'node:https';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Caller } from './access.ts';
import { unauthorized, type KeyVaultError } from './errors.ts';

/** Audiences Key Vault accepts. */
export const vaultAudiences = ['https://vault.azure.net', 'https://vault.azure.net/'];

/** Where tokens come from and how they are judged. */
export interface TokenVerifierOptions {
  /** JWKS URL of the token issuer. */
  jwksUri: string;
  /** Required `iss`. */
  issuer: string;
  /** CA to trust when fetching the JWKS. */
  caPem: string;
  /** Tolerated clock skew for `exp`/`nbf` (seconds). */
  clockSkewSeconds: number;
}

/** Fetches a JSON document over HTTPS trusting `caPem`. */
function fetchJson(url: string, caPem: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca: caPem, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${url} answered ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/** Verifies bearer tokens and names their caller. */
export class TokenVerifier {
  private keys: ReturnType<typeof createLocalJWKSet> | undefined;
  private lastFetchMs = 0;

  constructor(private readonly options: TokenVerifierOptions) {}

  private async refreshKeys(): Promise<void> {
    const jwks = (await fetchJson(this.options.jwksUri, this.options.caPem)) as JSONWebKeySet;
    if (!jwks || !Array.isArray(jwks.keys)) throw new Error(`${this.options.jwksUri} returned no key set`);
    this.keys = createLocalJWKSet(jwks);
    this.lastFetchMs = Date.now();
  }

  private async verifyWithKeys(token: string): Promise<JWTPayload> {
    if (!this.keys) await this.refreshKeys();
    const verify = () =>
      jwtVerify(token, this.keys!, {
        issuer: this.options.issuer,
        audience: vaultAudiences,
        algorithms: ['RS256'],
        clockTolerance: this.options.clockSkewSeconds,
        requiredClaims: ['exp'],
      });
    try {
      return (await verify()).payload;
    } catch (err) {
      // A key the cached set does not know: the issuer may have rotated keys (at most one refetch every 5 s).
      if (!(err instanceof errors.JWKSNoMatchingKey) || Date.now() - this.lastFetchMs < 5_000) throw err;
      await this.refreshKeys();
      return (await verify()).payload;
    }
  }

  /** Verifies a bearer token; resolves to its caller or rejects with a 401 KeyVaultError. */
  async verify(token: string): Promise<Caller> {
    let payload: JWTPayload;
    try {
      payload = await this.verifyWithKeys(token);
    } catch (err) {
      // Only token problems are the caller's fault; an unreachable issuer is the stand-in's (a 500).
      if (err instanceof errors.JOSEError) throw describeFailure(err, this.options.issuer);
      throw err;
    }
    const caller: Caller = { issuer: String(payload.iss) };
    if (typeof payload.appid === 'string') caller.appId = payload.appid;
    if (typeof payload.oid === 'string') caller.objectId = payload.oid;
    return caller;
  }
}

function describeFailure(err: errors.JOSEError, issuer: string): KeyVaultError {
  if (err instanceof errors.JWTExpired) return unauthorized('Invalid token: the token has expired.');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return unauthorized(`AKV10022: Invalid audience. Expected ${vaultAudiences[0]}, found: ${String(err.payload.aud)}.`);
    if (err.claim === 'iss') return unauthorized(`AKV10032: Invalid issuer. Expected one of ${issuer}, found ${String(err.payload.iss)}.`);
    if (err.claim === 'nbf') return unauthorized('Invalid token: the token is not yet valid (nbf).');
    return unauthorized(`Invalid token: claim '${err.claim}' check failed (${err.reason}).`);
  }
  if (err instanceof errors.JWKSNoMatchingKey) return unauthorized('Invalid token: it is signed with a key the issuer does not publish.');
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthorized('Invalid token: signature verification failed.');
  if (err instanceof errors.JOSEAlgNotAllowed) return unauthorized('Invalid token: signing algorithm not allowed.');
  return unauthorized('Invalid token: the token is malformed.');
}
