/**
 * The SMART client registry over HTTP (admin access): `POST /_admin/smart/clients`
 * registers (`{ scope, jwks | jwks_uri, client_name? }` → 201 with the
 * generated `client_id`), `GET` lists, `GET /:id` reads, `PATCH /:id` with
 * `{ "disabled": true | false }` disables or enables, `DELETE /:id` removes.
 * Disabling or deleting a client ends its access tokens too (bearer-path.ts).
 * A `jwks_uri` is fetched once at registration to check it.
 */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { FhirError } from '../../fhir/errors.ts';
import type { FhirServerAuthorize } from '../auth.ts';
import { sendError } from '../fhir-routes.ts';
import type { SmartBackendServices } from './backend-services.ts';
import { checkClientUpdate, checkRegistration, clientView, type SmartClient } from './client.ts';

type ClientParams = { Params: { id: string } };

const json = (value: unknown) => JSON.stringify(value);

/** Registers the client routes on `app` (own scope, JSON bodies, OperationOutcome errors). */
export function registerClientRoutes(app: FastifyInstance, smart: SmartBackendServices, authorize: FhirServerAuthorize): void {
  app.register(
    async (scope) => {
      scope.setErrorHandler((error, request, reply) => sendError(request, reply, error));
      scope.post('/', { bodyLimit: 256 * 1024 }, async (request, reply) => {
        await authorize(request, 'admin');
        const registration = checkRegistration(request.body);
        if (registration.jwksUri) await smart.clientKeys.check(registration.jwksUri);
        const client: SmartClient = { clientId: randomUUID(), ...registration, createdAt: new Date().toISOString() };
        await smart.registry.create(client);
        request.log.info({ clientId: client.clientId, scope: client.scopes.join(' ') }, 'SMART client registered');
        return reply.code(201).header('location', `/_admin/smart/clients/${client.clientId}`).header('cache-control', 'no-store').type('application/json').send(json(clientView(client)));
      });
      scope.get('/', async (request, reply) => {
        await authorize(request, 'admin');
        const clients = await smart.registry.list();
        return reply.code(200).header('cache-control', 'no-store').type('application/json').send(json({ clients: clients.map(clientView) }));
      });
      scope.get<ClientParams>('/:id', async (request, reply) => {
        await authorize(request, 'admin');
        const client = await smart.registry.get(request.params.id);
        if (!client) throw new FhirError('not-found', `No SMART client ${request.params.id}`);
        return reply.code(200).header('cache-control', 'no-store').type('application/json').send(json(clientView(client)));
      });
      scope.patch<ClientParams>('/:id', { bodyLimit: 16 * 1024 }, async (request, reply) => {
        await authorize(request, 'admin');
        const change = checkClientUpdate(request.body);
        const client = await smart.registry.update(request.params.id, change);
        if (!client) throw new FhirError('not-found', `No SMART client ${request.params.id}`);
        request.log.info({ clientId: client.clientId, disabled: client.disabled === true }, client.disabled ? 'SMART client disabled' : 'SMART client enabled');
        return reply.code(200).header('cache-control', 'no-store').type('application/json').send(json(clientView(client)));
      });
      scope.delete<ClientParams>('/:id', async (request, reply) => {
        await authorize(request, 'admin');
        if (!(await smart.registry.delete(request.params.id))) throw new FhirError('not-found', `No SMART client ${request.params.id}`);
        request.log.info({ clientId: request.params.id }, 'SMART client deleted');
        return reply.code(204).send();
      });
    },
    { prefix: '/_admin/smart/clients' },
  );
}
