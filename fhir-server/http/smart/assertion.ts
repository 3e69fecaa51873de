/**
 * Verifies a client assertion (SMART "client-confidential-asymmetric",
 * RFC 7523): RS384 or ES384 with a `kid` naming one of the client's keys,
 * `iss` = `sub` = a registered client id, `aud` = the token endpoint URL,
 * `exp` present and at most 5 minutes ahead, `jti` used once. Every refusal
 * is `invalid_client`; the assertion itself never reaches a message.
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { assertionAlgorithms, type SmartClient } from './client.ts';
import type { ClientKeys } from './client-keys.ts';
import type { SmartClientRegistry } from './client-registry.ts';
import { OAuthError } from './oauth-errors.ts';
import type { ReplayCache } from './replay-cache.ts';

/** The longest assertion lifetime accepted (`exp` at most this far ahead). */
export const MAX_ASSERTION_SECONDS = 300;

/** What verification needs. */
export interface AssertionVerifierDeps {
  /** Registered clients. */
  registry: SmartClientRegistry;
  /** Their public keys. */
  keys: ClientKeys;
  /** Ids already used. */
  replay: ReplayCache;
  /** The token endpoint URL(s) the assertion's `aud` may name (the only accepted audiences). */
  tokenEndpoint: () => string | string[];
  /** Clock skew tolerated, in seconds (default 30). */
  clockToleranceSeconds?: number;
  /** Clock (tests). */
  now?: () => number;
}

const refuse = (description: string, cause?: unknown) => new OAuthError('invalid_client', description, cause === undefined ? undefined : { cause });

function describe(err: unknown): string {
  if (err instanceof errors.JWKSNoMatchingKey) return "the assertion's kid names no registered key of the client for its alg";
  if (err instanceof errors.JWTExpired) return 'the assertion has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `the assertion's ${err.claim} claim is not accepted (${err.reason})`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the assertion signature is invalid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the assertion must be signed with RS384 or ES384';
  return 'the assertion could not be verified';
}

/** The client an assertion authenticates; throws `OAuthError('invalid_client')`. */
export async function verifyClientAssertion(assertion: string, deps: AssertionVerifierDeps): Promise<SmartClient> {
  const now = deps.now ?? Date.now;
  const tolerance = deps.clockToleranceSeconds ?? 30;
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(assertion);
    claims = decodeJwt(assertion);
  } catch (err) {
    throw refuse('client_assertion is not a signed JWT', err);
  }
  if (!assertionAlgorithms.includes(header.alg as 'RS384')) throw refuse('the assertion must be signed with RS384 or ES384');
  if (typeof header.kid !== 'string' || header.kid === '') throw refuse('the assertion header needs a kid');
  if (typeof claims.iss !== 'string' || claims.iss === '' || claims.sub !== claims.iss) throw refuse('the assertion needs iss and sub, both the client_id');
  const client = await deps.registry.get(claims.iss);
  if (!client) throw refuse('the assertion names no registered client');
  if (client.disabled) throw refuse('the client is disabled');
  if (header.jku !== undefined && header.jku !== client.jwksUri) throw refuse("the assertion's jku is not the client's registered jwks_uri");

  let exp: number;
  let jti: unknown;
  try {
    const { payload } = await jwtVerify(assertion, deps.keys.resolverFor(client), {
      algorithms: [...assertionAlgorithms],
      issuer: client.clientId,
      subject: client.clientId,
      audience: deps.tokenEndpoint(),
      requiredClaims: ['exp', 'jti'],
      clockTolerance: tolerance,
      currentDate: new Date(now()),
    });
    exp = payload.exp!;
    jti = payload.jti;
  } catch (err) {
    if (err instanceof OAuthError) throw err;
    throw refuse(describe(err), err);
  }
  if (exp * 1000 > now() + (MAX_ASSERTION_SECONDS + tolerance) * 1000) throw refuse(`the assertion's exp is more than ${MAX_ASSERTION_SECONDS} seconds ahead`);
  if (typeof jti !== 'string' || jti === '' || jti.length > 256) throw refuse('the assertion needs a jti of 1 to 256 characters');
  if (!deps.replay.firstUse(client.clientId, jti, (exp + tolerance) * 1000)) throw refuse("the assertion's jti has been used before");
  return client;
}
