/**
 * The one table from the engine's `ExportError` kinds to the FHIR error kinds
 * both doors answer with (fhir/error-table.ts gives the HTTP status and
 * OperationOutcome code; grpc-status.ts the gRPC status).
 */
import { FhirError } from '../../fhir/errors.ts';
import type { FhirErrorKind } from '../../fhir/errors.ts';
import { ExportError } from '../ports.ts';
import type { ExportErrorKind } from '../ports.ts';

/** Engine error kind -> FHIR error kind, with why each row exists. */
export const exportErrorKinds: Readonly<Record<ExportErrorKind, FhirErrorKind>> = Object.freeze({
  // The instance runs as many jobs as allowed: 429 + Retry-After (IG kick-off rate limiting).
  'too-many-jobs': 'throttled',
  // No such job for this caller (unknown, another caller's, cancelled): 404 (IG: after DELETE, polls get 404).
  'not-found': 'not-found',
  // The engine found the request unworkable (e.g. a Group that does not exist): the client must change it.
  invalid: 'invalid',
  // The job store or another dependency is down: 503 + Retry-After, retrying may work.
  unavailable: 'unavailable',
});

/** `error` as a FhirError when it is an ExportError (Retry-After defaulting to `retryAfterSeconds` when throttled); others unchanged. */
export function fromExportError(error: unknown, retryAfterSeconds?: number): unknown {
  if (!(error instanceof ExportError)) return error;
  const kind = exportErrorKinds[error.kind];
  const retry = error.retryAfterSeconds ?? (kind === 'throttled' ? retryAfterSeconds : undefined);
  return new FhirError(kind, error.message, { retryAfterSeconds: retry, cause: error });
}

// Job ids and file names are URL path segments: a conservative alphabet, bounded length.
const jobIdPattern = /^[A-Za-z0-9_-]{1,128}$/;
const fileNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** The not-found answer for a job id (unknown, malformed, another caller's or cancelled). */
export function jobNotFound(id: string): FhirError {
  return new FhirError('not-found', `No export job ${jobIdPattern.test(id) ? id : '(malformed id)'}`);
}

/** The not-found answer for a file (no such job, file, or not this caller's). */
export function fileNotFound(id: string, fileName: string): FhirError {
  return new FhirError('not-found', `No file ${isFileName(fileName) ? fileName : '(malformed name)'} in export job ${jobIdPattern.test(id) ? id : '(malformed id)'}`);
}

/** True when `id` can be a job id. */
export function isJobId(id: string): boolean {
  return jobIdPattern.test(id);
}

/** True when `name` can be an output file name (no separators, no dot segments). */
export function isFileName(name: string): boolean {
  return fileNamePattern.test(name) && !name.includes('..');
}
