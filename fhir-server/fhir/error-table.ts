/**
 * The one table from error kinds to HTTP status and OperationOutcome issue code,
 * used by the REST layer and by batch/transaction response entries alike.
 */
import { STATUS_CODES } from 'node:http';
import { FhirError } from './errors.ts';
import type { ErrorIssue, FhirErrorKind } from './errors.ts';
import { operationOutcome } from './outcome.ts';
import type { IssueSeverity, OperationOutcome } from './outcome.ts';

/** How one kind of error is answered. */
export interface ErrorAnswer {
  /** HTTP status. */
  status: number;
  /** `OperationOutcome.issue.code`. */
  issueCode: string;
}

/** Kind -> answer. */
export const errorTable: Readonly<Record<FhirErrorKind, ErrorAnswer>> = Object.freeze({
  invalid: { status: 400, issueCode: 'invalid' }, // malformed JSON, resource or request: the client must change it
  'not-found': { status: 404, issueCode: 'not-found' }, // no such resource, or an unknown resource type in the URL
  gone: { status: 410, issueCode: 'deleted' }, // FHIR read of a deleted resource
  conflict: { status: 409, issueCode: 'conflict' }, // create of an existing id, or a concurrent write won
  'precondition-failed': { status: 412, issueCode: 'conflict' }, // If-Match named another version (FHIR version-aware update)
  'too-large': { status: 413, issueCode: 'too-costly' }, // body or resource over the configured limit
  'unsupported-media-type': { status: 415, issueCode: 'not-supported' }, // not application/fhir+json or application/json
  'not-supported': { status: 400, issueCode: 'not-supported' }, // a well-formed request this server does not offer (search, conditional update)
  unauthenticated: { status: 401, issueCode: 'login' }, // no or bad bearer token
  forbidden: { status: 403, issueCode: 'forbidden' }, // token valid, access denied
  throttled: { status: 429, issueCode: 'throttled' }, // the database stayed throttled past our retries; Retry-After tells when
  unavailable: { status: 503, issueCode: 'transient' }, // a dependency timed out or is down; retrying may work
  internal: { status: 500, issueCode: 'exception' }, // a bug or an unexpected answer
});

/** Any thrown value as a `FhirError` (unknown errors become `internal`). */
export function asFhirError(error: unknown): FhirError {
  return error instanceof FhirError ? error : new FhirError('internal', error instanceof Error ? error.message : String(error), { cause: error });
}

/** The answer to `error`: status, status line (`404 Not Found`) and OperationOutcome. */
export function answerTo(error: unknown): ErrorAnswer & { statusLine: string; outcome: OperationOutcome; error: FhirError } {
  const fhir = asFhirError(error);
  const answer = errorTable[fhir.kind];
  const diagnostics = fhir.kind === 'internal' ? 'Internal server error' : fhir.message;
  const severity = answer.status >= 500 ? 'fatal' : 'error';
  const outcome = fhir.issues && fhir.issues.length > 0 && fhir.kind !== 'internal'
    ? outcomeOfIssues(severity, fhir.issues)
    : operationOutcome(severity, answer.issueCode, diagnostics, fhir.expression);
  return { ...answer, statusLine: `${answer.status} ${STATUS_CODES[answer.status] ?? ''}`.trim(), outcome, error: fhir };
}

function outcomeOfIssues(severity: IssueSeverity, issues: readonly ErrorIssue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((issue) => ({ severity, code: issue.code, diagnostics: issue.diagnostics, ...(issue.expression ? { expression: [issue.expression] } : {}) })),
  };
}
