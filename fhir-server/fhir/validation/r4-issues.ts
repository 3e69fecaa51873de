/**
 * R4 validation of one resource: the datatype check (ours, over the element
 * tables) and the structure check (`@medplum/core`), merged into one list with
 * one issue per element.
 */
import { datatypeIssues } from './datatype-check.ts';
import type { ValidationIssue } from './issues.ts';
import { structureIssues } from './structure-check.ts';

/** `Observation.value.ofType(string)` and `Observation.valueString` name the same JSON property: one key for both. */
export function locationKey(expression: string): string {
  return expression.replace(/\.([a-z][A-Za-z0-9]*)\.ofType\(([A-Za-z0-9]+)\)/g, (_, base: string, type: string) => `.${base}${type.charAt(0).toUpperCase()}${type.slice(1)}`);
}

/** `first`, then each issue of `more` at an element `first` does not already name. */
export function mergeIssues(first: readonly ValidationIssue[], more: readonly ValidationIssue[]): ValidationIssue[] {
  const seen = new Set(first.map((i) => locationKey(i.expression)));
  const out = [...first];
  for (const item of more) {
    const key = locationKey(item.expression);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(item);
  }
  return out;
}

/** Every R4 problem of `resource` (resourceType known): datatypes and required bindings, then element names, cardinality, formats and invariants. */
export function r4Issues(resource: Record<string, unknown>): ValidationIssue[] {
  const datatypes = datatypeIssues(resource);
  const structure = structureIssues(resource);
  return structure ? mergeIssues(datatypes, structure) : datatypes;
}
