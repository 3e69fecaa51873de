/**
 * What a SMART token needs for a request: reading a resource, a version of it
 * or its history needs read on its type (search and a type's history need
 * search; the system history needs read on `*`); writes need create, update or delete on the type
 * (a Bundle needs them on `*`); an `$export` kick-off needs read on every type
 * it can include (its `_type` list, else `*`); status, cancel and download
 * need read on some type (the job itself is visible only to the client that
 * started it). SMART tokens never carry admin access.
 */
import type { FastifyRequest } from 'fastify';
import { parametersFromBody, parametersFromQuery, type RawParameter } from '../../export/facade/kickoff-input.ts';
import type { FhirServerAccess } from '../auth.ts';
import type { ScopeSet, SmartPermission } from './scopes.ts';

const v1Name: Record<SmartPermission, string> = { r: 'read', s: 'read', c: 'write', u: 'write', d: 'write' };
const need = (type: string, permission: SmartPermission) => `system/${type}.${v1Name[permission]}`;

/** The `_type` list of a kick-off; empty means every type (also when the body cannot be read). */
export function kickoffTypes(request: FastifyRequest): string[] {
  let parameters: RawParameter[];
  try {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    parameters = request.method === 'GET' ? parametersFromQuery(query) : parametersFromBody(request.body);
  } catch {
    return [];
  }
  return parameters.filter((p) => p.name === '_type').flatMap((p) => p.value.split(',')).map((t) => t.trim()).filter(Boolean);
}

function firstMissing(scopes: ScopeSet, types: string[], permission: SmartPermission): string | undefined {
  const missing = types.find((type) => !scopes.allows(type, permission));
  return missing === undefined ? undefined : need(missing, permission);
}

/** The scope `scopes` lack for `access` on `request` (v1 spelling), or undefined when they suffice. */
export function missingScope(scopes: ScopeSet, request: FastifyRequest, access: FhirServerAccess): string | undefined {
  const route = request.routeOptions.url ?? '';
  const type = (request.params as { type?: unknown } | undefined)?.type;
  switch (access) {
    case 'read':
      if (typeof type !== 'string') return firstMissing(scopes, ['*'], 'r');
      // A resource, one of its versions or its own history is a read; a type's history, like a search, needs search.
      return firstMissing(scopes, [type], /\/:id(\/_history(\/:vid)?)?$/.test(route) ? 'r' : 's');
    case 'write': {
      if (typeof type !== 'string') return firstMissing(scopes, ['*'], 'c') ?? firstMissing(scopes, ['*'], 'u') ?? firstMissing(scopes, ['*'], 'd') ?? firstMissing(scopes, ['*'], 'r');
      const permission: SmartPermission = request.method === 'POST' ? 'c' : request.method === 'DELETE' ? 'd' : 'u';
      return firstMissing(scopes, [type], permission);
    }
    case 'export': {
      if (route.endsWith('$export')) {
        const types = kickoffTypes(request);
        return firstMissing(scopes, types.length ? [...new Set(types)] : ['*'], 'r');
      }
      return scopes.any('r') ? undefined : need('*', 'r');
    }
    case 'admin':
      return 'admin access (not available to SMART clients)';
  }
}
