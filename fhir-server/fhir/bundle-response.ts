/**
 * Entries of `batch-response` and `transaction-response` Bundles.
 */
import { randomUUID } from 'node:crypto';
import { answerTo } from './error-table.ts';
import { formatETag } from './etag.ts';
import type { BundleEntry, FhirBundle } from './types.ts';
import type { ReadResult, WriteResult } from '../store/resource-store.ts';

const statusLines: Record<WriteResult['outcome'], string> = {
  created: '201 Created',
  updated: '200 OK',
  kept: '200 OK',
  deleted: '204 No Content',
  absent: '204 No Content',
};

/** The response entry of a write; the resource is included when `includeResource`. */
export function writeEntry(result: WriteResult, includeResource: boolean): BundleEntry {
  const response: NonNullable<BundleEntry['response']> = { status: statusLines[result.outcome] };
  if (result.versionId !== undefined && result.outcome !== 'deleted') {
    response.location = `${result.resourceType}/${result.id}/_history/${result.versionId}`;
  }
  if (result.versionId !== undefined) response.etag = formatETag(result.versionId);
  if (result.lastUpdated) response.lastModified = result.lastUpdated;
  const entry: BundleEntry = {};
  if (result.outcome !== 'deleted' && result.outcome !== 'absent') entry.fullUrl = `${result.resourceType}/${result.id}`;
  if (includeResource && result.resource) entry.resource = result.resource;
  entry.response = response;
  return entry;
}

/** The response entry of a read of a live resource. */
export function readEntry(result: ReadResult & { deleted: false }): BundleEntry {
  return {
    fullUrl: `${result.resourceType}/${result.id}`,
    resource: result.resource,
    response: { status: '200 OK', etag: formatETag(result.versionId), lastModified: result.lastUpdated },
  };
}

/** The response entry of a failed batch entry. */
export function errorEntry(error: unknown): BundleEntry {
  const answer = answerTo(error);
  return { response: { status: answer.statusLine, outcome: answer.outcome } };
}

/** A response Bundle. */
export function responseBundle(type: 'batch-response' | 'transaction-response', entry: BundleEntry[]): FhirBundle {
  return { resourceType: 'Bundle', id: randomUUID(), type, entry };
}

