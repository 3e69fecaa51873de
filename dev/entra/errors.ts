/**
 * Entra ID (AADSTS) error responses, shaped like the real service's:
 * `{ error, error_description: 'AADSTS<code>: ...\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: ...', error_codes, timestamp, trace_id, correlation_id, error_uri }`.
 */
import { randomUUID } from 'node:crypto';

/** OAuth error kinds the token endpoint answers with. */
export type OAuthErrorKind =
  | 'invalid_request'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'invalid_scope'
  | 'invalid_resource'
  | 'unsupported_grant_type'
  | 'invalid_tenant'
  | 'temporarily_unavailable';

/** AADSTS codes this stand-in uses, by meaning. */
export const Aadsts = {
  /** Tenant not found. */
  tenantNotFound: 90002,
  /** Tenant identifier is neither a GUID nor a DNS name. */
  invalidTenantName: 900023,
  /** A required body parameter is missing. */
  missingParameter: 900144,
  /** Malformed request (wrong content type, both a secret and an assertion, ...). */
  malformedRequest: 9002313,
  /** Grant type other than client_credentials. */
  unsupportedGrantType: 70003,
  /** Neither a client secret nor a client assertion. */
  missingClientCredential: 7000216,
  /** Application not found in the tenant. */
  applicationNotFound: 700016,
  /** Application is disabled. */
  applicationDisabled: 7000112,
  /** Wrong client secret. */
  invalidClientSecret: 7000215,
  /** Every matching client secret has expired. */
  expiredClientSecret: 7000222,
  /** Client assertion is not a well-formed JWT / misses a required claim or header. */
  invalidJwt: 50027,
  /** Client assertion signature problems (unknown certificate, expired key, bad signature, algorithm). */
  assertionSignature: 700027,
  /** Client assertion `iss`/`sub` differ from `client_id`. */
  assertionClientMismatch: 700021,
  /** Client assertion `aud` is not this tenant's token endpoint. */
  assertionAudience: 700023,
  /** Client assertion expired or not yet valid. */
  assertionTimeRange: 700024,
  /** Client assertion replayed (a `jti` already used for a different assertion, or any reuse in strict mode). */
  assertionReplayed: 50013,
  /** Scope parameter missing or malformed. */
  invalidScope: 70011,
  /** Client-credentials scope without the `/.default` suffix. */
  scopeNotDefault: 1002012,
  /** Scope names more than one resource. */
  scopeMultipleResources: 28000,
  /** Resource principal not found in the tenant. */
  resourceNotFound: 500011,
  /** Throttled (answer to an injected 429). */
  throttled: 90055,
  /** Transient server error (answer to an injected 5xx). */
  transient: 90033,
} as const;

/** An Entra error to send back: HTTP status, OAuth error kind, AADSTS code, message. */
export class EntraError extends Error {
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** OAuth `error`. */
    readonly kind: OAuthErrorKind,
    /** AADSTS code. */
    readonly code: number,
    /** Message after `AADSTS<code>: `. */
    readonly description: string,
  ) {
    super(`AADSTS${code}: ${description}`);
    this.name = 'EntraError';
  }
}

/** Real Entra formats timestamps as `2016-01-09 02:02:12Z`. */
function entraTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/** The JSON body for an error, with fresh trace and correlation ids. */
export function entraErrorBody(err: EntraError, correlationId: string = randomUUID()): Record<string, unknown> {
  const traceId = randomUUID();
  const timestamp = entraTimestamp(new Date());
  return {
    error: err.kind,
    error_description: `AADSTS${err.code}: ${err.description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [err.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${err.code}`,
  };
}
