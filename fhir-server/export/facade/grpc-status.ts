/** The one table from FHIR error kinds to gRPC status codes, and errors as grpc-js ServiceErrors. */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { asFhirError } from '../../fhir/error-table.ts';
import type { FhirErrorKind } from '../../fhir/errors.ts';

/** FHIR error kind -> gRPC status, with why each row exists. */
export const grpcStatusOfKind: Readonly<Record<FhirErrorKind, status>> = Object.freeze({
  // A malformed or unsupported kick-off parameter: the message names it; retrying unchanged won't help.
  invalid: status.INVALID_ARGUMENT,
  'not-supported': status.INVALID_ARGUMENT,
  'too-large': status.INVALID_ARGUMENT,
  'unsupported-media-type': status.INVALID_ARGUMENT,
  // Unknown, another caller's or cancelled job.
  'not-found': status.NOT_FOUND,
  gone: status.NOT_FOUND,
  // The job's state does not allow the operation.
  conflict: status.FAILED_PRECONDITION,
  'precondition-failed': status.FAILED_PRECONDITION,
  // No or bad bearer token.
  unauthenticated: status.UNAUTHENTICATED,
  // Valid token without the export role or scope.
  forbidden: status.PERMISSION_DENIED,
  // As many jobs as allowed already run: retry after `retry-after-ms`.
  throttled: status.RESOURCE_EXHAUSTED,
  // A dependency (job store, Key Vault, DNS) is down: retry with backoff.
  unavailable: status.UNAVAILABLE,
  // A bug: generic message, details in the log.
  internal: status.INTERNAL,
});

/** Any thrown value as a ServiceError (internal errors without details; `retry-after-ms` metadata when known). */
export function toServiceError(error: unknown): ServiceError {
  const fhir = asFhirError(error);
  const code = grpcStatusOfKind[fhir.kind];
  const details = fhir.kind === 'internal' ? 'internal error' : fhir.message;
  const metadata = new Metadata();
  if (fhir.retryAfterSeconds !== undefined) metadata.set('retry-after-ms', String(fhir.retryAfterSeconds * 1000));
  return Object.assign(new Error(details), { code, details, metadata });
}
