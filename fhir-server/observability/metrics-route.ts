/**
 * `GET /metrics` on the REST port, Prometheus text format, for callers with
 * the admin role (the same check as `/_admin`); Prometheus scrapes it with an
 * Entra ID client-credentials token (its `oauth2` settings).
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { FhirServerAuthorize } from '../http/auth.ts';
import { sendError } from '../http/fhir-routes.ts';

/** What the route needs. */
export interface MetricsRouteDeps {
  /** What to serve. */
  registry: Registry;
  /** The authorization hook (called with 'admin'). */
  authorize: FhirServerAuthorize;
}

/** Registers `GET /metrics` on `app` (own scope; refusals answered as OperationOutcome). */
export function registerMetricsRoute(app: FastifyInstance, deps: MetricsRouteDeps): void {
  app.register(async (scope) => {
    scope.setErrorHandler((error, request, reply) => sendError(request, reply, error));
    scope.get('/metrics', async (request, reply) => {
      await deps.authorize(request, 'admin');
      const text = await deps.registry.metrics();
      return reply.code(200).header('cache-control', 'no-store').type(deps.registry.contentType).send(text);
    });
  });
}
