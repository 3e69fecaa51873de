/**
 * Writing FHIR responses: JSON with the FHIR media type, version headers
 * (`ETag`, `Last-Modified`, `Location`) and the body `Prefer: return=` asks for.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { formatETag } from '../fhir/etag.ts';
import { operationOutcome } from '../fhir/outcome.ts';
import type { FhirResource } from '../fhir/types.ts';
import type { WriteResult } from '../store/resource-store.ts';

/** The media type of every FHIR response. */
export const fhirJson = 'application/fhir+json; charset=utf-8';

/** What `Prefer: return=` asks for (default `representation`). */
export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

/** Reads `Prefer: return=...`. */
export function returnPreference(request: FastifyRequest): ReturnPreference {
  const prefer = request.headers.prefer;
  const match = typeof prefer === 'string' ? /return=(minimal|representation|OperationOutcome)/i.exec(prefer) : null;
  if (!match) return 'representation';
  const value = match[1]!.toLowerCase();
  return value === 'minimal' ? 'minimal' : value === 'operationoutcome' ? 'OperationOutcome' : 'representation';
}

/** Sends `resource` as FHIR JSON with `status`. */
export function sendResource(reply: FastifyReply, status: number, resource: FhirResource): FastifyReply {
  return reply.code(status).type(fhirJson).send(JSON.stringify(resource));
}

/** Sets `ETag` and `Last-Modified` for a version. */
export function versionHeaders(reply: FastifyReply, versionId: number, lastUpdated: string): void {
  reply.header('etag', formatETag(versionId));
  reply.header('last-modified', new Date(lastUpdated).toUTCString());
}

/** Answers a create or update: status, version headers, `Location`, and the body `Prefer` asks for. */
export function sendWrite(request: FastifyRequest, reply: FastifyReply, baseUrl: string, result: WriteResult): FastifyReply {
  const status = result.outcome === 'created' ? 201 : 200;
  if (result.versionId !== undefined && result.lastUpdated) {
    versionHeaders(reply, result.versionId, result.lastUpdated);
    reply.header('location', `${baseUrl}/${result.resourceType}/${result.id}/_history/${result.versionId}`);
  }
  const preference = returnPreference(request);
  if (preference === 'minimal' || !result.resource) return reply.code(status).send();
  if (preference === 'OperationOutcome') {
    const text = `${result.resourceType}/${result.id} ${result.outcome} (version ${result.versionId})`;
    return sendResource(reply, status, { ...operationOutcome('information', 'informational', text) });
  }
  return sendResource(reply, status, result.resource);
}
