/**
 * Test support: `@medplum/core`'s own `validateResource` over the same R4
 * definitions, as a second opinion to compare the server's validation with —
 * its error issues as `ValidationIssue`s. Its paths name a choice element
 * `value[x]`; they are rewritten to the FHIRPath of the element actually sent
 * (`value.ofType(Quantity)`) by reading the resource along the path.
 */
import { OperationOutcomeError, isPrimitiveType, validateResource } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { r4Definitions } from '../../../fhir-server/fhir/definitions.ts';
import { issue, type ValidationIssue } from '../../../fhir-server/fhir/validation/issues.ts';

/** The error issues `@medplum/core` finds in `resource`; `undefined` when it could not validate it at all. */
export function structureIssues(resource: Record<string, unknown>): ValidationIssue[] | undefined {
  r4Definitions();
  try {
    validateResource(resource as unknown as Resource);
    return []; // only warnings
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) return undefined;
    const found = error.outcome.issue ?? [];
    // An issue without a location is the validator giving up (an unknown type inside): no complete list.
    if (found.some((i) => !i.expression?.[0])) return undefined;
    return found
      .filter((i) => i.severity === 'error' || i.severity === 'fatal')
      .map((i) => issue(i.code, i.details?.text ?? i.diagnostics ?? 'invalid', fhirPathOf(resource, i.expression![0]!), false));
  }
}

// One step of a path: a name and an optional index (`name`, `name[2]`, `value[x]`, `value[x][0]`).
const stepPattern = /^([A-Za-z0-9_]+(?:\[x\])?)(?:\[(\d+)\])?$/;

/** `Observation.value[x].value` → `Observation.value.ofType(Quantity).value`, reading which type `resource` carries. */
export function fhirPathOf(resource: Record<string, unknown>, path: string): string {
  const steps = path.split('.');
  const out = [steps[0]!];
  let node: unknown = resource;
  for (const step of steps.slice(1)) {
    const match = stepPattern.exec(step);
    if (!match) {
      out.push(step);
      node = undefined;
      continue;
    }
    const [, name, index] = match as unknown as [string, string, string | undefined];
    const object = typeof node === 'object' && node !== null && !Array.isArray(node) ? (node as Record<string, unknown>) : undefined;
    let key = name;
    let text = name;
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      const found = object ? Object.keys(object).find((k) => k.length > base.length && k.startsWith(base) && /^[A-Z]/.test(k.slice(base.length))) : undefined;
      key = found ?? base;
      text = found ? `${base}.ofType(${typeName(found.slice(base.length))})` : base;
    }
    const pick = (k: string): unknown => {
      const v = object?.[k];
      return index === undefined ? v : Array.isArray(v) ? (v as unknown[])[Number(index)] : undefined;
    };
    // A primitive's id and extensions live in its `_name` partner.
    let value = pick(key);
    if (typeof value !== 'object' || value === null) value = pick(`_${key}`) ?? value;
    out.push(index === undefined ? text : `${text}[${index}]`);
    node = value;
  }
  return out.join('.');
}

// `Quantity` stays; `DateTime` is the primitive `dateTime`.
function typeName(suffix: string): string {
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return isPrimitiveType(lower) ? lower : suffix;
}
