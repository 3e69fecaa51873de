/**
 * The stored documents of resource versions (layout 2, see layout.ts): the
 * current version of a resource under its id, every earlier version (live or
 * deleted) under `<id>@<versionId>`, all in the resource's partition. A version's
 * document is written once as the current one; when a newer version replaces it,
 * a copy with its `endMs` set goes to history in the same atomic batch.
 */
import { groupMembersOf, patientCompartmentsOf } from '../fhir/compartments.ts';
import type { FhirResource } from '../fhir/types.ts';
import { bucketOf, historyDocumentId, layoutVersion, openEnd, partitionKeyOf } from './layout.ts';
import { lastUpdatedSortKey, searchIndexOf } from '../search/search-index.ts';
import type { SearchIndex } from '../search/search-index.ts';
import type { ExportItem, ReadResult, VersionInfo } from './resource-store.ts';

export { bucketOf, partitionKeyOf } from './layout.ts';

/** One version of a resource (live or a deletion) as stored. */
export interface ResourceDocument {
  /** Cosmos id: the resource id for the current version, `<id>@<versionId>` for earlier ones. */
  id: string;
  /** The resource's logical id. */
  rid: string;
  /** Partition key: `<resourceType>|<bucket, 4 digits>`. */
  pk: string;
  /** Resource type. */
  resourceType: string;
  /** fnv1a32(rid) % 4096. */
  bucket: number;
  /** Version number. */
  versionId: number;
  /** ISO instant with milliseconds, UTC: when this version was written. */
  lastUpdated: string;
  /** The same instant in epoch ms. */
  lastUpdatedMs: number;
  /** When the next version replaced this one (epoch ms, exclusive); `openEnd` while current. */
  endMs: number;
  /** True for a deletion (no `resource`). */
  deleted: boolean;
  /** Patient compartments (`Patient/<id>`) the resource is in (a deletion keeps those of the version it deleted). */
  compartments: string[];
  /** The resource's identifiers (system and value only), for conditional references; empty on deletions. */
  identifiers: { system?: string; value: string }[];
  /** Group only: member references (`Type/id`). */
  members?: string[];
  /** Search index of the version (../search/search-index.ts); a deletion keeps that of the version it deleted; absent when indexing is off. */
  idx?: SearchIndex;
  /** The resource exactly as GET serves it (meta.versionId and meta.lastUpdated included); live versions only. */
  resource?: FhirResource;
  /** Deletions only: the version it deleted, as it was (for `_deleted` exports and filters over deletions). */
  deletedResource?: FhirResource;
  /** Layout version of the document. */
  layout: number;
  /** Id of the transaction that wrote this version, when one did (rollback checks it). */
  txId?: string;
  /** Cosmos optimistic-concurrency tag (set by the database). */
  _etag?: string;
}

/** `resource` with server meta set: meta.versionId and meta.lastUpdated replace whatever the client sent. */
export function stampMeta(resource: FhirResource, versionId: number, lastUpdated: string): FhirResource {
  const { resourceType, id, meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...clientMeta } = meta ?? {};
  return { resourceType, id, meta: { versionId: String(versionId), lastUpdated, ...clientMeta }, ...rest };
}

/** `identifier[]` reduced to system and value (entries without a value are left out). */
export function identifiersOf(resource: FhirResource): { system?: string; value: string }[] {
  const list = Array.isArray(resource.identifier) ? (resource.identifier as unknown[]) : [];
  return list.flatMap((item) => {
    const { system, value } = (item ?? {}) as { system?: unknown; value?: unknown };
    if (typeof value !== 'string') return [];
    return typeof system === 'string' ? [{ system, value }] : [{ value }];
  });
}

/** The document of a new current, live version of `resource` (which must have its id). */
export function liveDocument(resource: FhirResource & { id: string }, versionId: number, lastUpdatedMs: number, txId?: string): ResourceDocument {
  const lastUpdated = new Date(lastUpdatedMs).toISOString();
  const stored = stampMeta(resource, versionId, lastUpdated);
  const doc: ResourceDocument = {
    id: resource.id,
    rid: resource.id,
    pk: partitionKeyOf(resource.resourceType, resource.id),
    resourceType: resource.resourceType,
    bucket: bucketOf(resource.id),
    versionId,
    lastUpdated,
    lastUpdatedMs,
    endMs: openEnd,
    deleted: false,
    compartments: patientCompartmentsOf(stored),
    identifiers: identifiersOf(stored),
    resource: stored,
    layout: layoutVersion,
  };
  const members = groupMembersOf(stored);
  if (members) doc.members = members;
  const idx = searchIndexOf(stored);
  if (idx) doc.idx = idx;
  if (txId) doc.txId = txId;
  return doc;
}

/** The deletion replacing the live `current`: no resource, the deleted version kept beside it, compartments kept. */
export function tombstoneDocument(current: ResourceDocument, lastUpdatedMs: number, txId?: string): ResourceDocument {
  const doc: ResourceDocument = {
    id: current.rid,
    rid: current.rid,
    pk: current.pk,
    resourceType: current.resourceType,
    bucket: current.bucket,
    versionId: current.versionId + 1,
    lastUpdated: new Date(lastUpdatedMs).toISOString(),
    lastUpdatedMs,
    endMs: openEnd,
    deleted: true,
    compartments: current.compartments,
    identifiers: [],
    layout: layoutVersion,
  };
  if (current.resource) doc.deletedResource = current.resource;
  if (current.idx) doc.idx = current.idx; // filters over deletions (`_typeFilter` with `_since`) match what was deleted
  if (txId) doc.txId = txId;
  return doc;
}

/** The history copy of the current version `doc`, ended at `endMs` (when its successor was written). */
export function historyCopy(doc: ResourceDocument, endMs: number): ResourceDocument {
  const { _etag, ...rest } = withoutSystemProperties(doc);
  return { ...rest, id: historyDocumentId(doc.rid, doc.versionId), endMs };
}

/** `doc` (a planned new current version) moved to the instant `lastUpdatedMs`: version meta and resource meta follow. */
export function restamp(doc: ResourceDocument, lastUpdatedMs: number): ResourceDocument {
  if (doc.lastUpdatedMs === lastUpdatedMs) return doc;
  const lastUpdated = new Date(lastUpdatedMs).toISOString();
  const out: ResourceDocument = { ...doc, lastUpdated, lastUpdatedMs };
  if (doc.resource) out.resource = stampMeta(doc.resource, doc.versionId, lastUpdated);
  if (doc.idx?.o._lastUpdated !== undefined) out.idx = { ...doc.idx, o: { ...doc.idx.o, _lastUpdated: lastUpdatedSortKey(doc.rid, lastUpdatedMs) } };
  return out;
}

/** The version facts of a document. */
export function versionInfo(doc: ResourceDocument): VersionInfo {
  return { resourceType: doc.resourceType, id: doc.rid, versionId: doc.versionId, lastUpdated: doc.lastUpdated, lastUpdatedMs: doc.lastUpdatedMs };
}

/** The read result a document stands for. */
export function toReadResult(doc: ResourceDocument): ReadResult {
  if (doc.deleted || !doc.resource) return { ...versionInfo(doc), deleted: true };
  return { ...versionInfo(doc), deleted: false, resource: doc.resource };
}

/** The export item a document stands for (`json`: the live resource, or for a deletion the version it deleted when `withDeleted`). */
export function toExportItem(
  doc: Pick<ResourceDocument, 'rid' | 'versionId' | 'lastUpdated' | 'lastUpdatedMs' | 'deleted' | 'resource' | 'deletedResource'>,
  withDeleted = false,
): ExportItem {
  const item: ExportItem = { id: doc.rid, versionId: doc.versionId, lastUpdated: doc.lastUpdated, lastUpdatedMs: doc.lastUpdatedMs, deleted: doc.deleted };
  if (!doc.deleted && doc.resource) item.json = JSON.stringify(doc.resource);
  else if (withDeleted && doc.deletedResource) item.json = JSON.stringify(doc.deletedResource);
  return item;
}

/** A document without the database's system properties (`_etag`, `_rid`, `_ts`, ...). */
export function withoutSystemProperties(doc: ResourceDocument): ResourceDocument {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) if (!key.startsWith('_')) out[key] = value;
  return out as unknown as ResourceDocument;
}
