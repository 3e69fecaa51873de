/**
 * The stored document of a resource's current version, and how it is laid out
 * for Cosmos: one container partitioned on `/pk` = `<resourceType>|<bucket>`,
 * `bucket` = fnv1a32(id) % 16, so an export can split a type into work items by bucket.
 */
import { groupMembersOf, patientCompartmentsOf } from '../fhir/compartments.ts';
import type { FhirResource } from '../fhir/types.ts';
import { searchIndexOf } from '../search/search-index.ts';
import type { SearchIndex } from '../search/search-index.ts';
import { fnv1a32 } from './fnv1a.ts';
import type { ExportItem, ReadResult, VersionInfo } from './resource-store.ts';

/** Buckets per resource type. */
export const bucketCount = 16;

/** A resource's current version (or tombstone) as stored. */
export interface ResourceDocument {
  /** The FHIR id. */
  id: string;
  /** Partition key: `<resourceType>|<bucket>`. */
  pk: string;
  /** Resource type. */
  resourceType: string;
  /** fnv1a32(id) % 16. */
  bucket: number;
  /** Version number. */
  versionId: number;
  /** ISO instant with milliseconds, UTC. */
  lastUpdated: string;
  /** The same instant in epoch ms (range and keyset queries). */
  lastUpdatedMs: number;
  /** True for a tombstone (no `resource`). */
  deleted: boolean;
  /** Patient compartments (`Patient/<id>`) the resource is in. */
  compartments: string[];
  /** The resource's identifiers (system and value only), for conditional references; empty on tombstones. */
  identifiers: { system?: string; value: string }[];
  /** Group only: member references (`Type/id`). */
  members?: string[];
  /** Search index of the live version (../search/search-index.ts); absent on tombstones and when indexing is off. */
  idx?: SearchIndex;
  /** The resource exactly as GET serves it (meta.versionId and meta.lastUpdated included). */
  resource?: FhirResource;
  /** Id of the transaction that wrote this version, when one did (rollback checks it). */
  txId?: string;
  /** Cosmos optimistic-concurrency tag (set by the database). */
  _etag?: string;
}

/** The bucket of an id. */
export function bucketOf(id: string): number {
  return fnv1a32(id) % bucketCount;
}

/** The partition key of `type/id`. */
export function partitionKeyOf(resourceType: string, id: string): string {
  return `${resourceType}|${bucketOf(id)}`;
}

/** Every partition key of a type (optionally only some buckets). */
export function partitionKeysOf(resourceType: string, buckets?: number[]): string[] {
  const all = buckets ?? Array.from({ length: bucketCount }, (_, i) => i);
  return all.map((bucket) => `${resourceType}|${bucket}`);
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

/** The document of a new live version of `resource` (which must have its id). */
export function liveDocument(resource: FhirResource & { id: string }, versionId: number, lastUpdatedMs: number, txId?: string): ResourceDocument {
  const lastUpdated = new Date(lastUpdatedMs).toISOString();
  const stored = stampMeta(resource, versionId, lastUpdated);
  const doc: ResourceDocument = {
    id: resource.id,
    pk: partitionKeyOf(resource.resourceType, resource.id),
    resourceType: resource.resourceType,
    bucket: bucketOf(resource.id),
    versionId,
    lastUpdated,
    lastUpdatedMs,
    deleted: false,
    compartments: patientCompartmentsOf(stored),
    identifiers: identifiersOf(stored),
    resource: stored,
  };
  const members = groupMembersOf(stored);
  if (members) doc.members = members;
  const idx = searchIndexOf(stored);
  if (idx) doc.idx = idx;
  if (txId) doc.txId = txId;
  return doc;
}

/** The tombstone replacing `current`: no resource, compartments kept so deletions can be listed per patient. */
export function tombstoneDocument(current: ResourceDocument, lastUpdatedMs: number, txId?: string): ResourceDocument {
  const doc: ResourceDocument = {
    id: current.id,
    pk: current.pk,
    resourceType: current.resourceType,
    bucket: current.bucket,
    versionId: current.versionId + 1,
    lastUpdated: new Date(lastUpdatedMs).toISOString(),
    lastUpdatedMs,
    deleted: true,
    compartments: current.compartments,
    identifiers: [],
  };
  if (txId) doc.txId = txId;
  return doc;
}

/** The version facts of a document. */
export function versionInfo(doc: ResourceDocument): VersionInfo {
  return { resourceType: doc.resourceType, id: doc.id, versionId: doc.versionId, lastUpdated: doc.lastUpdated, lastUpdatedMs: doc.lastUpdatedMs };
}

/** The read result a document stands for. */
export function toReadResult(doc: ResourceDocument): ReadResult {
  if (doc.deleted || !doc.resource) return { ...versionInfo(doc), deleted: true };
  return { ...versionInfo(doc), deleted: false, resource: doc.resource };
}

/** The export item a document stands for. */
export function toExportItem(doc: Pick<ResourceDocument, 'id' | 'versionId' | 'lastUpdated' | 'lastUpdatedMs' | 'deleted' | 'resource'>): ExportItem {
  const item: ExportItem = { id: doc.id, versionId: doc.versionId, lastUpdated: doc.lastUpdated, lastUpdatedMs: doc.lastUpdatedMs, deleted: doc.deleted };
  if (!doc.deleted && doc.resource) item.json = JSON.stringify(doc.resource);
  return item;
}

/** A document without the database's system properties (`_etag`, `_rid`, `_ts`, ...). */
export function withoutSystemProperties(doc: ResourceDocument): ResourceDocument {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) if (!key.startsWith('_')) out[key] = value;
  return out as unknown as ResourceDocument;
}
