/**
 * The fhir-server HTTP app: built from its dependencies, not listening, so tests
 * drive it with `app.inject()` and `main` decides where it listens.
 */
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { correlationIdOfRequest } from '../observability/correlation.ts';
import { installHttpObservability, type HttpObserver } from '../observability/http-hooks.ts';
import { buildFhirRoutes, fhirNotFound, sendError } from './fhir-routes.ts';
import type { FhirRoutesDeps } from './fhir-routes.ts';

/** What the app needs. */
export interface AppDeps extends FhirRoutesDeps {
  /** Logger (pino); default: silent. */
  logger?: Logger;
  /** TLS for a listening server (HTTPS only); tests using `inject()` leave it out. */
  https?: { cert: string; key: string };
  /** Told of each finished request (metrics). */
  observeHttp?: HttpObserver;
}

/** Builds the app with the FHIR routes; other route sets (export, auth) register on the returned instance. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    ...(deps.https ? { https: deps.https } : {}),
    // Request lines are logged without query strings (a misdirected SAS must not reach a log), so fastify's own are off;
    // the request id is the correlation id: the client's x-correlation-id / x-request-id when well-formed.
    logController: new LogController({ disableRequestLogging: deps.logger !== undefined, requestIdLogLabel: 'correlationId' }),
    genReqId: correlationIdOfRequest,
    // fastify's own refusals before routing (malformed percent-encoding, over-long path parameters) are OperationOutcomes too.
    frameworkErrors: (error, request, reply) => void sendError(request, reply, error),
  }) as unknown as FastifyInstance;
  installHttpObservability(app, deps.observeHttp);
  if (deps.logger) {
    // fastify's own request lines, but with the path only: a query string may carry a SAS a client put there by mistake.
    app.addHook('onRequest', async (request) => {
      request.log.debug({ method: request.method, path: request.url.split('?')[0] }, 'incoming request');
    });
    app.addHook('onResponse', async (request, reply) => {
      request.log.info({ method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request completed');
    });
  }
  buildFhirRoutes(app, deps);
  app.setNotFoundHandler(fhirNotFound);
  // Errors outside the route scopes (e.g. a body fastify cannot parse on an unknown route) answer OperationOutcomes too.
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  return app;
}
