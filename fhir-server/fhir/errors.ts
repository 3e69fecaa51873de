/**
 * The one error type of the FHIR service. Every failure the REST layer reports
 * is a `FhirError` with a `kind`; the HTTP table (http/error-table.ts) turns the
 * kind into a status code and an OperationOutcome issue code.
 */

/** What went wrong, independent of transport. */
export type FhirErrorKind =
  | 'invalid' // the request or resource is malformed
  | 'not-found' // no such resource (or type)
  | 'gone' // the resource was deleted
  | 'conflict' // the write collides with the current state
  | 'precondition-failed' // If-Match did not hold
  | 'too-large' // a body over the configured limit
  | 'unsupported-media-type' // not FHIR JSON
  | 'not-supported' // an interaction or method this server does not offer
  | 'unauthenticated' // no or bad credentials
  | 'forbidden' // credentials valid, access denied
  | 'throttled' // the database asked us to slow down
  | 'unavailable' // a dependency is down or timed out
  | 'internal'; // a bug or an unexpected dependency answer

/** Options for {@link FhirError}. */
export interface FhirErrorOptions {
  /** FHIRPath-ish location of the problem, e.g. `Bundle.entry[2].resource.id`. */
  expression?: string;
  /** Seconds the client should wait before retrying (throttled/unavailable). */
  retryAfterSeconds?: number;
  /** Position of the failing operation when several were submitted together (a transaction). */
  index?: number;
  /** The underlying error. */
  cause?: unknown;
  /** One entry per problem when there are several (a resource that fails validation); the OperationOutcome lists each. */
  issues?: readonly ErrorIssue[];
}

/** One problem of a {@link FhirError} that has several. */
export interface ErrorIssue {
  /** `OperationOutcome.issue.code` (`structure`, `value`, `code-invalid`, `invariant`, `required`, ...). */
  code: string;
  /** What is wrong, for a person. */
  diagnostics: string;
  /** FHIRPath of the element, e.g. `Patient.birthDate`. */
  expression?: string;
}

/** A failure with a transport-independent kind and a message fit for the client. */
export class FhirError extends Error {
  override readonly name = 'FhirError';
  /** What went wrong. */
  readonly kind: FhirErrorKind;
  /** Where, when known. */
  readonly expression: string | undefined;
  /** Retry hint in seconds, when known. */
  readonly retryAfterSeconds: number | undefined;
  /** Position of the failing operation among several, when known. */
  readonly index: number | undefined;
  /** The problems one by one, when there are several (each becomes an OperationOutcome issue). */
  readonly issues: readonly ErrorIssue[] | undefined;

  constructor(kind: FhirErrorKind, message: string, options: FhirErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.expression = options.expression;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.index = options.index;
    this.issues = options.issues;
  }

  #options(): FhirErrorOptions {
    return { expression: this.expression, retryAfterSeconds: this.retryAfterSeconds, index: this.index, cause: this.cause, ...(this.issues ? { issues: this.issues } : {}) };
  }

  /** The same error, tagged with the position of the operation that failed. */
  withIndex(index: number): FhirError {
    return new FhirError(this.kind, this.message, { ...this.#options(), index });
  }

  /** The same error located at `expression` (e.g. inside a bundle entry); so is each of its issues. */
  at(expression: string): FhirError {
    const issues = this.issues?.map((issue) => ({ ...issue, expression: locate(expression, issue.expression) }));
    return new FhirError(this.kind, this.message, { ...this.#options(), expression: locate(expression, this.expression), ...(issues ? { issues } : {}) });
  }
}

// `Patient.id` inside `Bundle.entry[2].resource` becomes `Bundle.entry[2].resource.id`.
function locate(prefix: string, expression: string | undefined): string {
  const inner = expression?.replace(/^[A-Z][A-Za-z]*\.?/, '') ?? '';
  return inner ? `${prefix}.${inner}` : prefix;
}

/** True when `error` is a {@link FhirError}. */
export function isFhirError(error: unknown): error is FhirError {
  return error instanceof FhirError;
}
