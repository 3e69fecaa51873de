/**
 * The Key Vault stand-in's admin API under `/_stand-in/`. Every route except
 * `GET /_stand-in/health` needs the `x-stand-in-key` header.
 *
 *   GET    /_stand-in/health
 *   GET    /_stand-in/access                           -> { principal: permissions[] }
 *   PUT    /_stand-in/access/{principal}               { permissions } -> 204 (adds)
 *   DELETE /_stand-in/access/{principal}[?permissions=get,list]  -> 204 (removes those, or all)
 *   PUT    /_stand-in/secrets/{name}                   { value, contentType?, tags?, enabled? } -> 201 { version }
 *   GET    /_stand-in/stats                            -> KeyVaultStats
 *   DELETE /_stand-in/stats                            -> 204 (reset)
 *   POST   /_stand-in/faults                           Fault -> 204
 *   DELETE /_stand-in/faults                           -> 204
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseFault } from '../entra/faults.ts';
import { BodyTooLargeError, hasAdminKey, parseRequestUrl, readJson, sendEmpty, sendJson } from '../entra/http.ts';
import { parsePermissions, type AccessPolicies } from './access.ts';
import { KeyVaultError } from './errors.ts';
import type { KeyVaultStandIn, PutSecretOptions } from './types.ts';

function adminError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TypeError('request body must be a JSON object');
  return body as Record<string, unknown>;
}

async function route(req: IncomingMessage, res: ServerResponse, path: string[], vault: KeyVaultStandIn, access: AccessPolicies): Promise<void> {
  const method = req.method ?? 'GET';
  const [collection, id] = path;
  if (collection === 'access' && path.length === 1 && method === 'GET') return sendJson(res, 200, access.list());
  if (collection === 'access' && id && path.length === 2) {
    if (method === 'PUT') {
      vault.grant(id, parsePermissions(asObject(await readJson(req)).permissions));
      return sendEmpty(res, 204);
    }
    if (method === 'DELETE') {
      const listed = parseRequestUrl(req).query.get('permissions');
      vault.revoke(id, listed ? parsePermissions(listed.split(',').filter(Boolean)) : undefined);
      return sendEmpty(res, 204);
    }
  }
  if (collection === 'secrets' && id && path.length === 2 && method === 'PUT') {
    const body = asObject(await readJson(req));
    if (typeof body.value !== 'string') throw new TypeError('value must be a string');
    const options: PutSecretOptions = {};
    if (typeof body.contentType === 'string') options.contentType = body.contentType;
    if (typeof body.enabled === 'boolean') options.enabled = body.enabled;
    if (typeof body.tags === 'object' && body.tags !== null) options.tags = body.tags as Record<string, string>;
    return sendJson(res, 201, { version: vault.putSecret(id, body.value, options) });
  }
  if (collection === 'stats' && path.length === 1) {
    if (method === 'GET') return sendJson(res, 200, vault.stats());
    if (method === 'DELETE') {
      vault.resetStats();
      return sendEmpty(res, 204);
    }
  }
  if (collection === 'faults' && path.length === 1) {
    if (method === 'POST') {
      vault.setFault(parseFault(await readJson(req)));
      return sendEmpty(res, 204);
    }
    if (method === 'DELETE') {
      vault.clearFault();
      return sendEmpty(res, 204);
    }
  }
  adminError(res, 404, 'NotFound', `no admin route ${method} /_stand-in/${path.join('/')}`);
}

/** Serves a request under `/_stand-in/` (`path` is what follows that prefix). */
export async function handleKeyVaultAdmin(req: IncomingMessage, res: ServerResponse, path: string[], vault: KeyVaultStandIn, access: AccessPolicies): Promise<void> {
  if (path[0] === 'health' && path.length === 1 && req.method === 'GET') return sendJson(res, 200, { status: 'ok' });
  if (!hasAdminKey(req, vault.adminKey)) return adminError(res, 401, 'Unauthorized', 'missing or wrong x-stand-in-key header');
  try {
    await route(req, res, path, vault, access);
  } catch (err) {
    if (err instanceof KeyVaultError) return sendJson(res, err.status, err.body());
    if (err instanceof BodyTooLargeError) return adminError(res, 413, 'TooLarge', err.message);
    if (err instanceof TypeError || err instanceof SyntaxError) return adminError(res, 400, 'BadRequest', err.message);
    throw err;
  }
}
