/**
 * `RoutingTokenError`: the one error the routing clients throw for a refused or
 * failed call, and the one table saying what a caller does with each gRPC code.
 */
import { status, type ServiceError } from '@grpc/grpc-js';

/** What the client does after a status. */
export type StatusHandling = 'retry' | 'reauthenticate' | 'fail';

/** gRPC status → handling, with why each row exists; codes not listed fail at once. */
export const handlingOfStatus: Readonly<Partial<Record<status, StatusHandling>>> = Object.freeze({
  // The routing server, or Cosmos / Key Vault / Entra ID behind it, is down or backing off; `retry-after-ms` may say how long.
  [status.UNAVAILABLE]: 'retry',
  // One attempt ran out of its per-call deadline; the overall deadline still bounds the retries.
  [status.DEADLINE_EXCEEDED]: 'retry',
  // A proxy or the server is shedding load: the same as unavailable, from the caller's side.
  [status.RESOURCE_EXHAUSTED]: 'retry',
  // The refresh token was refused: another instance may have rotated it, so read the stored one again (once).
  [status.UNAUTHENTICATED]: 'reauthenticate',
  // The resource URI is malformed: the same request can never succeed.
  [status.INVALID_ARGUMENT]: 'fail',
  // The account may not get tokens for this resource, or is disabled: an operator must change the account.
  [status.PERMISSION_DENIED]: 'fail',
  // The identity's credential is missing or was rejected by Entra ID: an operator must fix the identity.
  [status.FAILED_PRECONDITION]: 'fail',
});

/** A refused or failed call to the routing server. Carries the code and the server's message, never a token. */
export class RoutingTokenError extends Error {
  override readonly name = 'RoutingTokenError';
  /** The method called, e.g. `TokenService/GetToken`. */
  readonly rpc: string;
  /** The gRPC status code. */
  readonly code: status;
  /** The status name, e.g. `PERMISSION_DENIED`. */
  readonly codeName: string;
  /** The routing server's message (or grpc-js's, for transport failures). */
  readonly details: string;
  /** How long the server asked callers to wait, when it said. */
  readonly retryAfterMs: number | undefined;
  /** Attempts made before giving up. */
  readonly attempts: number;

  /** Creates the error for `rpc` failing with `code` / `details`. */
  constructor(rpc: string, code: status, details: string, options: { retryAfterMs?: number; attempts?: number } = {}) {
    const codeName = status[code] ?? String(code);
    const attempts = options.attempts ?? 1;
    super(`${rpc} failed: ${codeName}: ${details}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`);
    this.rpc = rpc;
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.retryAfterMs = options.retryAfterMs;
    this.attempts = attempts;
  }

  /** How a caller should treat this error. */
  get handling(): StatusHandling {
    return handlingOfStatus[this.code] ?? 'fail';
  }

  /** The same error, counting `attempts`. */
  withAttempts(attempts: number): RoutingTokenError {
    return new RoutingTokenError(this.rpc, this.code, this.details, { retryAfterMs: this.retryAfterMs, attempts });
  }
}

/** True when `err` looks like a grpc-js ServiceError. */
export function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && typeof (err as ServiceError).code === 'number' && 'metadata' in err;
}

/** Converts a grpc-js ServiceError into a RoutingTokenError, reading the `retry-after-ms` trailer. */
export function fromServiceError(rpc: string, err: ServiceError): RoutingTokenError {
  const raw = err.metadata?.get('retry-after-ms')[0];
  const retryAfterMs = raw === undefined ? undefined : Number(raw);
  return new RoutingTokenError(rpc, err.code, err.details || err.message, {
    retryAfterMs: retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0 ? retryAfterMs : undefined,
  });
}
