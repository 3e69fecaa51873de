/**
 * The CLI's one error type and the one table that turns gRPC statuses, HTTP
 * statuses and local failures into a sentence and an exit code.
 */
import { status } from '@grpc/grpc-js';

/** Exit codes of `fhirmesh` (documented in docs/cli.md). */
export const ExitCode = Object.freeze({
  /** Done. */
  ok: 0,
  /** Unexpected failure, a server-side error, or an export job that failed. */
  failed: 1,
  /** Wrong flags or arguments, missing connection settings, unreadable input files. */
  usage: 2,
  /** The server could not be reached, was unavailable, throttled or timed out: try again later. */
  unavailable: 3,
  /** The credentials were missing, unknown, expired, revoked or lack a permission. */
  refused: 4,
  /** The account, job or resource does not exist. */
  notFound: 5,
  /** Conflict: the name is taken, the record changed meanwhile, or a precondition failed. */
  conflict: 6,
  /** The server refused the request as invalid. */
  invalid: 7,
  /** Finished, but some items failed (load errors, a download whose size did not match). */
  partial: 8,
});

/** An exit code value. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is the one sentence shown to the operator. */
export class CliError extends Error {
  /** Exit code of the process. */
  readonly exitCode: ExitCodeValue;

  /** A sentence and its exit code; `cause` is shown only with `--verbose`. */
  constructor(message: string, exitCode: ExitCodeValue = ExitCode.failed, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

// gRPC status → exit code, and a hint for the operator where one helps. One row per status.
const grpcTable: Partial<Record<status, { exit: ExitCodeValue; hint?: string }>> = {
  // The refresh token or admin token is missing, unknown, expired or revoked.
  [status.UNAUTHENTICATED]: { exit: ExitCode.refused, hint: 'check the token (file) or get a new one' },
  // Authenticated but not allowed: missing admin role, resource not allowed, disabled account.
  [status.PERMISSION_DENIED]: { exit: ExitCode.refused },
  [status.NOT_FOUND]: { exit: ExitCode.notFound },
  [status.ALREADY_EXISTS]: { exit: ExitCode.conflict },
  // Optimistic concurrency lost: someone changed the account meanwhile.
  [status.ABORTED]: { exit: ExitCode.conflict, hint: 'it changed meanwhile; run the command again' },
  // The identity was rejected by Entra ID, or its secret is missing in Key Vault.
  [status.FAILED_PRECONDITION]: { exit: ExitCode.conflict },
  [status.INVALID_ARGUMENT]: { exit: ExitCode.invalid },
  [status.OUT_OF_RANGE]: { exit: ExitCode.invalid },
  // Connection refused, TLS failure, a dependency down: retry later.
  [status.UNAVAILABLE]: { exit: ExitCode.unavailable, hint: 'check that it runs at this address and that the CA file trusts its certificate' },
  [status.DEADLINE_EXCEEDED]: { exit: ExitCode.unavailable, hint: 'try again, or raise --timeout' },
  [status.RESOURCE_EXHAUSTED]: { exit: ExitCode.unavailable, hint: 'try again later' },
  [status.UNIMPLEMENTED]: { exit: ExitCode.failed, hint: 'is this the routing server, and of a matching version?' },
};

/** The sentence and exit code for a gRPC status with the server's `details` (about the routing server at `address`). */
export function fromGrpcStatus(code: number, details: string, address: string): CliError {
  const row = grpcTable[code as status] ?? { exit: ExitCode.failed };
  const name = status[code] ?? String(code);
  return new CliError(`the routing server at ${address} answered ${name}: ${oneLine(details)}${row.hint ? ` (${row.hint})` : ''}`, row.exit);
}

/** Exit code for an HTTP status answered by the fhir-server. */
export function exitCodeOfHttp(httpStatus: number): ExitCodeValue {
  if (httpStatus === 401 || httpStatus === 403) return ExitCode.refused;
  if (httpStatus === 404 || httpStatus === 410) return ExitCode.notFound;
  if (httpStatus === 409 || httpStatus === 412) return ExitCode.conflict;
  if (httpStatus === 400 || httpStatus === 422) return ExitCode.invalid;
  if (httpStatus === 429 || httpStatus === 502 || httpStatus === 503 || httpStatus === 504) return ExitCode.unavailable;
  return ExitCode.failed;
}

/** Node network error codes that mean "could not reach the server". */
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** Node TLS error codes that mean "the certificate is not trusted". */
const tlsCodes = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/** Turns anything thrown into a CliError (the sentence for stderr and the exit code). */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && networkCodes.has(code)) return new CliError(`could not reach the server: ${oneLine((error as Error).message)}`, ExitCode.unavailable, error);
  if (typeof code === 'string' && (code.startsWith('ERR_TLS') || tlsCodes.has(code))) {
    return new CliError(`the server's TLS certificate is not trusted (give the CA with --ca-file or FHIRMESH_CA_FILE): ${oneLine((error as Error).message)}`, ExitCode.unavailable, error);
  }
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') return new CliError(oneLine((error as Error).message), ExitCode.usage, error);
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(`unexpected failure: ${oneLine(message)}`, ExitCode.failed, error);
}

/** Collapses a message to one line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
