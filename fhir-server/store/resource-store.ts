/**
 * The port through which the FHIR service (and the export) reads and writes
 * resources. Failures are `FhirError`s: `conflict` (create of an existing id),
 * `precondition-failed` (If-Match did not hold), `throttled`, `unavailable`,
 * `internal`; transaction failures carry the `index` of the failing operation.
 */
import type { FhirResource } from '../fhir/types.ts';

/** A resource body that has its id. */
export type IdentifiedResource = FhirResource & { id: string };

/** Version facts of a stored resource. */
export interface VersionInfo {
  /** Resource type. */
  resourceType: string;
  /** Logical id. */
  id: string;
  /** Version number (1, 2, ...); `meta.versionId` is its string form. */
  versionId: number;
  /** When this version was written (ISO 8601, UTC, milliseconds). */
  lastUpdated: string;
  /** The same instant in epoch milliseconds. */
  lastUpdatedMs: number;
}

/** The current state of a resource: a live version or a deletion. */
export type ReadResult = (VersionInfo & { deleted: false; resource: FhirResource }) | (VersionInfo & { deleted: true });

/** One write, alone or as part of a transaction. */
export type WriteOp =
  /** Store a new resource under `resource.id`; if it exists: `fail` (409, default) or `keep` the existing one. */
  | { op: 'create'; resource: IdentifiedResource; ifExists?: 'fail' | 'keep' }
  /** Store a new version (or create it: update-as-create), optionally only if the current version is `ifMatch`. */
  | { op: 'update'; resource: IdentifiedResource; ifMatch?: number }
  /** Delete (keeps a tombstone), optionally only if the current version is `ifMatch`. */
  | { op: 'delete'; resourceType: string; id: string; ifMatch?: number };

/** What a write did. */
export type WriteOutcome = 'created' | 'updated' | 'kept' | 'deleted' | 'absent';

/** Result of one write. `absent`: a delete of something not there (nothing written, no version). */
export interface WriteResult extends Partial<Pick<VersionInfo, 'versionId' | 'lastUpdated' | 'lastUpdatedMs'>> {
  /** What happened. */
  outcome: WriteOutcome;
  /** Resource type. */
  resourceType: string;
  /** Logical id. */
  id: string;
  /** The resource as now stored (created, updated, kept); absent for deletes. */
  resource?: FhirResource;
}

/** Keyset position in an export scan: resume strictly after this (lastUpdatedMs, id). */
export interface ExportPosition {
  /** `lastUpdatedMs` of the last item returned. */
  lastUpdatedMs: number;
  /** `id` of the last item returned. */
  id: string;
}

/** Which resources of one type an export reads. */
export interface ExportFilter {
  /** Resource type (required: scans are per type). */
  resourceType: string;
  /** Only these buckets (0..15) of the type; default all. */
  buckets?: number[];
  /** Only versions written at or after this instant (epoch ms, inclusive). */
  sinceMs?: number;
  /** Only versions written before this instant (epoch ms, exclusive). */
  untilMs?: number;
  /** Only resources in at least one of these Patient compartments (`Patient/<id>`). */
  compartments?: string[];
  /** Include deletions (tombstones); default false. */
  includeDeleted?: boolean;
}

/** A page request of an export scan, ordered by (lastUpdatedMs, id). */
export interface ExportQuery extends ExportFilter {
  /** Resume after this position (from the previous page, possibly saved by another process). */
  continuation?: ExportPosition;
  /** Maximum items in the page. */
  pageSize: number;
}

/** One item of an export page. */
export interface ExportItem {
  /** Logical id. */
  id: string;
  /** Version number. */
  versionId: number;
  /** ISO instant of the version. */
  lastUpdated: string;
  /** Epoch ms of the version. */
  lastUpdatedMs: number;
  /** True for a deletion (no `json`). */
  deleted: boolean;
  /** The resource as JSON text, byte for byte what GET returns. */
  json?: string;
}

/** One page of an export scan. */
export interface ExportPage {
  /** Items in (lastUpdatedMs, id) order. */
  items: ExportItem[];
  /** JSON text of the live resources among `items`, in order (NDJSON lines). */
  resources: string[];
  /** Where the next page starts; undefined when this page was the last. */
  continuation?: ExportPosition;
}

/** Options of {@link ResourceStore.bulkUpsert}. */
export interface BulkUpsertOptions {
  /** Writes in flight at once (default 8). */
  concurrency?: number;
  /** Called after each completed chunk with the running count of resources done. */
  onProgress?: (done: number) => void;
}

/** Result of {@link ResourceStore.bulkUpsert}. */
export interface BulkUpsertResult {
  /** New resources. */
  created: number;
  /** Existing resources that got a new version. */
  updated: number;
  /** Resources not written, with why. */
  failed: { index: number; error: Error }[];
}

/** Result of {@link ResourceStore.recoverTransactions}. */
export interface RecoveryReport {
  /** Journals found unfinished and rolled back. */
  rolledBack: number;
  /** Journals still within their deadline, left alone. */
  inProgress: number;
  /** Resources a rollback left as they were because a later write had replaced the transaction's version. */
  skipped: number;
}

/** Storage of FHIR resources (current version per resource, tombstones for deletions). */
export interface ResourceStore {
  /** Creates `resource` under its id. */
  create(resource: IdentifiedResource, options?: { ifExists?: 'fail' | 'keep' }): Promise<WriteResult>;
  /** The current state of `type/id`; undefined if it never existed. */
  read(resourceType: string, id: string): Promise<ReadResult | undefined>;
  /** Stores a new version (update-as-create allowed), optionally only if the current version is `ifMatch`. */
  update(resource: IdentifiedResource, options?: { ifMatch?: number }): Promise<WriteResult>;
  /** Deletes (keeping a tombstone), optionally only if the current version is `ifMatch`. */
  delete(resourceType: string, id: string, options?: { ifMatch?: number }): Promise<WriteResult>;
  /** Applies every op or none; a failure names the failing op by `FhirError.index`. */
  transaction(ops: WriteOp[]): Promise<WriteResult[]>;
  /** Rolls back transactions left unfinished (by a crash) whose deadline has passed (`now` defaults to the clock). */
  recoverTransactions(options?: { now?: number }): Promise<RecoveryReport>;
  /** Loads many resources fast (create, or a new version when the id exists), with bounded concurrency. */
  bulkUpsert(resources: IdentifiedResource[], options?: BulkUpsertOptions): Promise<BulkUpsertResult>;
  /** One page of the resources of a type, resumable exactly from `continuation`. */
  queryForExport(query: ExportQuery): Promise<ExportPage>;
  /** How many resources an export with `filter` would read. */
  count(filter: ExportFilter): Promise<number>;
  /** Every resource type ever written, sorted. */
  listResourceTypes(): Promise<string[]>;
  /** The member references (`Type/id`) of a live Group; undefined when there is no such Group. */
  getGroupMembers(groupId: string): Promise<string[] | undefined>;
  /** Ids of live resources of `resourceType` with an identifier (`system` optional) equal to `value`. */
  findByIdentifier(resourceType: string, system: string | undefined, value: string): Promise<string[]>;
  /** The type of each live resource among `ids` (any type), for resolving `urn:uuid:` references. */
  findTypesOfIds(ids: string[]): Promise<Map<string, string>>;
}
