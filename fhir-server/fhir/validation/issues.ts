/** The problems validation finds in a resource, one per element. */

/** One problem, located by the FHIRPath of its element. */
export interface ValidationIssue {
  /** `OperationOutcome.issue.code`: `structure`, `value`, `code-invalid`, `required`, `invariant`, `processing`. */
  code: string;
  /** What is wrong, for a person. */
  diagnostics: string;
  /** FHIRPath of the element, e.g. `Patient.birthDate` or `Observation.value.ofType(Quantity).value`. */
  expression: string;
  /**
   * True when the value is not a value of its FHIR datatype (wrong JSON type or
   * format, an element the type does not define, a `code` outside its required
   * value set): a resource with such a value is never written into an export.
   */
  breaksDatatype: boolean;
}

/** An issue. */
export function issue(code: string, diagnostics: string, expression: string, breaksDatatype: boolean): ValidationIssue {
  return { code, diagnostics, expression, breaksDatatype };
}

/** A value as a short, safe string for a diagnostic (`'abc…'`, `12`, `an object`). */
export function shown(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** `Observation.value.ofType(string)` and `Observation.valueString` name the same JSON property: one key for both. */
function locationKey(expression: string): string {
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
