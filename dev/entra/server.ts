/**
 * Entra ID stand-in: a strict, single-tenant, client-credentials-only token
 * service on loopback HTTPS that the real `@azure/identity` / MSAL accept
 * (authority host = its URL, instance discovery disabled).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import { handleEntraAdmin } from './admin.ts';
import { ReplayGuard } from './assertion.ts';
import { Directory, isGuid } from './directory.ts';
import { Aadsts, EntraError, entraErrorBody, type OAuthErrorKind } from './errors.ts';
import { FaultInjector } from './faults.ts';
import { createAdminKey, listenLoopback, parseRequestUrl, readBody, sendJson, BodyTooLargeError } from './http.ts';
import { openIdConfigurationV1, openIdConfigurationV2, tenantEndpoints } from './metadata.ts';
import { TokenSigner } from './signing.ts';
import { EntraCounters } from './stats.ts';
import { grantClientCredentials, tokenRequestSubject, type TokenEndpointVersion } from './token-endpoint.ts';
import type { EntraOptions, EntraStandIn } from './types.ts';

const dnsName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;

function unknownTenant(tenant: string, kind: OAuthErrorKind): EntraError {
  if (isGuid(tenant) || dnsName.test(tenant)) {
    return new EntraError(
      400,
      kind,
      Aadsts.tenantNotFound,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    );
  }
  return new EntraError(400, kind, Aadsts.invalidTenantName, `Specified tenant identifier '${tenant}' is neither a valid DNS name, nor a valid external domain.`);
}

function checkLifetime(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1) throw new TypeError('token lifetime must be a positive whole number of seconds');
  return seconds;
}

/** Starts the Entra ID stand-in and resolves once it is listening. */
export async function startEntra(options: EntraOptions): Promise<EntraStandIn> {
  const tenantId = (options.tenantId ?? randomUUID()).toLowerCase();
  if (!isGuid(tenantId)) throw new TypeError(`tenantId must be a GUID, got '${options.tenantId}'`);
  const log = options.logger ?? pino({ level: 'silent' });
  const directory = new Directory();
  for (const uri of options.resources ?? []) directory.registerResource(uri);
  for (const app of options.applications ?? []) directory.register(app);
  const signer = await TokenSigner.create();
  const replay = new ReplayGuard(options.assertionReplay ?? 'allow-identical');
  const faults = new FaultInjector();
  const counters = new EntraCounters();
  const adminKey = options.adminKey ?? createAdminKey();
  let tokenLifetimeSeconds = checkLifetime(options.tokenLifetimeSeconds ?? 3600);
  let baseUrl = '';

  function sendEntraError(res: ServerResponse, err: EntraError, correlationId: string): void {
    sendJson(res, err.status, entraErrorBody(err, correlationId), { 'client-request-id': correlationId });
  }

  async function tokenRequest(req: IncomingMessage, res: ServerResponse, tenant: string, version: TokenEndpointVersion): Promise<void> {
    const correlationId = typeof req.headers['client-request-id'] === 'string' ? req.headers['client-request-id'] : randomUUID();
    const contentType = String(req.headers['content-type'] ?? '');
    let form: URLSearchParams;
    try {
      const body = await readBody(req);
      form = new URLSearchParams(contentType.startsWith('application/x-www-form-urlencoded') ? body.toString('utf8') : '');
    } catch (err) {
      if (!(err instanceof BodyTooLargeError)) throw err;
      return sendEntraError(res, new EntraError(400, 'invalid_request', Aadsts.malformedRequest, 'Invalid request. Request is malformed or invalid.'), correlationId);
    }
    const subject = tokenRequestSubject(form, version);
    const fault = faults.take();
    if (fault) {
      counters.token(subject.appId, subject.resource, { kind: 'faulted' });
      log.info({ status: fault.status, appId: subject.appId, resource: subject.resource }, 'token request answered by injected fault');
      const err =
        fault.status === 429
          ? new EntraError(429, 'temporarily_unavailable', Aadsts.throttled, 'There are too many incoming requests. Please try again later.')
          : new EntraError(fault.status, 'temporarily_unavailable', Aadsts.transient, 'A transient error has occurred. Please try again.');
      return sendJson(res, fault.status, entraErrorBody(err, correlationId), { ...FaultInjector.headers(fault), 'client-request-id': correlationId });
    }
    try {
      if (tenant !== tenantId) throw unknownTenant(tenant, 'invalid_request');
      const endpoints = tenantEndpoints(baseUrl, tenantId);
      const body = await grantClientCredentials(form, version, {
        tenantId,
        directory,
        signer,
        replay,
        assertionAudiences: [endpoints.tokenEndpoint, endpoints.v1TokenEndpoint],
        clockSkewSeconds: options.clockSkewSeconds ?? 300,
        tokenLifetimeSeconds,
        tokenIssuer: endpoints.tokenIssuer,
      });
      counters.token(subject.appId, subject.resource, { kind: 'issued' });
      log.info({ appId: subject.appId, resource: subject.resource, version }, 'token issued');
      sendJson(res, 200, body, { 'client-request-id': correlationId });
    } catch (err) {
      if (!(err instanceof EntraError)) throw err;
      counters.token(subject.appId, subject.resource, { kind: 'failed', code: err.code });
      log.info({ appId: subject.appId, resource: subject.resource, status: err.status, code: `AADSTS${err.code}` }, 'token request refused');
      sendEntraError(res, err, correlationId);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { segments } = parseRequestUrl(req);
    const method = req.method ?? 'GET';
    if (segments[0] === '_stand-in') return handleEntraAdmin(req, res, segments.slice(1), standIn);
    const tenant = (segments[0] ?? '').toLowerCase();
    const rest = segments.slice(1).join('/');
    const correlationId = randomUUID();
    if (method === 'POST' && rest === 'oauth2/v2.0/token') return tokenRequest(req, res, tenant, 'v2');
    if (method === 'POST' && rest === 'oauth2/token') return tokenRequest(req, res, tenant, 'v1');
    const isMetadata = rest === 'v2.0/.well-known/openid-configuration' || rest === '.well-known/openid-configuration';
    const isJwks = rest === 'discovery/v2.0/keys' || rest === 'discovery/keys';
    if (method === 'GET' && (isMetadata || isJwks)) {
      if (isMetadata) counters.metadata();
      else counters.jwks();
      const known = tenant === tenantId || (isJwks && tenant === 'common');
      if (!known) return sendEntraError(res, unknownTenant(tenant, 'invalid_tenant'), correlationId);
      if (isJwks) return sendJson(res, 200, { keys: [signer.jwk(tenantEndpoints(baseUrl, tenantId).v2Issuer)] }, { 'cache-control': 'max-age=86400, private' });
      return sendJson(res, 200, rest.startsWith('v2.0/') ? openIdConfigurationV2(baseUrl, tenantId) : openIdConfigurationV1(baseUrl, tenantId), {
        'cache-control': 'max-age=86400, private',
      });
    }
    log.info({ method, path: `/${segments.map(encodeURIComponent).join('/')}` }, 'no such endpoint');
    sendEntraError(res, new EntraError(404, 'invalid_request', Aadsts.malformedRequest, 'Invalid request. This stand-in serves only OpenID configuration, JWKS and the client-credentials token endpoints.'), correlationId);
  }

  const server = await listenLoopback(options.tls, options.port ?? 0, handle, (err) => log.error({ err }, 'request failed'));
  baseUrl = server.url;
  const endpoints = tenantEndpoints(baseUrl, tenantId);

  const standIn: EntraStandIn = {
    url: baseUrl,
    authorityHost: baseUrl,
    tenantId,
    adminKey,
    jwksUri: endpoints.jwksUri,
    metadataUrl: endpoints.metadataUrl,
    tokenEndpoint: endpoints.tokenEndpoint,
    issuer: (tenant = tenantId) => `https://sts.windows.net/${tenant}/`,
    registerApplication: (registration) => directory.register(registration),
    updateApplication: (appId, change) => directory.update(appId, change),
    removeApplication: (appId) => directory.remove(appId),
    getApplication: (appId) => (directory.find(appId) ? directory.summary(appId) : undefined),
    registerResource: (uri) => directory.registerResource(uri),
    setTokenLifetime: (seconds) => {
      tokenLifetimeSeconds = checkLifetime(seconds);
    },
    setAssertionReplayPolicy: (policy) => {
      replay.policy = policy;
    },
    stats: () => counters.snapshot(),
    resetStats: () => counters.reset(),
    setFault: (fault) => faults.set(fault),
    clearFault: () => faults.clear(),
    signAccessToken: (claims) => signer.sign(claims),
    stop: () => server.close(),
  };
  log.info({ url: baseUrl, tenantId }, 'entra stand-in listening');
  return standIn;
}
