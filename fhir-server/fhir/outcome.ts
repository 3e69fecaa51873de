/**
 * OperationOutcome resources.
 */
import type { FhirResource } from './types.ts';

/** `OperationOutcome.issue.severity`. */
export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** One `OperationOutcome.issue`. */
export interface OutcomeIssue {
  /** How bad. */
  severity: IssueSeverity;
  /** FHIR issue type code (`invalid`, `not-found`, `conflict`, `too-costly`, ...). */
  code: string;
  /** Human-readable detail. */
  diagnostics?: string;
  /** Where in the request the issue is. */
  expression?: string[];
}

/** An OperationOutcome resource. */
export interface OperationOutcome extends FhirResource {
  resourceType: 'OperationOutcome';
  /** At least one issue. */
  issue: OutcomeIssue[];
}

/** Builds an OperationOutcome with one issue. */
export function operationOutcome(severity: IssueSeverity, code: string, diagnostics: string, expression?: string): OperationOutcome {
  const issue: OutcomeIssue = { severity, code, diagnostics };
  if (expression) issue.expression = [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}
