/**
 * SMART access tokens: JWTs (RFC 9068 shape, `typ: at+jwt`) signed by the
 * fhir-server's key ring, `iss` and `aud` the server's base URL, `sub` and
 * `client_id` the client, `scope` the granted scopes. Verification accepts the
 * current and the previous signing key.
 */
import { decodeJwt, errors, jwtVerify, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import type { SigningKeyRing } from './signing-keys.ts';
import { splitScopes } from './scopes.ts';

/** The longest access token lifetime (SMART Backend Services: at most 5 minutes). */
export const MAX_ACCESS_TOKEN_SECONDS = 300;

/** A token as issued. */
export interface IssuedAccessToken {
  /** The JWT. */
  accessToken: string;
  /** Seconds until it expires. */
  expiresIn: number;
}

/** A verified token. */
export interface VerifiedAccessToken {
  /** The client it was issued to. */
  clientId: string;
  /** Its granted scopes. */
  scopes: string[];
}

/** Why a token was refused; never contains the token. */
export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
}

/** Options of {@link SmartAccessTokens}. */
export interface SmartAccessTokensOptions {
  /** Signing keys. */
  keys: SigningKeyRing;
  /** `iss` and `aud`: the server's base URL. */
  issuer: () => string;
  /** Lifetime in seconds (at most 300; default 300). */
  lifetimeSeconds?: number;
  /** Clock (tests). */
  now?: () => number;
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the access token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `the access token's ${err.claim} claim is not accepted`;
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) return 'the access token signature is invalid';
  return 'the access token could not be verified';
}

/** Issues and verifies access tokens. */
export class SmartAccessTokens {
  readonly #options: SmartAccessTokensOptions;
  readonly #lifetime: number;

  constructor(options: SmartAccessTokensOptions) {
    this.#options = options;
    this.#lifetime = Math.min(MAX_ACCESS_TOKEN_SECONDS, Math.max(1, options.lifetimeSeconds ?? MAX_ACCESS_TOKEN_SECONDS));
  }

  /** True when `token` claims to be one of ours (by its issuer; nothing verified). */
  recognizes(token: string): boolean {
    try {
      return decodeJwt(token).iss === this.#options.issuer();
    } catch {
      return false;
    }
  }

  /** A token for `clientId` with `scopes`. */
  async issue(clientId: string, scopes: readonly string[]): Promise<IssuedAccessToken> {
    const key = await this.#options.keys.current();
    const nowSeconds = Math.floor((this.#options.now ?? Date.now)() / 1000);
    const issuer = this.#options.issuer();
    const accessToken = await new SignJWT({ client_id: clientId, scope: scopes.join(' ') })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience(issuer)
      .setSubject(clientId)
      .setJti(randomUUID())
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + this.#lifetime)
      .sign(key.privateKey);
    return { accessToken, expiresIn: this.#lifetime };
  }

  /** Verifies a token of ours; throws `AccessTokenError` (a bad token) or the key ring's error. */
  async verify(token: string): Promise<VerifiedAccessToken> {
    const issuer = this.#options.issuer();
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid ? await this.#options.keys.verificationKey(header.kid) : undefined;
          if (!key || key.alg !== header.alg) throw new errors.JWKSNoMatchingKey();
          return key.publicKey;
        },
        { issuer, audience: issuer, typ: 'at+jwt', algorithms: ['ES384', 'ES256', 'RS384'], requiredClaims: ['exp', 'sub', 'client_id'], clockTolerance: 30, currentDate: new Date((this.#options.now ?? Date.now)()) },
      );
      if (typeof payload.client_id !== 'string' || payload.client_id !== payload.sub) throw new AccessTokenError('the access token names no client');
      return { clientId: payload.client_id, scopes: splitScopes(typeof payload.scope === 'string' ? payload.scope : '') };
    } catch (err) {
      if (err instanceof AccessTokenError) throw err;
      // Not jose's verdict: the key ring could not be read (reported as unavailable, not as a bad token).
      if (!(err instanceof errors.JOSEError)) throw err;
      throw new AccessTokenError(describe(err), { cause: err });
    }
  }
}
