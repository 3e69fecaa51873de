/**
 * The engine's one failure table: every error a worker meets is either
 * transient (the item is released with its checkpoint and retried after a
 * backoff, counting as a restart) or permanent (the job fails with the row's
 * OperationOutcome code and HTTP status). Messages never carry a token, a SAS
 * signature or a URL query.
 */
import { isRestError } from '@azure/core-rest-pipeline';
import { FhirError } from '../../fhir/errors.ts';
import type { JobFailure } from './job-record.ts';
import { currentItemWaits, DestinationTimeout, type WaitedService } from './waits.ts';

/** Why a job failed. */
export type FailureKind =
  | 'destination-refused'
  | 'destination-missing'
  | 'invalid-destination'
  | 'destination-timeout'
  | 'credential-failed'
  | 'token-timeout'
  | 'group-missing'
  | 'restarts-exhausted'
  | 'internal';

/** Kind -> issue code and the status the front door reports, with why. */
const table: Record<FailureKind, { code: string; httpStatus: number }> = {
  // The destination refused the export's identity or SAS: the remedy is a grant, as for any 403.
  'destination-refused': { code: 'forbidden', httpStatus: 403 },
  // The client's container or Key Vault secret does not exist: a problem with the request.
  'destination-missing': { code: 'not-found', httpStatus: 400 },
  // The stored destination is not an https container URL.
  'invalid-destination': { code: 'invalid', httpStatus: 400 },
  // The destination (Blob Storage, Key Vault) completed no request for export.destinationTimeoutSeconds: an upstream that does not answer.
  'destination-timeout': { code: 'timeout', httpStatus: 504 },
  // The identity got no token (revoked, disabled, not allowed): like a refusal by the destination.
  'credential-failed': { code: 'forbidden', httpStatus: 403 },
  // No storage token could be had for routing.tokenWaitSeconds (the routing server or Entra ID down): an upstream that does not answer.
  'token-timeout': { code: 'timeout', httpStatus: 504 },
  // The Group of a Group export was deleted after kick-off.
  'group-missing': { code: 'not-found', httpStatus: 404 },
  // Transient failures or dead workers, more often than allowed.
  'restarts-exhausted': { code: 'exception', httpStatus: 500 },
  // Anything else that cannot succeed on retry.
  internal: { code: 'exception', httpStatus: 500 },
};

/** A permanent failure with its kind. */
export class ExportFailure extends Error {
  override readonly name = 'ExportFailure';
  /** Creates a failure of `kind` with a client-safe `message`. */
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** The record of `failure`. */
export function jobFailure(failure: ExportFailure): JobFailure {
  return { ...table[failure.kind], message: failure.message };
}

/** A failed call to a dependency, tagged with the service's name. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  /** Wraps `cause` from `service`. */
  constructor(
    readonly service: 'Blob Storage' | 'Key Vault' | 'the resource store' | 'the job store',
    override readonly cause: unknown,
  ) {
    super(`${service}: ${safeMessage(cause)}`);
  }
}

/** A `TokenCredential` failed; `transient` when asking again later may work; `timedOut` when tokens were missing past the token wait. */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  /** Wraps `cause`. */
  constructor(
    override readonly cause: unknown,
    readonly transient: boolean,
    readonly timedOut?: { waitedMs: number; limitMs: number },
  ) {
    super(
      timedOut
        ? `the export identity got no storage token for ${Math.round(timedOut.waitedMs / 1000)} s (limit routing.tokenWaitSeconds: ${Math.round(timedOut.limitMs / 1000)} s): ${safeMessage(cause)}`
        : `the export identity got no storage token: ${safeMessage(cause)}`,
    );
  }
}

const isWaited = (service: ServiceError['service']): service is WaitedService => service === 'Blob Storage' || service === 'Key Vault';

/**
 * Runs `call` against `service`, tagging its errors (credential and engine errors pass through).
 * Inside a work item, a destination call (Blob Storage, Key Vault) gets an abort signal that
 * fires after `destinationTimeoutSeconds` without an answer, which fails the job.
 */
export async function calling<T>(service: ServiceError['service'], call: (abortSignal?: AbortSignal) => Promise<T>): Promise<T> {
  const waits = isWaited(service) ? currentItemWaits() : undefined;
  try {
    return await (waits ? waits.call(service as WaitedService, call) : call());
  } catch (error) {
    if (error instanceof CredentialError || error instanceof ExportFailure || error instanceof ServiceError) throw error;
    if (error instanceof DestinationTimeout) throw new ExportFailure('destination-timeout', `${error.message} (export.destinationTimeoutSeconds)`);
    throw new ServiceError(service, error);
  }
}

/** `text` without JWTs, SAS signatures or URL queries. */
export function redact(text: string): string {
  return text
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[token]')
    .replace(/(https?:\/\/[^\s?'"]+)\?[^\s'"]*/g, '$1')
    .replace(/\bsig=[^&\s'"]+/gi, 'sig=[redacted]')
    .slice(0, 300);
}

/** A short, secret-free description of `error`. */
export function safeMessage(error: unknown): string {
  if (isRestError(error)) return `${error.statusCode ?? 'no response'} ${error.code ?? ''}`.trim();
  if (error instanceof Error) return redact(`${error.name}: ${error.message}`);
  return redact(String(error));
}

const networkCodes = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|REQUEST_SEND_ERROR|TIMEOUT/i;

/** Whether a call may succeed if tried again later, judging by status, gRPC code or network error. */
export function isTransient(error: unknown): boolean {
  const e = error as { statusCode?: unknown; code?: unknown; kind?: unknown; name?: unknown; message?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode >= 500 || e.statusCode === 408 || e.statusCode === 429;
  if (typeof e.code === 'number') return [4, 8, 14, 408, 429, 449].includes(e.code) || e.code >= 500; // gRPC or Cosmos
  if (e.kind === 'unavailable' || e.kind === 'throttled') return true;
  return networkCodes.test(`${String(e.code ?? '')} ${String(e.name ?? '')} ${String(e.message ?? '')}`);
}

/** What to do about `error`: retry later, or fail the job with a permanent failure. */
export function classify(error: unknown): { transient: true; reason: string } | { transient: false; failure: ExportFailure } {
  if (error instanceof ExportFailure) return { transient: false, failure: error };
  if (error instanceof CredentialError) {
    if (error.timedOut) return { transient: false, failure: new ExportFailure('token-timeout', error.message) };
    return error.transient ? { transient: true, reason: error.message } : { transient: false, failure: new ExportFailure('credential-failed', error.message) };
  }
  if (error instanceof ServiceError) {
    const cause = error.cause;
    if (cause instanceof FhirError) {
      return ['throttled', 'unavailable', 'internal'].includes(cause.kind) ? { transient: true, reason: error.message } : { transient: false, failure: new ExportFailure('internal', error.message) };
    }
    if (isTransient(cause)) return { transient: true, reason: error.message };
    const status = (cause as { statusCode?: number; code?: unknown }).statusCode;
    if (error.service === 'Blob Storage' || error.service === 'Key Vault') {
      if (status === 401 || status === 403) return { transient: false, failure: new ExportFailure('destination-refused', `${error.service} refused the export (${safeMessage(cause)})`) };
      if (status === 404) return { transient: false, failure: new ExportFailure('destination-missing', `${error.service} has no such destination (${safeMessage(cause)})`) };
    }
    if (status === undefined && !isRestError(cause)) return { transient: true, reason: error.message };
    return { transient: false, failure: new ExportFailure('internal', error.message) };
  }
  return { transient: true, reason: safeMessage(error) };
}
