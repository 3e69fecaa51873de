/**
 * Operator routes under `/_admin` (admin role): `GET /_admin/configuration`
 * answers the effective configuration with secrets redacted and the layer each
 * export value came from.
 */
import type { FastifyInstance } from 'fastify';
import type { EffectiveConfiguration } from '../config/effective-configuration.ts';
import type { FhirServerAuthorize } from './auth.ts';
import { sendError } from './fhir-routes.ts';

/** What the admin routes need. */
export interface AdminRoutesDeps {
  /** The effective configuration. */
  configuration: Pick<EffectiveConfiguration, 'redacted'>;
  /** The authorization hook (called with 'admin'). */
  authorize: FhirServerAuthorize;
}

/** Registers the admin routes on `app` (own scope; errors answered as OperationOutcome). */
export function buildAdminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): void {
  app.register(
    async (scope) => {
      scope.setErrorHandler((error, request, reply) => sendError(request, reply, error));
      scope.get('/configuration', async (request, reply) => {
        await deps.authorize(request, 'admin');
        return reply.code(200).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(JSON.stringify(deps.configuration.redacted()));
      });
    },
    { prefix: '/_admin' },
  );
}
