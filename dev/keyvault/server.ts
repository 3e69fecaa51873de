/**
 * Key Vault stand-in: the secrets REST API on loopback HTTPS, as the real
 * `@azure/keyvault-secrets` client uses it — a 401 challenge to the first
 * (token-less, body-less) request, then bearer tokens from the Entra stand-in
 * checked against its JWKS, access policies per principal, soft delete.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import { FaultInjector } from '../entra/faults.ts';
import { BodyTooLargeError, createAdminKey, listenLoopback, parseRequestUrl, readJson, sendEmpty, sendJson } from '../entra/http.ts';
import { AccessPolicies, describeCaller } from './access.ts';
import { handleKeyVaultAdmin } from './admin.ts';
import { BundleWriter } from './bundles.ts';
import { KeyVaultError, badParameter, forbidden, unauthorized } from './errors.ts';
import { runOperation } from './operations.ts';
import { routeSecretRequest } from './routes.ts';
import { SecretStore, parseSetSecret } from './secrets.ts';
import { KeyVaultCounters } from './stats.ts';
import { TokenVerifier, vaultAudiences } from './token-verifier.ts';
import type { KeyVaultOptions, KeyVaultStandIn } from './types.ts';

const apiVersionPattern = /^(7\.\d+(-preview(\.\d+)?)?|\d{4}-\d{2}-\d{2}(-preview)?)$/;

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1] ?? '';
}

/** Starts the Key Vault stand-in and resolves once it is listening. */
export async function startKeyVault(options: KeyVaultOptions): Promise<KeyVaultStandIn> {
  const log = options.logger ?? pino({ level: 'silent' });
  const vaultName = options.vaultName ?? 'fhirmesh-local';
  const recoverableDays = options.recoverableDays ?? 90;
  const store = new SecretStore(recoverableDays);
  const access = new AccessPolicies();
  const faults = new FaultInjector();
  const counters = new KeyVaultCounters();
  const adminKey = options.adminKey ?? createAdminKey();
  const verifier = new TokenVerifier({
    jwksUri: options.entra.jwksUri,
    issuer: options.entra.issuer,
    caPem: options.tls.caPem,
    clockSkewSeconds: options.clockSkewSeconds ?? 300,
  });
  const challenge = `Bearer authorization="${options.entra.authorityHost.replace(/\/+$/, '')}/${options.entra.tenantId}", resource="${vaultAudiences[0]}"`;
  let bundles: BundleWriter;

  function sendError(res: ServerResponse, err: KeyVaultError, requestId: string): void {
    sendJson(res, err.status, err.body(), {
      'x-ms-request-id': requestId,
      ...(err.status === 401 ? { 'www-authenticate': challenge } : {}),
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, segments, query } = parseRequestUrl(req);
    if (segments[0] === '_stand-in') return handleKeyVaultAdmin(req, res, segments.slice(1), standIn, access);
    const method = req.method ?? 'GET';
    const requestId = randomUUID();
    const route = routeSecretRequest(method, segments);
    const fault = faults.take();
    if (fault) {
      counters.count('faulted', route?.operation, route?.name);
      log.info({ method, path, status: fault.status }, 'request answered by injected fault');
      const err = new KeyVaultError(fault.status, fault.status === 429 ? 'Throttled' : 'ServiceUnavailable', 'The service is temporarily unavailable (injected fault).');
      return sendJson(res, fault.status, err.body(), { ...FaultInjector.headers(fault), 'x-ms-request-id': requestId });
    }
    const token = bearerToken(req);
    if (token === undefined) {
      counters.count('challenge', route?.operation, route?.name);
      return sendError(res, unauthorized('AKV10000: Request is missing a Bearer or PoP token.'), requestId);
    }
    let callerText = '';
    try {
      if (!token) throw unauthorized('AKV10000: Request is missing a Bearer or PoP token.');
      const caller = await verifier.verify(token);
      callerText = describeCaller(caller);
      const apiVersion = query.get('api-version');
      if (!apiVersion) throw badParameter("The request URI must contain an 'api-version' query parameter.");
      if (!apiVersionPattern.test(apiVersion)) throw badParameter(`The specified version (${apiVersion}) is not recognized.`);
      if (!route) throw new KeyVaultError(404, 'NotFound', `No secret operation matches ${method} ${path}.`);
      if (!access.allows(caller, route.permission)) throw forbidden(callerText, route.permission, vaultName);
      const body = method === 'PUT' || method === 'PATCH' ? await readJson(req).catch((err: unknown) => {
        if (err instanceof SyntaxError) throw badParameter('The request body is not valid JSON.');
        if (err instanceof BodyTooLargeError) throw badParameter('The request body is too large.');
        throw err;
      }) : undefined;
      const result = runOperation(route, {
        body,
        apiVersion,
        ...(query.has('maxresults') ? { maxResults: query.get('maxresults')! } : {}),
        ...(query.has('$skiptoken') ? { skipToken: query.get('$skiptoken')! } : {}),
      }, store, bundles);
      counters.count('succeeded', route.operation, route.name);
      log.info({ operation: route.operation, secret: route.name, caller: callerText, status: result.status }, 'secret operation');
      if (result.body) return sendJson(res, result.status, result.body, { 'x-ms-request-id': requestId });
      return sendEmpty(res, result.status, { 'x-ms-request-id': requestId });
    } catch (err) {
      if (!(err instanceof KeyVaultError)) throw err;
      if (err.status === 401) counters.count('unauthorized', route?.operation, route?.name);
      else counters.count('failed', route?.operation, route?.name);
      log.info({ operation: route?.operation, secret: route?.name, caller: callerText || undefined, status: err.status, code: err.code }, 'secret operation refused');
      return sendError(res, err, requestId);
    }
  }

  const server = await listenLoopback(options.tls, options.port ?? 0, handle, (err) => log.error({ err }, 'request failed'));
  bundles = new BundleWriter(server.url, recoverableDays);

  const standIn: KeyVaultStandIn = {
    url: server.url,
    adminKey,
    grant: (principal, permissions) => access.grant(principal, permissions),
    revoke: (principal, permissions) => access.revoke(principal, permissions),
    putSecret: (name, value, put = {}) =>
      store.set(name, parseSetSecret({ value, contentType: put.contentType, tags: put.tags, attributes: { enabled: put.enabled } })).version.version,
    stats: () => counters.snapshot(),
    resetStats: () => counters.reset(),
    setFault: (fault) => faults.set(fault),
    clearFault: () => faults.clear(),
    stop: () => server.close(),
  };
  log.info({ url: server.url }, 'key vault stand-in listening');
  return standIn;
}
