/**
 * Test support: the fhir-server app over a store, driven with `app.inject()`.
 */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { CapabilityRegistry } from '../../../fhir-server/fhir/capabilities.ts';
import { FhirService } from '../../../fhir-server/fhir/fhir-service.ts';
import type { FhirServiceOptions } from '../../../fhir-server/fhir/fhir-service.ts';
import { buildApp } from '../../../fhir-server/http/app.ts';
import type { AppDeps } from '../../../fhir-server/http/app.ts';
import { SearchService } from '../../../fhir-server/search/search-service.ts';
import { cosmosSearchSource } from '../../../fhir-server/search/search-source.ts';
import { CosmosResourceStore } from '../../../fhir-server/store/cosmos-resource-store.ts';
import type { ResourceStore } from '../../../fhir-server/store/resource-store.ts';

/** Builds the app over `store` (with search when it is a Cosmos store). */
export async function appOver(store: ResourceStore, deps: Partial<AppDeps> & { serviceOptions?: FhirServiceOptions } = {}): Promise<FastifyInstance> {
  const app = buildApp({
    service: new FhirService(store, deps.serviceOptions),
    capabilities: deps.capabilities ?? new CapabilityRegistry(),
    ...(store instanceof CosmosResourceStore ? { search: new SearchService(cosmosSearchSource(store.container)) } : {}),
    baseUrl: 'https://fhir.test',
    ...deps,
  });
  await app.ready();
  return app;
}

/** Sends FHIR JSON (an object is serialised; a string is sent as is). */
export function send(app: FastifyInstance, method: InjectOptions['method'], url: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const options: InjectOptions = { method, url, headers: { ...headers } };
  if (body !== undefined) {
    options.payload = typeof body === 'string' ? body : JSON.stringify(body);
    options.headers = { 'content-type': 'application/fhir+json', ...headers };
  }
  return app.inject(options);
}

/** The issue code of an OperationOutcome response. */
export function issueCode(response: LightMyRequestResponse): string | undefined {
  const body = response.json() as { resourceType?: string; issue?: { code?: string }[] };
  return body.resourceType === 'OperationOutcome' ? body.issue?.[0]?.code : undefined;
}
