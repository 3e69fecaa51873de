/**
 * `JobRecord`: one export job as stored in the account's Cosmos database
 * (container `jobs`, partition key `/id`). The record holds the request (with a
 * Key Vault secret name for a client destination, never a URL), the owner, the
 * state, and its work items with their leases and checkpoints. Every change is
 * a replace guarded by the record's etag.
 */
import type { ExportJobStatus, ExportRequest } from '../ports.ts';
import type { BucketRange } from '../../store/layout.ts';
import type { ExportPosition } from '../../store/resource-store.ts';
import type { ItemWait } from './waits.ts';

/** A file listed in the manifest: committed, never half-written. */
export interface FileRecord {
  /** Resource type of the lines ("OperationOutcome" for error files). */
  type: string;
  /** Name within the job, e.g. "Patient-1.ndjson"; the blob is `<jobId>/<fileName>`. */
  fileName: string;
  /** Lines. */
  count: number;
  /** Bytes. */
  sizeBytes: number;
}

/** Which of an item's output streams: resources, deletions, the OperationOutcomes of resources withheld (docs/validation.md), and the Provenance of its resources (`includeAssociatedData`). */
export type StreamKind = 'resources' | 'deleted' | 'errors' | 'provenance';

/** Durable state of one output stream of an item: its open file as staged so far. */
export interface StreamCheckpoint {
  /** Lines at or before this scan position are in staged blocks or committed files. */
  through?: ExportPosition;
  /** Open file: its name (allocated centrally) and its staged blocks, in order. */
  fileName?: string;
  blockIds: string[];
  /** Bytes and lines in the staged blocks of the open file. */
  bytes: number;
  count: number;
  /** Lines in this stream's committed files and staged blocks together. */
  exported: number;
}

/** A worker's hold on an item. */
export interface Lease {
  /** Worker (instance) id. */
  owner: string;
  /** This lease; a takeover issues a new one, so the old holder's writes fail. */
  leaseId: string;
  /** Last heartbeat (epoch ms). */
  heartbeatMs: number;
}

/** What a work item exports: the resources as of the job's instant (default), their earlier versions, or the resources deleted by then. */
export type WorkItemKind = 'history' | 'deleted-resources';

/** A unit of work: one resource type, optionally a bucket range or a slice of the patient list. */
export interface WorkItem {
  /** Position in `items`. */
  index: number;
  /** Resource type. */
  resourceType: string;
  /** What the item exports; absent = the resources as of the job's instant (with deletions when `_since` is given). */
  kind?: WorkItemKind;
  /** A range of the type's buckets (store layout); absent = all. */
  buckets?: BucketRange;
  /** Index of the patient slice (`JobRecord.scope.compartments`) this item covers. */
  compartmentChunk?: number;
  /** State. */
  status: 'pending' | 'leased' | 'done';
  /** Resources the item is expected to export (store count at planning). */
  total: number;
  /** The current lease, while leased. */
  lease?: Lease;
  /** Not to be claimed before (epoch ms): backoff after a failure. */
  notBeforeMs?: number;
  /** What the item waits for (a token, its destination, a retry), while it cannot progress. */
  waiting?: ItemWait;
  /** Durable progress per stream (`errors` and `provenance` are absent in records written before items had those streams). */
  checkpoint: { resources: StreamCheckpoint; deleted: StreamCheckpoint; errors?: StreamCheckpoint; provenance?: StreamCheckpoint };
}

/** What a Patient or Group export is limited to. */
export interface ExportScope {
  /** Patient compartments (`Patient/<id>`), in slices of `chunkSize`; absent = any patient. */
  compartments?: string[];
  /** Slice size of `compartments`. */
  chunkSize?: number;
  /** True when resources must be in some Patient compartment (Patient/Group exports). */
  patientCompartmentOnly: boolean;
}

/** Why a job failed: OperationOutcome issue code, message (never a secret), status to report. */
export interface JobFailure {
  code: string;
  message: string;
  httpStatus: number;
}

/** The stored job. */
export interface JobRecord {
  /** Job id (URL-safe). */
  id: string;
  /** Document kind (the container holds nothing else today). */
  docType: 'export-job';
  /** State. */
  status: ExportJobStatus;
  /** The validated request. */
  request: ExportRequest;
  /** Who may see it. */
  owner: { principal: string };
  /** The kick-off's correlation id (not a secret): worker log lines and routing calls for the job carry it. */
  correlationId?: string;
  /** ISO times. */
  createTime: string;
  endTime?: string;
  /** Kick-off instant: the export holds the state of the store at this instant (versions written after it are not exported). */
  transactionTime: string;
  transactionTimeMs: number;
  /** Lease takeovers and retried failures so far. */
  restartCount: number;
  /** Set once the work items exist. */
  planned: boolean;
  /** Patient limits, set with the plan. */
  scope?: ExportScope;
  /** Work items. */
  items: WorkItem[];
  /** Next file sequence number per file prefix ("Patient", "Patient-deleted"). */
  nextFileSeq: Record<string, number>;
  /** Committed files. */
  output: FileRecord[];
  deleted: FileRecord[];
  errors: FileRecord[];
  /** Notes the engine adds for the error file (besides `request.notes`). */
  notes: string[];
  /** Why it failed. */
  failure?: JobFailure;
  /** True once a client destination's secret has been deleted (or there was none). */
  destinationReleased: boolean;
  /** Cosmos etag. */
  _etag?: string;
}

/** True for a status a job never leaves. */
export function isTerminal(status: ExportJobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** Orders scan positions as the store does: by lastUpdatedMs, then id. */
export function comparePositions(a: ExportPosition, b: ExportPosition): number {
  if (a.lastUpdatedMs !== b.lastUpdatedMs) return a.lastUpdatedMs < b.lastUpdatedMs ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** An empty stream checkpoint. */
export function emptyStream(): StreamCheckpoint {
  return { blockIds: [], bytes: 0, count: 0, exported: 0 };
}

/** The blob name of a job's file. */
export function blobNameOf(jobId: string, fileName: string): string {
  return `${jobId}/${fileName}`;
}
