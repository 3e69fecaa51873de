/**
 * Who is calling: the principal a verified bearer token names, attached to the
 * request by the authorization hook and read by the routes (the export engine
 * keys jobs by it).
 */
import type { FastifyRequest } from 'fastify';
import type { VerifiedToken } from '../../common/auth/entra-token-verifier.ts';
import type { ExportCaller } from '../export/ports.ts';

/** The caller of a request. */
export interface RequestPrincipal {
  /** Stable id: the token's `oid`, else `sub`, else `appid`/`azp`; "anonymous" when auth is disabled. */
  readonly id: string;
  /** Entra tenant (`tid`), when known. */
  readonly tenantId?: string;
  /** Client application (`appid`/`azp`), when known. */
  readonly appId?: string;
  /** True only when authentication is disabled. */
  readonly anonymous: boolean;
  /** App roles and delegated scopes of the token. */
  readonly permissions: ReadonlySet<string>;
  /** Whether the token may read resources of a type, when it limits reads by type (SMART scopes); absent: its role decides. */
  readonly mayRead?: (resourceType: string) => boolean;
}

/** The principal every request gets while authentication is disabled. */
export const anonymousPrincipal: RequestPrincipal = Object.freeze({ id: 'anonymous', anonymous: true, permissions: Object.freeze(new Set<string>()) });

const principals = new WeakMap<FastifyRequest, RequestPrincipal>();

/** The principal of a verified token, or undefined when the token names none. */
export function principalFromToken(verified: VerifiedToken): RequestPrincipal | undefined {
  const { claims } = verified;
  const appId = claims.appid ?? claims.azp;
  const id = claims.oid ?? claims.sub ?? appId;
  if (typeof id !== 'string' || id === '') return undefined;
  return Object.freeze({ id, tenantId: claims.tid, appId, anonymous: false, permissions: verified.permissions });
}

/** Attaches `principal` to `request`. */
export function attachPrincipal(request: FastifyRequest, principal: RequestPrincipal): void {
  principals.set(request, principal);
}

/** The principal attached by the authorization hook, if it ran. */
export function principalOf(request: FastifyRequest): RequestPrincipal | undefined {
  return principals.get(request);
}

/** The export engine's view of the caller (anonymous when no authorization hook ran). */
export function exportCallerOf(request: FastifyRequest): ExportCaller {
  const principal = principalOf(request) ?? anonymousPrincipal;
  return { principal: principal.id, correlationId: request.id, ...(principal.mayRead ? { mayRead: principal.mayRead } : {}) };
}
