/**
 * The SMART HTTP routes: discovery (`GET /.well-known/smart-configuration`,
 * unauthenticated), the token endpoint (`POST /auth/token`, form-encoded,
 * errors as RFC 6749 JSON) and the client registry under `/_admin/smart/clients`
 * (admin access). Assertions and tokens never reach a log.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CapabilityRegistry } from '../../fhir/capabilities.ts';
import type { FhirServerAuthorize } from '../auth.ts';
import { baseUrlOf, type BaseUrlOf } from '../base-url.ts';
import { registerClientRoutes } from './client-routes.ts';
import type { SmartBackendServices } from './backend-services.ts';
import { TOKEN_PATH } from './backend-services.ts';
import { registerSmartCapabilities } from './capabilities.ts';
import { OAuthError } from './oauth-errors.ts';
import { smartConfiguration } from './smart-configuration.ts';
import { exchangeClientCredentials } from './token-service.ts';

/** What the routes need. */
export interface SmartRoutesDeps {
  /** The authorization hook (admin routes). */
  authorize: FhirServerAuthorize;
  /** Adds `rest.security` to the CapabilityStatement when given. */
  capabilities?: CapabilityRegistry;
  /** Base URL of the advertised token endpoint (`baseUrlResolver`); default: the SMART issuer's base URL. */
  baseUrl?: string | BaseUrlOf;
}

const FORM_BODY_LIMIT = 64 * 1024;

function sendOAuthError(reply: FastifyReply, error: OAuthError): FastifyReply {
  if (error.code === 'invalid_client') reply.header('www-authenticate', 'Bearer realm="fhirmesh-fhir", error="invalid_client"');
  return reply.code(error.status).header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json').send(JSON.stringify(error.body()));
}

/** Registers the routes on `app`. */
export function registerSmartRoutes(app: FastifyInstance, smart: SmartBackendServices, deps: SmartRoutesDeps): void {
  if (deps.capabilities) registerSmartCapabilities(deps.capabilities);
  const baseOf: BaseUrlOf = deps.baseUrl ? baseUrlOf(deps.baseUrl) : () => smart.baseUrl();
  const tokenEndpointOf = (request: FastifyRequest) => `${baseOf(request)}${TOKEN_PATH}`;

  app.get('/.well-known/smart-configuration', async (request, reply) =>
    reply.code(200).header('cache-control', 'public, max-age=300').type('application/json').send(JSON.stringify(smartConfiguration(tokenEndpointOf(request)))),
  );

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => done(null, new URLSearchParams(body as string)));
    scope.setErrorHandler((error, request, reply) => {
      if (error instanceof OAuthError) {
        if (error.status >= 500) request.log.error({ reason: error.description, cause: (error.cause as Error | undefined)?.message }, 'SMART token endpoint unavailable');
        else request.log.info({ error: error.code, reason: error.description }, 'SMART token refused');
        return sendOAuthError(reply, error);
      }
      const status = (error as { statusCode?: number }).statusCode;
      if (status && status < 500) return sendOAuthError(reply, new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded (at most 64 KiB)'));
      request.log.error({ err: error }, 'SMART token endpoint failed');
      return sendOAuthError(reply, new OAuthError('temporarily_unavailable', 'the token could not be issued right now; retry later'));
    });
    scope.post(TOKEN_PATH, async (request, reply) => {
      if (!(request.body instanceof URLSearchParams)) throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
      let outcome;
      try {
        outcome = await exchangeClientCredentials(request.body, smart.tokenServiceDeps(tokenEndpointOf(request)));
      } catch (err) {
        if (err instanceof OAuthError) throw err;
        throw new OAuthError('temporarily_unavailable', 'the token could not be issued right now; retry later', { cause: err });
      }
      request.log.info({ clientId: outcome.clientId, scope: outcome.response.scope }, 'SMART token issued');
      return reply.code(200).header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json').send(JSON.stringify(outcome.response));
    });
  });

  registerClientRoutes(app, smart, deps.authorize);
}
