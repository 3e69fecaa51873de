/**
 * The Bulk Data export REST routes (HL7 FHIR Bulk Data Access IG v2):
 * kick-off (GET or POST `Parameters`) at `[base]/$export`,
 * `[base]/Patient/$export` and `[base]/Group/[id]/$export`; status polling,
 * manifest and cancel at `[base]/_export/[job]`; file download at
 * `[base]/_export/[job]/files/[name]`. Every route asks `authorize(request,
 * 'export')` first; errors are OperationOutcomes from the one table.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CapabilityRegistry } from '../../fhir/capabilities.ts';
import { FhirError } from '../../fhir/errors.ts';
import { sendResource } from '../../http/fhir-reply.ts';
import { baseUrlOf, type BaseUrlOf } from '../../http/base-url.ts';
import { sendError } from '../../http/fhir-routes.ts';
import type { ExportCaller, ExportJobs } from '../ports.ts';
import { registerExportCapabilities } from './capabilities.ts';
import type { DestinationDeps } from './destination.ts';
import { ExportFrontDoor, type FrontDoorLog } from './front-door.ts';
import { kickoffRoutes } from './rest-kickoff.ts';
import { failureOf, manifestOf, progressText } from './manifest.ts';
import { facadeOptions, type FacadeOptionsInput } from './options.ts';

/** Checks a request for export access; throws (a FhirError or `{ statusCode }`) to refuse it. */
export type ExportAuthorize = (request: FastifyRequest, access: 'export') => void | Promise<void>;

/** What the export routes need. */
export interface ExportRoutesDeps {
  /** The engine. */
  jobs: ExportJobs;
  /** Access check, run first on every route. */
  authorize: ExportAuthorize;
  /** The caller of an authorized request (jobs are visible only to it). */
  callerOf: (request: FastifyRequest) => ExportCaller;
  /** Options over `facadeDefaults`. */
  options?: FacadeOptionsInput;
  /** Client destinations (Key Vault, host checks); without a vault `_destination` is refused. */
  destinations?: DestinationDeps;
  /** Lists the operations here when given. */
  capabilities?: CapabilityRegistry;
  /** Base URL of every link (a fixed URL, or `baseUrlResolver`'s function); never taken from the request's Host header. */
  baseUrl: string | BaseUrlOf;
  /** Path prefix of the FHIR base (default none). */
  prefix?: string;
  /** Kick-off log (default: the app's). */
  logger?: FrontDoorLog;
}

type JobParams = { Params: { id: string } };
type FileParams = { Params: { id: string; file: string } };

/** Registers the routes on `app` in their own scope; returns the front door (shared with the gRPC service if wanted). */
export function registerExportRoutes(app: FastifyInstance, deps: ExportRoutesDeps): ExportFrontDoor {
  const prefix = (deps.prefix ?? '').replace(/\/$/, '');
  const frontDoor = new ExportFrontDoor({ jobs: deps.jobs, options: facadeOptions(deps.options), destinations: deps.destinations, logger: deps.logger ?? app.log });
  const baseOf = baseUrlOf(deps.baseUrl);
  const enter = async (request: FastifyRequest) => {
    await deps.authorize(request, 'export');
    return deps.callerOf(request);
  };
  if (deps.capabilities) registerExportCapabilities(deps.capabilities);

  app.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(['application/fhir+json', 'application/json'], { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_request, body, done) => {
        try {
          done(null, body === '' ? undefined : JSON.parse(body as string));
        } catch {
          done(new FhirError('invalid', 'The body is not valid JSON'), undefined);
        }
      });
      scope.setErrorHandler((error, request, reply) => sendError(request, reply, error));

      kickoffRoutes(scope, { frontDoor, enter, baseOf });

      scope.get<JobParams>('/_export/:id', async (request, reply) => {
        const caller = await enter(request);
        const job = await frontDoor.get(request.params.id, caller);
        if (job.status === 'failed') {
          const { status, outcome } = failureOf(job);
          return sendResource(reply, status, outcome);
        }
        if (job.status !== 'completed') {
          frontDoor.pacePoll(job.id, caller);
          reply.header('x-progress', progressText(job, frontDoor.options.now())).header('retry-after', String(frontDoor.options.statusRetryAfterSeconds));
          return reply.code(202).send();
        }
        const links = await frontDoor.fileLinks(job, caller, baseOf(request));
        if (job.expireTime) reply.header('expires', new Date(job.expireTime).toUTCString());
        return reply.code(200).type('application/json').send(JSON.stringify(manifestOf(job, links)));
      });

      scope.delete<JobParams>('/_export/:id', async (request, reply) => {
        const caller = await enter(request);
        const job = await frontDoor.cancel(request.params.id, caller);
        return sendResource(reply, 202, { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: `Export job ${job.id} cancelled` }] });
      });

      scope.get<FileParams>('/_export/:id/files/:file', async (request, reply) => {
        const caller = await enter(request);
        const opened = await frontDoor.openFile(request.params.id, request.params.file, caller);
        reply.code(200).type('application/fhir+ndjson').header('content-length', String(opened.sizeBytes));
        return reply.send(opened.stream);
      });
    },
    { prefix },
  );
  return frontDoor;
}
