/**
 * REST security: an Entra ID bearer token (signature via JWKS, issuer,
 * audience, lifetime) and one app role (or delegated scope) per kind of access.
 * No or bad token: 401 with `WWW-Authenticate: Bearer`; valid token without the
 * role: 403; signing keys unreachable: 503. Authorization header values are
 * never logged or echoed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isClientFault, TokenVerificationError, type VerifiedToken } from '../../common/auth/entra-token-verifier.ts';
import { FhirError } from '../fhir/errors.ts';
import type { FhirAccess } from './fhir-routes.ts';
import { anonymousPrincipal, attachPrincipal, principalFromToken, type RequestPrincipal } from './auth-principal.ts';

/** Every kind of access: the FHIR routes' read/write, plus `$export` and `/_admin`. */
export type FhirServerAccess = FhirAccess | 'export' | 'admin';

/** The app role (or delegated scope) each kind of access needs. */
export type AccessRoles = Readonly<Record<FhirServerAccess, string>>;

/** Checks a request for a kind of access; throws a `FhirError` to refuse it. */
export type FhirServerAuthorize = (request: FastifyRequest, access: FhirServerAccess) => Promise<void>;

/** Another kind of bearer token accepted beside Entra ID's (e.g. SMART access tokens), told apart by its issuer. */
export interface BearerTokenPath {
  /** True when `token` is of this kind (an unverified look at its issuer). */
  recognizes(token: string): boolean;
  /** Verifies `token` (throws `TokenVerificationError` when bad) and answers its principal and the scope it lacks for `access`, if any. */
  authorize(token: string, request: FastifyRequest, access: FhirServerAccess): Promise<{ principal: RequestPrincipal; missingScope?: string }>;
}

/** Options of `createRestAuth`. */
export interface RestAuthOptions {
  /** Token verifier (`createEntraTokenVerifier`); required unless `disabled`. */
  verify?: (token: string | undefined) => Promise<VerifiedToken>;
  /** Role per access. */
  roles: AccessRoles;
  /** Serve every request as the anonymous principal (local experiments only). */
  disabled?: boolean;
  /** `realm` of the challenge (default "fhirmesh-fhir"). */
  realm?: string;
  /** Where the "authentication disabled" warning goes. */
  logger?: Logger;
  /** Other bearer token kinds, tried before Entra ID when they recognize a token. */
  paths?: readonly BearerTokenPath[];
}

/** The authorization hook and what makes its answers complete. */
export interface RestAuth {
  /** The hook for `buildApp({ authorize })` and the export and admin routes. */
  authorize: FhirServerAuthorize;
  /** Adds the `WWW-Authenticate` challenge to 401/403 answers of `app`; call before `app.ready()`. */
  install(app: FastifyInstance): void;
}

/** Seconds a client should wait when the signing keys cannot be fetched. */
const KEYS_RETRY_AFTER_SECONDS = 5;

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null;
  return match?.[1];
}

const quoted = (text: string) => `"${text.replace(/["\\]/g, '')}"`;

/** Builds the hook. With `disabled`, logs a warning once and lets every request through as the anonymous principal. */
export function createRestAuth(options: RestAuthOptions): RestAuth {
  const realm = options.realm ?? 'fhirmesh-fhir';
  const challenges = new WeakMap<FastifyRequest, string>();
  const install = (app: FastifyInstance) => {
    app.addHook('onSend', async (request, reply, payload) => {
      const challenge = challenges.get(request) ?? (reply.statusCode === 401 ? `Bearer realm=${quoted(realm)}` : undefined);
      if ((reply.statusCode === 401 || reply.statusCode === 403) && challenge && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', challenge);
      return payload;
    });
  };

  if (options.disabled) {
    const message = 'AUTHENTICATION IS DISABLED (auth.disabled): every request is served as the anonymous principal with full access. Use only for local experiments.';
    if (options.logger) options.logger.warn({ auth: 'disabled' }, message);
    else process.emitWarning(message);
    return { authorize: async (request) => attachPrincipal(request, anonymousPrincipal), install };
  }
  const verify = options.verify;
  if (!verify) throw new Error('createRestAuth needs a token verifier unless authentication is disabled');

  const authorizeOn = async (path: BearerTokenPath, token: string, request: FastifyRequest, access: FhirServerAccess) => {
    let answer: Awaited<ReturnType<BearerTokenPath['authorize']>>;
    try {
      answer = await path.authorize(token, request, access);
    } catch (err) {
      if (!(err instanceof TokenVerificationError)) throw err;
      challenges.set(request, `Bearer realm=${quoted(realm)}, error="invalid_token", error_description=${quoted(err.message)}`);
      throw new FhirError('unauthenticated', `Authentication failed: ${err.message}`);
    }
    attachPrincipal(request, answer.principal);
    if (answer.missingScope) {
      challenges.set(request, `Bearer realm=${quoted(realm)}, error="insufficient_scope", scope=${quoted(answer.missingScope)}`);
      throw new FhirError('forbidden', `The access token lacks the scope ${answer.missingScope} needed for this request`);
    }
  };

  const authorize: FhirServerAuthorize = async (request, access) => {
    const token = bearerToken(request);
    const path = token ? options.paths?.find((p) => p.recognizes(token)) : undefined;
    if (path) return authorizeOn(path, token!, request, access);
    let verified: VerifiedToken;
    try {
      verified = await verify(token);
    } catch (err) {
      if (!(err instanceof TokenVerificationError)) throw err;
      if (!isClientFault(err)) {
        request.log.error({ reason: String((err.cause as Error)?.message ?? err.cause) }, 'token signing keys unavailable');
        throw new FhirError('unavailable', 'The token signing keys cannot be fetched right now; retry later', { retryAfterSeconds: KEYS_RETRY_AFTER_SECONDS });
      }
      challenges.set(request, token ? `Bearer realm=${quoted(realm)}, error="invalid_token", error_description=${quoted(err.message)}` : `Bearer realm=${quoted(realm)}`);
      throw new FhirError('unauthenticated', `Authentication failed: ${err.message}`);
    }
    const principal = principalFromToken(verified);
    if (!principal) {
      challenges.set(request, `Bearer realm=${quoted(realm)}, error="invalid_token", error_description="the token names no principal"`);
      throw new FhirError('unauthenticated', 'Authentication failed: the bearer token names no principal (oid, sub or appid)');
    }
    attachPrincipal(request, principal);
    const role = options.roles[access];
    if (!principal.permissions.has(role)) {
      challenges.set(request, `Bearer realm=${quoted(realm)}, error="insufficient_scope", scope=${quoted(role)}`);
      throw new FhirError('forbidden', `The caller lacks the ${role} app role or scope needed for ${access} access`);
    }
  };
  return { authorize, install };
}
