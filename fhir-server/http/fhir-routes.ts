/**
 * The FHIR R4 REST API over fastify: create, read, vread, update, delete,
 * history, batch/transaction, search (`GET [type]`, `POST [type]/_search`) and the CapabilityStatement. Routes live in their own
 * encapsulated scope, so their body parsing and error answers (OperationOutcome)
 * do not leak into other routes of the app.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CapabilityRegistry } from '../fhir/capabilities.ts';
import { answerTo } from '../fhir/error-table.ts';
import { FhirError } from '../fhir/errors.ts';
import { parseIfMatch } from '../fhir/etag.ts';
import type { FhirService } from '../fhir/fhir-service.ts';
import { addSearchCapabilities } from '../search/capability.ts';
import type { SearchService } from '../search/search-service.ts';
import { checkUrlType } from '../fhir/validate.ts';
import { baseUrlOf, type BaseUrlOf } from './base-url.ts';
import { fromHttpError } from './fhir-errors.ts';
import { fhirJson, sendResource, sendWrite, versionHeaders } from './fhir-reply.ts';

/** What a request may do; an authorization hook decides per request. */
export type FhirAccess = 'read' | 'write';

/** Throws (a `FhirError`, or an error with `statusCode` 401/403) to refuse a request. */
export type AuthorizeHook = (request: FastifyRequest, access: FhirAccess) => void | Promise<void>;

/** Body limits, in bytes. */
export interface FhirBodyLimits {
  /** `POST [base]` (Bundles); default 10 MiB. */
  bundleBytes?: number;
  /** `POST [type]`, `PUT [type]/[id]`; default 2 MiB. */
  resourceBytes?: number;
}

/** What the FHIR routes need. */
export interface FhirRoutesDeps {
  /** The interactions. */
  service: FhirService;
  /** What `GET /metadata` lists. */
  capabilities: CapabilityRegistry;
  /** Search; without it `GET [type]` answers not-supported. */
  search?: SearchService;
  /** Optional access check, called before any work. */
  authorize?: AuthorizeHook;
  /** Base URL of every link (a fixed URL, or `baseUrlResolver`'s function); never taken from the request's Host header. */
  baseUrl: string | BaseUrlOf;
  /** Path prefix of the FHIR base (default none). */
  prefix?: string;
  /** Body limits. */
  limits?: FhirBodyLimits;
}

/** Default body limits. */
export const fhirBodyLimitDefaults = Object.freeze({ bundleBytes: 10 * 1024 * 1024, resourceBytes: 2 * 1024 * 1024 });

type TypeParams = { Params: { type: string } };
type InstanceParams = { Params: { type: string; id: string } };

/** The search parameters of a request: its query string, then (POST `_search`) its form body, in order. */
function searchParamsOf(request: FastifyRequest): [string, string][] {
  const question = request.url.indexOf('?');
  const params = [...new URLSearchParams(question < 0 ? '' : request.url.slice(question + 1))];
  if (typeof request.body === 'string') params.push(...new URLSearchParams(request.body));
  return params;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Answers any error of a FHIR route with an OperationOutcome (logged at error level when it is the server's fault). */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const answer = answerTo(fromHttpError(error));
  if (answer.status >= 500) request.log.error({ err: error }, 'FHIR request failed');
  else request.log.info({ status: answer.status, reason: answer.error.message }, 'FHIR request refused');
  if (answer.error.retryAfterSeconds !== undefined) reply.header('retry-after', String(answer.error.retryAfterSeconds));
  return sendResource(reply, answer.status, answer.outcome);
}

/** Registers the FHIR routes on `app` (in an encapsulated scope under `deps.prefix`). */
export function buildFhirRoutes(app: FastifyInstance, deps: FhirRoutesDeps): void {
  const limits = { ...fhirBodyLimitDefaults, ...deps.limits };
  const prefix = (deps.prefix ?? '').replace(/\/$/, '');
  const baseOf = baseUrlOf(deps.baseUrl);
  const authorize = async (request: FastifyRequest, access: FhirAccess) => deps.authorize?.(request, access);
  const { service, search } = deps;
  if (search) deps.capabilities.extend(addSearchCapabilities);

  app.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(['application/fhir+json', 'application/json'], { parseAs: 'string' }, (_request, body, done) => {
        if (body === '') return done(null, undefined);
        try {
          done(null, JSON.parse(body as string));
        } catch {
          done(new FhirError('invalid', 'The body is not valid JSON'), undefined);
        }
      });
      scope.setErrorHandler((error, request, reply) => sendError(request, reply, error));

      scope.get('/metadata', async (request, reply) => sendResource(reply, 200, deps.capabilities.build(baseOf(request))));

      scope.post('/', { bodyLimit: limits.bundleBytes }, async (request, reply) => {
        await authorize(request, 'write');
        // Response entries carry resources only when asked for explicitly: transaction responses can be large.
        const includeResources = /return=representation/i.test(header(request, 'prefer') ?? '');
        const bundle = await service.bundle(request.body, { includeResources });
        return sendResource(reply, 200, bundle);
      });

      scope.post<TypeParams>('/:type', { bodyLimit: limits.resourceBytes }, async (request, reply) => {
        await authorize(request, 'write');
        const result = await service.create(request.params.type, request.body, header(request, 'if-none-exist'));
        return sendWrite(request, reply, baseOf(request), result);
      });

      const runSearch = async (request: FastifyRequest<TypeParams>, reply: FastifyReply) => {
        await authorize(request, 'read');
        checkUrlType(request.params.type);
        if (!search) throw new FhirError('not-supported', `Search (GET ${request.params.type}) is not supported; read by id`);
        const strict = /handling\s*=\s*strict/i.test(header(request, 'prefer') ?? '');
        return sendResource(reply, 200, await search.search(request.params.type, searchParamsOf(request), { baseUrl: baseOf(request), strict }));
      };
      scope.get<TypeParams>('/:type', runSearch);
      // Form bodies only here: a create or update with one stays an unsupported media type.
      scope.register(async (forms) => {
        forms.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));
        forms.post<TypeParams>('/:type/_search', runSearch);
      });

      const queryOf = (request: FastifyRequest) => new URLSearchParams(request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '');

      scope.get('/_history', async (request, reply) => {
        await authorize(request, 'read');
        return sendResource(reply, 200, await service.history(baseOf(request), {}, queryOf(request)));
      });

      scope.get<TypeParams>('/:type/_history', async (request, reply) => {
        await authorize(request, 'read');
        return sendResource(reply, 200, await service.history(baseOf(request), { type: request.params.type }, queryOf(request)));
      });

      scope.get<InstanceParams>('/:type/:id/_history', async (request, reply) => {
        await authorize(request, 'read');
        return sendResource(reply, 200, await service.history(baseOf(request), { type: request.params.type, id: request.params.id }, queryOf(request)));
      });

      scope.get<{ Params: { type: string; id: string; vid: string } }>('/:type/:id/_history/:vid', async (request, reply) => {
        await authorize(request, 'read');
        const result = await service.vread(request.params.type, request.params.id, request.params.vid);
        versionHeaders(reply, result.versionId, result.lastUpdated);
        return sendResource(reply, 200, result.resource);
      });

      scope.get<InstanceParams>('/:type/:id', async (request, reply) => {
        await authorize(request, 'read');
        const result = await service.read(request.params.type, request.params.id);
        versionHeaders(reply, result.versionId, result.lastUpdated);
        return sendResource(reply, 200, result.resource);
      });

      scope.put<InstanceParams>('/:type/:id', { bodyLimit: limits.resourceBytes }, async (request, reply) => {
        await authorize(request, 'write');
        const ifMatch = parseIfMatch(header(request, 'if-match'));
        const result = await service.update(request.params.type, request.params.id, request.body, ifMatch);
        return sendWrite(request, reply, baseOf(request), result);
      });

      scope.delete<InstanceParams>('/:type/:id', async (request, reply) => {
        await authorize(request, 'write');
        const ifMatch = parseIfMatch(header(request, 'if-match'));
        const result = await service.delete(request.params.type, request.params.id, ifMatch);
        if (result.versionId !== undefined && result.lastUpdated) versionHeaders(reply, result.versionId, result.lastUpdated);
        return reply.code(204).send();
      });
    },
    { prefix },
  );
}

/** A not-found handler answering unknown paths with an OperationOutcome (for apps that serve FHIR at the root). */
export function fhirNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply
    .code(404)
    .type(fhirJson)
    .send(JSON.stringify(answerTo(new FhirError('not-found', `No route for ${request.method} ${request.url.split('?')[0]}`)).outcome));
}
