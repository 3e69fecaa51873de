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

/** Why a job failed. */
export type FailureKind = 'destination-refused' | 'destination-missing' | 'invalid-destination' | 'credential-failed' | 'group-missing' | 'restarts-exhausted' | 'internal';

/** Kind -> issue code and the status the front door reports, with why. */
const table: Record<FailureKind, { code: string; httpStatus: number }> = {
  // The destination refused the export's identity or SAS: the remedy is a grant, as for any 403.
  'destination-refused': { code: 'forbidden', httpStatus: 403 },
  // The client's container or Key Vault secret does not exist: a problem with the request.
  'destination-missing': { code: 'not-found', httpStatus: 400 },
  // The stored destination is not an https container URL.
  'invalid-destination': { code: 'invalid', httpStatus: 400 },
  // The identity got no token (revoked, disabled, not allowed): like a refusal by the destination.
  'credential-failed': { code: 'forbidden', httpStatus: 403 },
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

/** A `TokenCredential` failed; `transient` when asking again later may work. */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  /** Wraps `cause`. */
  constructor(
    override readonly cause: unknown,
    readonly transient: boolean,
  ) {
    super(`the export identity got no storage token: ${safeMessage(cause)}`);
  }
}

/** Runs `call` against `service`, tagging its errors (credential and engine errors pass through). */
export async function calling<T>(service: ServiceError['service'], call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CredentialError || error instanceof ExportFailure || error instanceof ServiceError) throw error;
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
