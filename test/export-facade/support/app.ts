/**
 * Test support: the fhir-server app from `buildApp` with the export routes over
 * an in-memory `ExportJobs`, and an authorization hook standing in for the
 * REST auth at its port: `Bearer <principal>` names the caller, `Bearer reader`
 * lacks the export role, no token is unauthenticated.
 */
import type { FastifyInstance, FastifyRequest, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Logger } from 'pino';
import { registerExportRoutes, type ExportRoutesDeps } from '../../../fhir-server/export/facade/rest-routes.ts';
import { CapabilityRegistry } from '../../../fhir-server/fhir/capabilities.ts';
import { FhirError } from '../../../fhir-server/fhir/errors.ts';
import { FhirService } from '../../../fhir-server/fhir/fhir-service.ts';
import { buildApp } from '../../../fhir-server/http/app.ts';
import type { ResourceStore } from '../../../fhir-server/store/resource-store.ts';
import { MemoryExportJobs } from './memory-jobs.ts';

/** The base URL the app is configured with. */
export const base = 'https://fhir.test';

/** A built app, its jobs and the accesses the hook was asked for. */
export interface ExportApp {
  app: FastifyInstance;
  jobs: MemoryExportJobs;
  capabilities: CapabilityRegistry;
  accesses: string[];
}

/** Builds the app (export routes over `jobs`), ready for `inject`. */
export async function exportApp(deps: Partial<ExportRoutesDeps> & { jobs?: MemoryExportJobs; logger?: Logger } = {}): Promise<ExportApp> {
  const jobs = deps.jobs ?? new MemoryExportJobs();
  const capabilities = new CapabilityRegistry();
  // The FHIR routes are not exercised here; the service never touches its store.
  const app = buildApp({ service: new FhirService({} as ResourceStore), capabilities, baseUrl: base, ...(deps.logger ? { logger: deps.logger } : {}) });
  const principals = new WeakMap<FastifyRequest, string>();
  const accesses: string[] = [];
  registerExportRoutes(app, {
    authorize: async (request, access) => {
      accesses.push(access);
      const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
      if (!match) throw new FhirError('unauthenticated', 'A bearer token is required');
      if (match[1] === 'reader') throw new FhirError('forbidden', 'The caller lacks the export role');
      principals.set(request, match[1]!);
    },
    callerOf: (request) => ({ principal: principals.get(request)!, correlationId: request.id }),
    capabilities,
    baseUrl: base,
    ...deps,
    jobs,
  });
  await app.ready();
  return { app, jobs, capabilities, accesses };
}

/** Sends a request as `principal` (`null`: no token) with `Prefer: respond-async` unless headers say otherwise. */
export function call(app: FastifyInstance, method: InjectOptions['method'], url: string, principal: string | null = 'alice', init: { body?: unknown; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { prefer: 'respond-async', accept: 'application/fhir+json', ...(principal ? { authorization: `Bearer ${principal}` } : {}), ...init.headers };
  const options: InjectOptions = { method, url, headers };
  if (init.body !== undefined) {
    options.payload = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/fhir+json';
  }
  return app.inject(options);
}

/** A Parameters body. */
export function parameters(...parts: Record<string, unknown>[]): Record<string, unknown> {
  return { resourceType: 'Parameters', parameter: parts };
}

/** The first issue of an OperationOutcome answer. */
export function issue(response: LightMyRequestResponse): { severity: string; code: string; diagnostics?: string; expression?: string[] } {
  const body = response.json() as { resourceType: string; issue: { severity: string; code: string; diagnostics?: string; expression?: string[] }[] };
  if (body.resourceType !== 'OperationOutcome') throw new Error(`expected an OperationOutcome, got ${response.body.slice(0, 200)}`);
  return body.issue[0]!;
}

/** The job id of a 202 kick-off answer (from `Content-Location`). */
export function jobIdOf(response: LightMyRequestResponse): string {
  const location = String(response.headers['content-location']);
  const match = /^https:\/\/fhir\.test\/_export\/([A-Za-z0-9_-]+)$/.exec(location);
  if (!match) throw new Error(`unexpected Content-Location ${location} (status ${response.statusCode}: ${response.body.slice(0, 300)})`);
  return match[1]!;
}
