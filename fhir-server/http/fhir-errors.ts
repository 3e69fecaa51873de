/**
 * Errors raised by fastify itself (content type, body size, JSON) and by
 * plugged-in hooks, expressed as `FhirError`s so they are answered from the one
 * table in fhir/error-table.ts.
 */
import { FhirError } from '../fhir/errors.ts';
import type { FhirErrorKind } from '../fhir/errors.ts';

// fastify error codes that reach the FHIR routes, and what they mean for a FHIR client.
const fastifyCodes: Record<string, FhirErrorKind> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type', // body not application/fhir+json or application/json
  FST_ERR_CTP_BODY_TOO_LARGE: 'too-large', // over the route's body limit (checked before reading it)
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported-media-type',
};

// Plain HTTP statuses thrown by hooks (e.g. an authorization hook throwing `{ statusCode: 401 }`).
const statusKinds: Record<number, FhirErrorKind> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  412: 'precondition-failed',
  413: 'too-large',
  415: 'unsupported-media-type',
  429: 'throttled',
  503: 'unavailable',
};

/** Any error thrown while serving a FHIR route, as a `FhirError`. */
export function fromHttpError(error: unknown): FhirError {
  if (error instanceof FhirError) return error;
  const { code, statusCode, message } = (error ?? {}) as { code?: unknown; statusCode?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  const byCode = typeof code === 'string' ? fastifyCodes[code] : undefined;
  if (byCode) return new FhirError(byCode, text, { cause: error });
  const byStatus = typeof statusCode === 'number' ? statusKinds[statusCode] : undefined;
  if (byStatus) return new FhirError(byStatus, text, { cause: error });
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return new FhirError('invalid', text, { cause: error });
  return new FhirError('internal', text, { cause: error });
}
