/**
 * The boundary between the export front doors (REST `$export` facade, gRPC
 * ExportService) and the export engine (job queue, workers, NDJSON writer).
 * The front doors parse and validate a kick-off into an `ExportRequest`; the
 * engine runs it. Neither side knows how the other is built.
 */
import type { Readable } from 'node:stream';

/** Scope of an export. */
export type ExportLevel = 'system' | 'patient' | 'group';

/**
 * Where files go. A client-supplied SAS URL is never held here: only the Key Vault
 * secret that holds it, and the container's URL without any query (not a secret).
 */
export type ExportDestination =
  | { kind: 'default'; container: string }
  | { kind: 'client'; secretName: string; containerUrl?: string };

/** A validated kick-off request. */
export interface ExportRequest {
  /** System, Patient or Group export. */
  level: ExportLevel;
  /** Group id for a Group export. */
  groupId?: string;
  /** Resource types to export; empty means every type the level covers. */
  types: string[];
  /** `_since` (ISO instant, exclusive: versions written after it, as the IG says). */
  since?: string;
  /** `_until` (ISO instant, inclusive): the export holds the state at min(_until, transactionTime). */
  until?: string;
  /** `_typeFilter` queries, e.g. "Observation?status=final". */
  typeFilters: string[];
  /** `_elements`. */
  elements: string[];
  /** `patient` references ("Patient/123"). */
  patients: string[];
  /** `includeAssociatedData` values. */
  includeAssociatedData: string[];
  /** Always "application/fhir+ndjson" after normalisation. */
  outputFormat: 'application/fhir+ndjson';
  /** `Prefer: handling=`. */
  handling: 'strict' | 'lenient';
  /** Notes for the manifest's error files (lenient handling of unsupported parameters or types). */
  notes: string[];
  /** Destination. */
  destination: ExportDestination;
  /** The kick-off URL as the client sent it (manifest `request`). */
  requestUrl: string;
}

/** Who asks: jobs are visible only to the principal that started them. */
export interface ExportCaller {
  /** Stable id of the client (token `oid`/`sub`/`client_id`). */
  principal: string;
  /** Correlation id for logs. */
  correlationId?: string;
  /** Whether the caller's token may read resources of a type, when the token limits it by type (SMART scopes); absent: every type. */
  mayRead?: (resourceType: string) => boolean;
}

/** State of a job as the front doors see it. */
export type ExportJobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** One file of a manifest. */
export interface ExportFileView {
  /** Resource type (or "OperationOutcome" for error files). */
  type: string;
  /** File name within the job, e.g. "Patient-1.ndjson". */
  fileName: string;
  /** Number of resources (lines). */
  count: number;
  /** Size in bytes. */
  sizeBytes: number;
  /** Where the client reads the file itself (client destinations): the blob URL in its own container, with no query. */
  url?: string;
}

/** A job as the front doors see it. */
export interface ExportJobView {
  /** Job id (URL-safe). */
  id: string;
  /** State. */
  status: ExportJobStatus;
  /** The request. */
  request: ExportRequest;
  /** ISO transaction time: nothing changed after it is exported. */
  transactionTime: string;
  /** ISO times. */
  createTime: string;
  endTime?: string;
  /** When the output may be deleted (ISO). */
  expireTime?: string;
  /** Progress. */
  progress: { exported: number; total: number };
  /** Output files (completed). */
  output: ExportFileView[];
  /** OperationOutcome files. */
  errors: ExportFileView[];
  /** Deleted-resource Bundle files (when `_since` was given). */
  deleted: ExportFileView[];
  /** What the job waits for while it cannot progress (a storage token, its destination, a retry): the longest wait of its items. */
  waiting?: { cause: string; since: string };
  /** Why it failed (status failed): OperationOutcome issue code, message (never a secret), HTTP status. */
  failure?: { code: string; message: string; httpStatus: number };
}

/** Why the engine refused an operation. */
export type ExportErrorKind = 'too-many-jobs' | 'not-found' | 'invalid' | 'unavailable';

/** The engine's one error type; `retryAfterSeconds` for too-many-jobs / unavailable. */
export class ExportError extends Error {
  override readonly name = 'ExportError';
  /** Creates an error of `kind`. */
  constructor(
    readonly kind: ExportErrorKind,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The export engine, as the front doors use it. */
export interface ExportJobs {
  /** Queues a job; `too-many-jobs` when the instance runs as many as allowed. */
  start(request: ExportRequest, caller: ExportCaller): Promise<ExportJobView>;
  /** A job of this caller, or undefined (unknown, another caller's, or cancelled). */
  get(id: string, caller: ExportCaller): Promise<ExportJobView | undefined>;
  /** Cancels a job of this caller; undefined when there is none. */
  cancel(id: string, caller: ExportCaller): Promise<ExportJobView | undefined>;
  /** Streams one output file of a completed job of this caller; undefined when there is none. */
  openFile(id: string, fileName: string, caller: ExportCaller): Promise<{ stream: Readable; sizeBytes: number } | undefined>;
  /** Short-lived read URL (user delegation SAS) for a file, when configured; else undefined. */
  fileSasUrl?(id: string, fileName: string, caller: ExportCaller): Promise<string | undefined>;
}
