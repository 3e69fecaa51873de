/** The kick-off routes: GET and POST at the three `$export` endpoints, answered `202 Accepted` with `Content-Location`. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FhirError } from '../../fhir/errors.ts';
import type { OperationOutcome } from '../../fhir/outcome.ts';
import { sendResource } from '../../http/fhir-reply.ts';
import type { ExportCaller, ExportJobView, ExportLevel } from '../ports.ts';
import type { ExportFrontDoor } from './front-door.ts';
import { parametersFromBody, parametersFromQuery, type KickoffInput } from './kickoff-input.ts';

/** What the kick-off routes need from the route set. */
export interface KickoffRouteDeps {
  /** The shared operations. */
  frontDoor: ExportFrontDoor;
  /** Authorizes and names the caller. */
  enter(request: FastifyRequest): Promise<ExportCaller>;
  /** Public base URL of a request. */
  baseOf(request: FastifyRequest): string;
}

type GroupParams = { Params: { id?: string } };

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The 202 body: the job queued, and the request's notes (what lenient handling left out, what has no output). */
function acceptedOutcome(job: ExportJobView): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'information', code: 'informational', diagnostics: `Export job ${job.id} queued` },
      ...job.request.notes.map((note) => ({ severity: 'warning' as const, code: 'not-supported', diagnostics: note })),
    ],
  };
}

/** Registers the six kick-off routes on `scope`. */
export function kickoffRoutes(scope: FastifyInstance, deps: KickoffRouteDeps): void {
  const endpoints: { path: string; level: ExportLevel; operation: (id?: string) => string }[] = [
    { path: '/$export', level: 'system', operation: () => '$export' },
    { path: '/Patient/$export', level: 'patient', operation: () => 'Patient/$export' },
    { path: '/Group/:id/$export', level: 'group', operation: (id) => `Group/${encodeURIComponent(id ?? '')}/$export` },
  ];
  for (const endpoint of endpoints) {
    const handler = async (request: FastifyRequest<GroupParams>, reply: FastifyReply) => {
      const caller = await deps.enter(request);
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      const isGet = request.method === 'GET';
      if (!isGet && query !== '') throw new FhirError('invalid', 'A POST kick-off takes its parameters in the Parameters body, not the query string');
      const base = deps.baseOf(request);
      const input: KickoffInput = {
        level: endpoint.level,
        ...(endpoint.level === 'group' ? { groupId: request.params.id } : {}),
        form: isGet ? 'query' : 'body',
        parameters: isGet ? parametersFromQuery(query) : parametersFromBody(request.body),
        accept: header(request, 'accept') ?? '',
        prefer: header(request, 'prefer'),
        requestUrl: `${base}/${endpoint.operation(request.params.id)}${isGet && query ? `?${query}` : ''}`,
      };
      const job = await deps.frontDoor.start(input, caller);
      reply.header('content-location', `${base}/_export/${encodeURIComponent(job.id)}`);
      return sendResource(reply, 202, acceptedOutcome(job));
    };
    // No automatic HEAD route: a HEAD must not start an export.
    scope.get(endpoint.path, { exposeHeadRoute: false }, handler);
    scope.post(endpoint.path, handler);
  }
}
