/**
 * Cosmos DB failures as `FhirError`s. The SDK has already retried throttling
 * within its bounded policy when one reaches here.
 */
import { FhirError } from '../fhir/errors.ts';

/** The HTTP status of a Cosmos SDK error, if it has one. */
export function cosmosStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

// Errors with no HTTP answer: the database could not be reached (the SDK has retried resets and timeouts itself).
const unreachableCodes = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|REQUEST_SEND_ERROR|TimeoutError)$/;

/** The network error code of a Cosmos SDK error that got no answer (e.g. `ECONNREFUSED`), if it is one. */
export function unreachableCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === 'string' && unreachableCodes.test(code)) return code;
  if (name === 'TimeoutError') return 'timeout';
  return undefined;
}

/** True when `error` is a Cosmos "someone else wrote first" failure (409 on create, 412 on a conditional write). */
export function isWriteRace(error: unknown): boolean {
  const status = cosmosStatus(error);
  return status === 409 || status === 412;
}

/** Maps a Cosmos SDK error (or anything else) to a `FhirError`; `FhirError`s pass through. */
export function toFhirError(error: unknown, doing: string): FhirError {
  if (error instanceof FhirError) return error;
  const status = cosmosStatus(error);
  const retryAfterMs = (error as { retryAfterInMs?: number } | null)?.retryAfterInMs;
  const retryAfterSeconds = retryAfterMs ? Math.ceil(retryAfterMs / 1000) : undefined;
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const unreachable = status === undefined ? unreachableCode(error) : undefined;
  if (unreachable) return new FhirError('unavailable', `The database (Cosmos DB) is unreachable (${unreachable}) while ${doing}; retry later`, { retryAfterSeconds: 5, cause: error });
  switch (status) {
    case 429: // request rate too large, after the SDK's own retries
      return new FhirError('throttled', `The database is busy (${doing})`, { retryAfterSeconds: retryAfterSeconds ?? 1, cause: error });
    case 408: // request timeout
    case 503: // service unavailable
      return new FhirError('unavailable', `The database did not answer in time (${doing})`, { retryAfterSeconds, cause: error });
    case 413: // document over the database's size limit
      return new FhirError('too-large', `The resource is too large to store (${doing})`, { cause: error });
    default:
      return new FhirError('internal', `Database failure while ${doing}: ${detail}`, { cause: error });
  }
}
