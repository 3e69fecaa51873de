/** Domain errors of the routing server; transport/status.ts maps each kind to a gRPC status. */

/** What went wrong, independent of the transport. */
export type RoutingErrorKind =
  | 'unauthenticated'
  | 'invalid-argument'
  | 'permission-denied'
  | 'not-found'
  | 'already-exists'
  | 'stale-version'
  | 'identity-rejected'
  | 'credential-unavailable'
  | 'dependency-unavailable'
  | 'resource-exhausted'
  | 'internal';

/** The one error type domain code throws. Messages are for callers: never a secret or token. */
export class RoutingError extends Error {
  override readonly name = 'RoutingError';
  /** The kind of failure. */
  readonly kind: RoutingErrorKind;
  /** For retryable kinds, how long the caller should wait, when known. */
  readonly retryAfterMs: number | undefined;

  /** Creates an error of `kind` with a caller-safe message. */
  constructor(kind: RoutingErrorKind, message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True when `err` is a RoutingError (optionally of one of `kinds`). */
export function isRoutingError(err: unknown, ...kinds: RoutingErrorKind[]): err is RoutingError {
  return err instanceof RoutingError && (kinds.length === 0 || kinds.includes(err.kind));
}
