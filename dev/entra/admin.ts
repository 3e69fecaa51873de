/**
 * The Entra stand-in's admin API under `/_stand-in/`, so another process can
 * add identities, inject faults and read counters. Every route except
 * `GET /_stand-in/health` needs the `x-stand-in-key` header.
 *
 *   GET    /_stand-in/health
 *   POST   /_stand-in/applications               ApplicationRegistration -> 201 { appId, objectId }
 *   GET    /_stand-in/applications/{appId}       -> ApplicationSummary
 *   PATCH  /_stand-in/applications/{appId}       ApplicationUpdate -> ApplicationSummary
 *   DELETE /_stand-in/applications/{appId}       -> 204
 *   POST   /_stand-in/resources                  { uri } -> 204
 *   PUT    /_stand-in/token-lifetime             { seconds } -> 204
 *   PUT    /_stand-in/assertion-replay           { policy: 'allow-identical' | 'reject' } -> 204
 *   GET    /_stand-in/stats                      -> EntraStats
 *   DELETE /_stand-in/stats                      -> 204 (reset)
 *   POST   /_stand-in/faults                     Fault -> 204
 *   DELETE /_stand-in/faults                     -> 204
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AssertionReplayPolicy } from './assertion.ts';
import { ApplicationNotFoundError, type ApplicationRegistration, type ApplicationUpdate } from './directory.ts';
import { parseFault } from './faults.ts';
import { BodyTooLargeError, hasAdminKey, readJson, sendEmpty, sendJson } from './http.ts';
import type { EntraStandIn } from './types.ts';

function adminError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TypeError('request body must be a JSON object');
  return body as Record<string, unknown>;
}

async function route(req: IncomingMessage, res: ServerResponse, path: string[], entra: EntraStandIn): Promise<void> {
  const method = req.method ?? 'GET';
  const [collection, id] = path;
  if (collection === 'applications' && id === undefined && method === 'POST') {
    const registered = entra.registerApplication(asObject(await readJson(req)) as ApplicationRegistration);
    return sendJson(res, 201, registered);
  }
  if (collection === 'applications' && id !== undefined && path.length === 2) {
    if (method === 'GET') {
      const summary = entra.getApplication(id);
      return summary ? sendJson(res, 200, summary) : adminError(res, 404, 'NotFound', `application ${id} is not registered`);
    }
    if (method === 'PATCH') return sendJson(res, 200, entra.updateApplication(id, asObject(await readJson(req)) as ApplicationUpdate));
    if (method === 'DELETE') {
      entra.removeApplication(id);
      return sendEmpty(res, 204);
    }
  }
  if (collection === 'resources' && path.length === 1 && method === 'POST') {
    const { uri } = asObject(await readJson(req));
    if (typeof uri !== 'string') throw new TypeError('uri must be a string');
    entra.registerResource(uri);
    return sendEmpty(res, 204);
  }
  if (collection === 'token-lifetime' && path.length === 1 && method === 'PUT') {
    const { seconds } = asObject(await readJson(req));
    if (typeof seconds !== 'number') throw new TypeError('seconds must be a number');
    entra.setTokenLifetime(seconds);
    return sendEmpty(res, 204);
  }
  if (collection === 'assertion-replay' && path.length === 1 && method === 'PUT') {
    const { policy } = asObject(await readJson(req));
    if (policy !== 'allow-identical' && policy !== 'reject') throw new TypeError("policy must be 'allow-identical' or 'reject'");
    entra.setAssertionReplayPolicy(policy as AssertionReplayPolicy);
    return sendEmpty(res, 204);
  }
  if (collection === 'stats' && path.length === 1) {
    if (method === 'GET') return sendJson(res, 200, entra.stats());
    if (method === 'DELETE') {
      entra.resetStats();
      return sendEmpty(res, 204);
    }
  }
  if (collection === 'faults' && path.length === 1) {
    if (method === 'POST') {
      entra.setFault(parseFault(await readJson(req)));
      return sendEmpty(res, 204);
    }
    if (method === 'DELETE') {
      entra.clearFault();
      return sendEmpty(res, 204);
    }
  }
  adminError(res, 404, 'NotFound', `no admin route ${method} /_stand-in/${path.join('/')}`);
}

/** Serves a request under `/_stand-in/` (`path` is what follows that prefix). */
export async function handleEntraAdmin(req: IncomingMessage, res: ServerResponse, path: string[], entra: EntraStandIn): Promise<void> {
  if (path[0] === 'health' && path.length === 1 && req.method === 'GET') return sendJson(res, 200, { status: 'ok', tenantId: entra.tenantId });
  if (!hasAdminKey(req, entra.adminKey)) return adminError(res, 401, 'Unauthorized', 'missing or wrong x-stand-in-key header');
  try {
    await route(req, res, path, entra);
  } catch (err) {
    if (err instanceof ApplicationNotFoundError) return adminError(res, 404, 'NotFound', err.message);
    if (err instanceof BodyTooLargeError) return adminError(res, 413, 'TooLarge', err.message);
    if (err instanceof TypeError || err instanceof SyntaxError) return adminError(res, 400, 'BadRequest', err.message);
    throw err;
  }
}
