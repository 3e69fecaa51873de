/**
 * The datatype check: one walk over a resource's JSON against the element
 * tables of the R4 definitions. It finds, per element, what makes a value no
 * value of its FHIR datatype — a property the type does not define, a wrong
 * JSON type (an array for a single value, a number for a `code`), a primitive
 * that fails its format (`id`, `date`, `dateTime`, `instant`, `code`, `uri`, ...,
 * with `@medplum/core`'s patterns) or the 32-bit range of integers, a `code`
 * outside its required value set — and the rules `@medplum/core`'s validator
 * leaves out: required bindings on Coding and CodeableConcept, and a choice
 * element given in two types. Contained resources, `Bundle.entry.resource`,
 * extensions at any depth and `_element` primitive extensions are walked too.
 *
 * It is the part of validation cheap enough for every exported line (a few
 * microseconds per resource); cardinality and invariants are checked on write
 * by `@medplum/core` (see structure-check.ts).
 */
import { fhirTypeToJsType, validationRegexes } from '@medplum/core';
import { isResourceType } from '../resource-types.ts';
import { elementTable, type ElementTable, type Slot } from './element-table.ts';
import { issue, shown, type ValidationIssue } from './issues.ts';
import { maxJsonDepth } from './store-rules.ts';
import { requiredBinding } from './value-sets.ts';

// FHIR strings are at most 1 MiB (https://hl7.org/fhir/R4/datatypes.html#string).
const maxStringLength = 1024 * 1024;
const jsTypes: Readonly<Record<string, string>> = fhirTypeToJsType;

/** Every datatype problem of `resource` (a parsed FHIR JSON resource), in document order. */
export function datatypeIssues(resource: Record<string, unknown>): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  walkResource(resource, typeof resource.resourceType === 'string' ? resource.resourceType : 'Resource', out, 0);
  return out;
}

/** The FHIRPath step of a slot: `name`, or `value.ofType(Quantity)` for one type of a choice. */
export function stepOf(slot: Slot): string {
  return slot.choice ? `${slot.name}.ofType(${slot.type})` : slot.name;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function walkResource(resource: Record<string, unknown>, path: string, out: ValidationIssue[], depth: number): void {
  const type = resource.resourceType;
  const table = isResourceType(type) ? elementTable(type) : undefined;
  if (!table) {
    out.push(issue('structure', `${shown(type)} is not an R4 resource type`, path, true));
    return;
  }
  walkObject(resource, table, path, out, depth, true);
}

function walkObject(object: Record<string, unknown>, table: ElementTable, path: string, out: ValidationIssue[], depth: number, isResource: boolean): void {
  if (depth > maxJsonDepth) {
    out.push(issue('structure', `nested deeper than ${maxJsonDepth} levels`, path, true));
    return;
  }
  let choices: string[] | undefined;
  for (const key of Object.keys(object)) {
    if (isResource && key === 'resourceType') continue;
    const value = object[key];
    if (key.charCodeAt(0) === 95 /* _ */) {
      primitiveExtension(object, key, value, table, path, out, depth);
      continue;
    }
    const slot = table.slots.get(key);
    if (!slot) {
      out.push(issue('structure', `${table.type} has no element '${key}'`, `${path}.${key}`, true));
      continue;
    }
    const at = `${path}.${stepOf(slot)}`;
    if (slot.choice) {
      if (choices?.includes(slot.name)) out.push(issue('structure', `${slot.name}[x] is given in more than one type`, `${path}.${slot.name}`, false));
      (choices ??= []).push(slot.name);
    }
    if (!slot.array) {
      if (Array.isArray(value)) out.push(issue('structure', `${slot.name} takes one value, not an array`, at, true));
      else checkValue(value, slot, at, out, depth);
      continue;
    }
    if (!Array.isArray(value)) {
      out.push(issue('structure', `${slot.name} repeats: its value must be an array`, at, true));
      continue;
    }
    const partner = slot.primitive ? object[`_${key}`] : undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      // In a primitive array, null holds the place of a value that has only an extension.
      if (item === null && Array.isArray(partner) && isObject(partner[i])) continue;
      checkValue(item, slot, `${at}[${i}]`, out, depth);
    }
  }
}

function primitiveExtension(object: Record<string, unknown>, key: string, value: unknown, table: ElementTable, path: string, out: ValidationIssue[], depth: number): void {
  const slot = table.slots.get(key.slice(1));
  if (!slot || !slot.primitive) {
    out.push(issue('structure', `${table.type} has no primitive element '${key.slice(1)}' for '${key}'`, `${path}.${key}`, true));
    return;
  }
  const element = elementTable('Element')!;
  const at = `${path}.${stepOf(slot)}`;
  if (!slot.array) {
    if (isObject(value)) walkObject(value, element, at, out, depth + 1, false);
    else out.push(issue('structure', `${key} must be an object (the id and extensions of ${slot.name})`, at, true));
    return;
  }
  if (!Array.isArray(value)) {
    out.push(issue('structure', `${key} must be an array matching ${slot.name}`, at, true));
    return;
  }
  const values = object[key.slice(1)];
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (isObject(item)) walkObject(item, element, `${at}[${i}]`, out, depth + 1, false);
    else if (item !== null) out.push(issue('structure', `${key}[${i}] must be an object or null`, `${at}[${i}]`, true));
    else if (!Array.isArray(values) || values[i] === null || values[i] === undefined) out.push(issue('structure', `${slot.name}[${i}] has neither a value nor an extension`, `${at}[${i}]`, true));
  }
}

function checkValue(value: unknown, slot: Slot, at: string, out: ValidationIssue[], depth: number): void {
  if (slot.primitive) {
    if (checkPrimitive(value, slot.type, at, out) && slot.requiredValueSet) checkCode(value as string, slot.requiredValueSet, at, out);
    return;
  }
  if (!isObject(value)) {
    out.push(issue('structure', `must be a ${slot.type} (a JSON object), not ${shown(value)}`, at, true));
    return;
  }
  if (slot.type === 'Resource') {
    walkResource(value, at, out, depth + 1);
    return;
  }
  const table = elementTable(slot.type);
  if (!table) {
    out.push(issue('processing', `the definitions have no type ${slot.type}`, at, false));
    return;
  }
  walkObject(value, table, at, out, depth + 1, false);
  if (slot.requiredValueSet && (slot.type === 'Coding' || slot.type === 'CodeableConcept')) checkCoded(value, slot, at, out);
}

/** Checks one primitive value; true when it is a valid value of `type`. */
function checkPrimitive(value: unknown, type: string, at: string, out: ValidationIssue[]): boolean {
  const expected = jsTypes[type] ?? 'string';
  if (typeof value !== expected) {
    out.push(issue('structure', `must be a JSON ${expected} (FHIR ${type}), not ${shown(value)}`, at, true));
    return false;
  }
  if (expected === 'string') {
    const text = value as string;
    if (text.trim() === '') out.push(issue('value', `a ${type} must not be empty or only whitespace`, at, true));
    else if (text.length > maxStringLength) out.push(issue('value', `a ${type} is at most 1 MiB`, at, true));
    else if (validationRegexes[type]?.test(text) === false) out.push(issue('value', `${shown(text)} is not a valid ${type}`, at, true));
    else return true;
    return false;
  }
  if (expected === 'number') {
    const n = value as number;
    const integer = type === 'integer' || type === 'positiveInt' || type === 'unsignedInt';
    if (integer && !Number.isInteger(n)) out.push(issue('value', `${n} is not an integer (FHIR ${type})`, at, true));
    else if (integer && (n > 2147483647 || n < -2147483648)) out.push(issue('value', `${n} is outside the 32-bit range of a FHIR ${type}`, at, true));
    else if (type === 'positiveInt' && n <= 0) out.push(issue('value', `${n} is not a positiveInt (1 or more)`, at, true));
    else if (type === 'unsignedInt' && n < 0) out.push(issue('value', `${n} is not an unsignedInt (0 or more)`, at, true));
    else return true;
    return false;
  }
  return true;
}

function checkCode(code: string, valueSet: string, at: string, out: ValidationIssue[]): void {
  const binding = requiredBinding(valueSet);
  if (binding.checked && !binding.codes.has(code)) out.push(issue('code-invalid', `${shown(code)} is not a code of the required value set ${valueSet}`, at, true));
}

// A Coding must be in the value set; a CodeableConcept needs at least one coding that is.
function checkCoded(value: Record<string, unknown>, slot: Slot, at: string, out: ValidationIssue[]): void {
  const binding = requiredBinding(slot.requiredValueSet!);
  if (!binding.checked) return;
  const inSet = (coding: unknown): boolean => isObject(coding) && binding.codings.has(`${String(coding.system)}|${String(coding.code)}`);
  if (slot.type === 'Coding') {
    if (!inSet(value)) out.push(issue('code-invalid', `${shown(value.system)}|${shown(value.code)} is not a coding of the required value set ${slot.requiredValueSet}`, at, false));
    return;
  }
  const codings = Array.isArray(value.coding) ? value.coding : [];
  if (!codings.some(inSet)) {
    const why = codings.length === 0 ? 'has no coding' : 'has none of its codings';
    out.push(issue('code-invalid', `${why} from the required value set ${slot.requiredValueSet}`, at, false));
  }
}
