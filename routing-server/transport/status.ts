/** The one table from domain errors to gRPC status codes. */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { RoutingError, type RoutingErrorKind } from '../domain/errors.ts';

/** Domain error kind → gRPC status, with why each row exists. */
export const statusOfKind: Readonly<Record<RoutingErrorKind, status>> = Object.freeze({
  // No, unknown, expired or revoked refresh token / admin token: the caller must re-authenticate.
  unauthenticated: status.UNAUTHENTICATED,
  // The request itself is wrong (bad resource URI, bad field): retrying won't help.
  'invalid-argument': status.INVALID_ARGUMENT,
  // Authenticated, but not allowed: other account's resource, disabled account, missing admin role.
  'permission-denied': status.PERMISSION_DENIED,
  // Admin reads/updates of an account that does not exist.
  'not-found': status.NOT_FOUND,
  // Admin creates an account whose name is taken.
  'already-exists': status.ALREADY_EXISTS,
  // Optimistic concurrency lost: read again and retry the change.
  'stale-version': status.ABORTED,
  // Entra ID rejected the identity (AADSTS code in the message): fix the identity, not the call.
  'identity-rejected': status.FAILED_PRECONDITION,
  // The identity's secret is missing, unreadable or malformed in Key Vault.
  'credential-unavailable': status.FAILED_PRECONDITION,
  // Cosmos, Key Vault or Entra ID is down or throttling: retry with backoff.
  'dependency-unavailable': status.UNAVAILABLE,
  // This caller's address presented too many refresh tokens that do not authenticate: wait `retry-after-ms`.
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  // A bug: the message is generic, the details are in the log.
  internal: status.INTERNAL,
});

/** Converts any thrown value into a grpc-js ServiceError; unknown errors become INTERNAL without details. */
export function toServiceError(err: unknown): ServiceError {
  const metadata = new Metadata();
  if (err instanceof RoutingError) {
    if (err.retryAfterMs !== undefined) metadata.set('retry-after-ms', String(err.retryAfterMs));
    return Object.assign(new Error(err.message), { code: statusOfKind[err.kind], details: err.message, metadata });
  }
  return Object.assign(new Error('internal error'), { code: status.INTERNAL, details: 'internal error', metadata });
}
