/**
 * The port through which the FHIR service (and the export) reads and writes
 * resources. Failures are `FhirError`s: `conflict` (create of an existing id),
 * `precondition-failed` (If-Match did not hold), `throttled`, `unavailable`,
 * `internal`; transaction failures carry the `index` of the failing operation.
 */
import type { JSONValue } from '@azure/cosmos';
import type { FhirResource } from '../fhir/types.ts';
import type { BucketRange } from './layout.ts';

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

/** Which versions an export scan reads. */
export type ExportVersions =
  /** The version of each resource that was current at `asOfMs` (live only, unless `includeDeleted`). */
  | 'state'
  /** Live versions that a newer version had replaced by `asOfMs` (`includeAssociatedData=_history`). */
  | 'history'
  /** Resources deleted as of `asOfMs`: their deletions, each carrying the version it deleted (`_deleted`). */
  | 'deleted-resources';

/** Which resources of one type an export reads. */
export interface ExportFilter {
  /** Resource type (required: scans are per type). */
  resourceType: string;
  /** Only this range of the type's buckets (see layout.ts); default all. */
  buckets?: BucketRange;
  /** The instant whose state is read (epoch ms, inclusive); default: now (the current versions). */
  asOfMs?: number;
  /** Only versions written after this instant (epoch ms, exclusive: `_since`). */
  afterMs?: number;
  /** Which versions (default `state`). */
  versions?: ExportVersions;
  /** Only resources in at least one of these Patient compartments (`Patient/<id>`). */
  compartments?: string[];
  /** With `state`: include deletions (versions that are deletions); default false. */
  includeDeleted?: boolean;
  /** Further clauses over the document alias `c` (a compiled `_typeFilter`), ANDed. */
  where?: { clauses: string[]; parameters: { name: string; value: JSONValue }[] };
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
  /** True for a deletion (no `json`, unless the scan reads `deleted-resources`: then the version it deleted). */
  deleted: boolean;
  /** The resource as JSON text, byte for byte what GET (or vread) returns. */
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

/** One version in a history listing. */
export type HistoryEntry = ReadResult;

/** Which versions a history listing reads, newest first. */
export interface HistoryQuery {
  /** Only this type (type and system level: none). */
  resourceType?: string;
  /** Only this resource (instance level; needs `resourceType`). */
  id?: string;
  /** Only versions written at or after this instant (epoch ms: `_since`). */
  sinceMs?: number;
  /** Only versions current at some point of [first, last] (epoch ms, inclusive: `_at`). */
  at?: { firstMs: number; lastMs: number };
  /** Versions per page. */
  count: number;
  /** Where the previous page ended (from its `next`). */
  after?: HistoryPosition;
}

/** Position in a history listing: continue with versions older than this one. */
export interface HistoryPosition {
  /** `lastUpdatedMs` of the last version returned. */
  lastUpdatedMs: number;
  /** Its type. */
  resourceType: string;
  /** Its id. */
  id: string;
}

/** One page of a history listing. */
export interface HistoryPage {
  /** Versions, newest first. */
  entries: HistoryEntry[];
  /** Where the next page starts; undefined on the last page. */
  next?: HistoryPosition;
}

/** Storage of FHIR resources: every version kept (current one a point read away), deletions as versions. */
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
  /** Version `versionId` of `type/id`; undefined when there is no such version (deleted versions come back `deleted`). */
  readVersion(resourceType: string, id: string, versionId: number): Promise<ReadResult | undefined>;
  /** One page of history (instance, type or system level), newest first. */
  history(query: HistoryQuery): Promise<HistoryPage>;
  /** Resolves once every version written at or before `instantMs` (by any writer) has landed or can no longer land. */
  settled(instantMs: number): Promise<void>;
  /** The instant before which replaced versions may have been purged by the retention policy (0: none ever were). */
  purgedHistoryThrough(): Promise<number>;
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
  /** This process writes no more through the store for now: its writes in flight end, then snapshot readers stop waiting for it. */
  close?(): Promise<void>;
}
