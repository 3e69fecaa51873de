/** Verifies Entra ID access tokens: RS256 signature via JWKS, issuer, audience, lifetime; then roles or scopes. */
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { fetchJson, fetchJsonWith, remoteJwks } from './jwks.ts';

/** Settings of a verifier. */
export interface EntraTokenVerifierOptions {
  /** JWKS URL of the tenant. */
  jwksUri: string;
  /** Accepted issuers (v1 `https://sts.windows.net/<tid>/` and/or v2 `<authority>/<tid>/v2.0`). */
  issuers: string[];
  /** Accepted audiences (the API's app id URI and/or client id). */
  audiences: string[];
  /** Private CA for fetching the JWKS. */
  caPem?: string;
  /** Fetches the JWKS (default: node:https in this thread). */
  httpClient?: HttpClient;
  /** Clock skew tolerance in seconds (default 60). */
  clockToleranceSeconds?: number;
}

/** Why a token was refused; the message never contains the token. */
export class TokenVerificationError extends Error {
  override readonly name = 'TokenVerificationError';
}

/**
 * Whether a verification failure is the client's fault (jose rejected the token itself) rather than
 * our key source being down (network, HTTP status, malformed JWKS): the first is 401, the second 503.
 */
export function isClientFault(err: TokenVerificationError): boolean {
  const cause = err.cause;
  return cause === undefined || (cause instanceof errors.JOSEError && !(cause instanceof errors.JWKSInvalid) && !(cause instanceof errors.JWKSTimeout));
}

/** A verified token's claims. */
export interface VerifiedToken {
  /** All claims. */
  claims: JWTPayload & { roles?: string[]; scp?: string; appid?: string; azp?: string; oid?: string; tid?: string };
  /** App roles plus delegated scopes. */
  permissions: Set<string>;
}

/** Builds a verifier for `options`. */
export function createEntraTokenVerifier(options: EntraTokenVerifierOptions, keys: JWTVerifyGetKey = remoteJwks(options.jwksUri, options.caPem, undefined, options.httpClient ? fetchJsonWith(options.httpClient) : fetchJson)) {
  return async function verify(token: string | undefined): Promise<VerifiedToken> {
    if (!token) throw new TokenVerificationError('a bearer token is required');
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuers,
        audience: options.audiences,
        algorithms: ['RS256'],
        clockTolerance: options.clockToleranceSeconds ?? 60,
        requiredClaims: ['exp', 'iss', 'aud'],
      });
      const claims = payload as VerifiedToken['claims'];
      const permissions = new Set<string>([...(Array.isArray(claims.roles) ? claims.roles : []), ...(claims.scp ? claims.scp.split(' ') : [])]);
      return { claims, permissions };
    } catch (err) {
      throw new TokenVerificationError(describe(err), { cause: err });
    }
  };
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the bearer token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `the bearer token's ${err.claim} claim is not accepted`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the bearer token signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the bearer token was signed with an unknown key';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'the bearer token is malformed';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the bearer token uses an algorithm that is not accepted';
  return 'the bearer token could not be verified';
}
