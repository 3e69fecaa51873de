/**
 * R4 validation of a resource: one walk over its JSON against the element
 * tables of the R4 StructureDefinitions (element-table.ts). Per element it
 * finds what makes a value no value of its FHIR datatype — a property the type
 * does not define, a wrong JSON type (an array for a single value, a number for
 * a `code`), a primitive that fails its format (`id`, `date`, `dateTime`,
 * `instant`, `code`, `uri`, ... with `@medplum/core`'s patterns) or the 32-bit
 * range of integers, a `code` outside its required value set — and, in a full
 * check, cardinality, empty objects, required bindings on Coding and
 * CodeableConcept, a choice given in two types, and the invariants of the
 * elements and resources (FHIRPath, evaluated by `@medplum/core` once the
 * datatypes are right). Contained resources, `Bundle.entry.resource`,
 * extensions at any depth and `_element` primitive extensions are walked too.
 *
 * `datatypeIssues` is the part cheap enough for every exported line;
 * `resourceIssues` is what a write checks. Paths are FHIRPath: `name[2]`,
 * `value.ofType(Quantity)`, `birthDate.extension[0]` for `_birthDate`.
 */
import { UCUM, evalFhirPathTyped, fhirTypeToJsType, parseFhirPath, toTypedValue, validationRegexes } from '@medplum/core';
import type { TypedValue } from '@medplum/core';
import { isResourceType } from '../resource-types.ts';
import { elementTable, type ElementTable, type Invariant, type Slot } from './element-table.ts';
import { issue, shown, type ValidationIssue } from './issues.ts';
import { maxJsonDepth } from './store-rules.ts';
import { requiredBinding } from './value-sets.ts';

// FHIR strings are at most 1 MiB (https://hl7.org/fhir/R4/datatypes.html#string).
const maxStringLength = 1024 * 1024;
const jsTypes: Readonly<Record<string, string>> = fhirTypeToJsType;
const ucum = toTypedValue(UCUM);

/** Every datatype problem of `resource` (a parsed FHIR JSON resource): the issues that are `breaksDatatype`, in document order. */
export function datatypeIssues(resource: Record<string, unknown>): ValidationIssue[] {
  const walk = new Walk(false);
  walk.resource(resource, resourceTypeOf(resource), 0, undefined);
  return walk.out;
}

/** Every R4 problem of `resource`: datatypes, element names, cardinality, required bindings, invariants. */
export function resourceIssues(resource: Record<string, unknown>): ValidationIssue[] {
  const walk = new Walk(true);
  walk.resource(resource, resourceTypeOf(resource), 0, undefined);
  // Invariants read the resource through its datatypes: only a resource whose datatypes are right is worth asking.
  if (!walk.out.some((found) => found.breaksDatatype)) walk.evaluateInvariants();
  return walk.out;
}

/** The FHIRPath step of a slot: `name`, or `value.ofType(Quantity)` for one type of a choice. */
function stepOf(slot: Slot): string {
  return slot.choice ? `${slot.name}.ofType(${slot.type})` : slot.name;
}

function resourceTypeOf(resource: Record<string, unknown>): string {
  return typeof resource.resourceType === 'string' ? resource.resourceType : 'Resource';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Invariants to evaluate on one value, once the walk is over. */
interface PendingInvariants {
  invariants: readonly Invariant[];
  value: TypedValue;
  path: string;
  resource: TypedValue;
  root: TypedValue;
}

/** The resource a value is in, and the outermost one (FHIRPath `%resource`, `%rootResource`). */
interface Context {
  resource: TypedValue;
  root: TypedValue;
}

/** One walk; `full` adds what is not about datatypes. */
class Walk {
  readonly out: ValidationIssue[] = [];
  readonly #pending: PendingInvariants[] = [];

  constructor(readonly full: boolean) {}

  resource(resource: Record<string, unknown>, path: string, depth: number, root: TypedValue | undefined): void {
    const type = resource.resourceType;
    const table = isResourceType(type) ? elementTable(type) : undefined;
    if (!table) {
      this.out.push(issue('structure', `${shown(type)} is not an R4 resource type`, path, true));
      return;
    }
    const typed: TypedValue = { type: table.type, value: resource };
    const context: Context = { resource: typed, root: root ?? typed };
    if (this.full && table.invariants.length > 0) this.#pending.push({ invariants: table.invariants, value: typed, path, ...context });
    this.object(resource, table, path, depth, true, context);
  }

  object(object: Record<string, unknown>, table: ElementTable, path: string, depth: number, isResource: boolean, context: Context): void {
    if (depth > maxJsonDepth) {
      this.out.push(issue('structure', `nested deeper than ${maxJsonDepth} levels`, path, true));
      return;
    }
    const keys = Object.keys(object);
    if (this.full && keys.length === 0) this.out.push(issue('structure', `a ${table.type} must not be empty`, path, false));
    let choices: string[] | undefined;
    for (const key of keys) {
      if (isResource && key === 'resourceType') continue;
      const value = object[key];
      if (key.charCodeAt(0) === 95 /* _ */) {
        this.primitiveExtension(object, key, value, table, path, depth, context);
        continue;
      }
      const slot = table.slots.get(key);
      if (!slot) {
        this.out.push(issue('structure', `${table.type} has no element '${key}'`, `${path}.${key}`, true));
        continue;
      }
      const at = `${path}.${stepOf(slot)}`;
      if (slot.choice) {
        if (this.full && choices?.includes(slot.name)) this.out.push(issue('structure', `${slot.name}[x] is given in more than one type`, `${path}.${slot.name}`, false));
        (choices ??= []).push(slot.name);
      }
      if (!slot.array) {
        if (Array.isArray(value)) this.out.push(issue('structure', `${slot.name} takes one value, not an array`, at, true));
        else this.value(value, slot, at, depth, context);
        continue;
      }
      if (!Array.isArray(value)) {
        this.out.push(issue('structure', `${slot.name} repeats: its value must be an array`, at, true));
        continue;
      }
      if (this.full && value.length > slot.max) this.out.push(issue('structure', `${slot.name} allows at most ${slot.max} values, not ${value.length}`, at, false));
      const partner = slot.primitive ? object[`_${key}`] : undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        // In a primitive array, null holds the place of a value that has only an extension.
        if (item === null && Array.isArray(partner) && isObject(partner[i])) continue;
        this.value(item, slot, `${at}[${i}]`, depth, context);
      }
    }
    if (this.full) this.requiredElements(object, table, path);
  }

  requiredElements(object: Record<string, unknown>, table: ElementTable, path: string): void {
    for (const element of table.required) {
      let count = 0;
      for (const key of element.keys) {
        const value = object[key];
        if (value !== undefined) count = Math.max(count, Array.isArray(value) ? value.length : 1);
      }
      if (count === 0) this.out.push(issue('required', `${element.name} is required (${table.type} needs at least ${element.min})`, `${path}.${element.name}`, false));
      else if (count < element.min) this.out.push(issue('required', `${element.name} needs at least ${element.min} values, not ${count}`, `${path}.${element.name}`, false));
    }
  }

  primitiveExtension(object: Record<string, unknown>, key: string, value: unknown, table: ElementTable, path: string, depth: number, context: Context): void {
    const slot = table.slots.get(key.slice(1));
    if (!slot || !slot.primitive) {
      this.out.push(issue('structure', `${table.type} has no primitive element '${key.slice(1)}' for '${key}'`, `${path}.${key}`, true));
      return;
    }
    const element = elementTable('Element')!;
    const at = `${path}.${stepOf(slot)}`;
    if (!slot.array) {
      if (isObject(value)) this.object(value, element, at, depth + 1, false, context);
      else this.out.push(issue('structure', `${key} must be an object (the id and extensions of ${slot.name})`, at, true));
      return;
    }
    if (!Array.isArray(value)) {
      this.out.push(issue('structure', `${key} must be an array matching ${slot.name}`, at, true));
      return;
    }
    const values = object[key.slice(1)];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (isObject(item)) this.object(item, element, `${at}[${i}]`, depth + 1, false, context);
      else if (item !== null) this.out.push(issue('structure', `${key}[${i}] must be an object or null`, `${at}[${i}]`, true));
      else if (!Array.isArray(values) || values[i] === null || values[i] === undefined) this.out.push(issue('structure', `${slot.name}[${i}] has neither a value nor an extension`, `${at}[${i}]`, true));
    }
  }

  value(value: unknown, slot: Slot, at: string, depth: number, context: Context): void {
    if (slot.primitive) {
      if (this.primitive(value, slot.type, at) && slot.requiredValueSet) this.code(value as string, slot.requiredValueSet, at);
    } else if (!isObject(value)) {
      this.out.push(issue('structure', `must be a ${slot.type} (a JSON object), not ${shown(value)}`, at, true));
      return;
    } else if (slot.type === 'Resource') {
      this.resource(value, at, depth + 1, context.root);
      return;
    } else {
      const table = elementTable(slot.type);
      if (!table) {
        this.out.push(issue('processing', `the definitions have no type ${slot.type}`, at, false));
        return;
      }
      this.object(value, table, at, depth + 1, false, context);
      if (this.full && slot.requiredValueSet && (slot.type === 'Coding' || slot.type === 'CodeableConcept')) this.coded(value, slot, at);
    }
    if (this.full && slot.invariants) this.#pending.push({ invariants: slot.invariants, value: { type: slot.type, value }, path: at, ...context });
  }

  /** Checks one primitive value; true when it is a valid value of `type`. */
  primitive(value: unknown, type: string, at: string): boolean {
    const expected = jsTypes[type] ?? 'string';
    if (typeof value !== expected) {
      this.out.push(issue('structure', `must be a JSON ${expected} (FHIR ${type}), not ${shown(value)}`, at, true));
      return false;
    }
    if (expected === 'string') {
      const text = value as string;
      if (text.trim() === '') this.out.push(issue('value', `a ${type} must not be empty or only whitespace`, at, true));
      else if (text.length > maxStringLength) this.out.push(issue('value', `a ${type} is at most 1 MiB`, at, true));
      else if (validationRegexes[type]?.test(text) === false) this.out.push(issue('value', `${shown(text)} is not a valid ${type}`, at, true));
      else return true;
      return false;
    }
    if (expected === 'number') {
      const n = value as number;
      const integer = type === 'integer' || type === 'positiveInt' || type === 'unsignedInt';
      if (integer && !Number.isInteger(n)) this.out.push(issue('value', `${n} is not an integer (FHIR ${type})`, at, true));
      else if (integer && (n > 2147483647 || n < -2147483648)) this.out.push(issue('value', `${n} is outside the 32-bit range of a FHIR ${type}`, at, true));
      else if (type === 'positiveInt' && n <= 0) this.out.push(issue('value', `${n} is not a positiveInt (1 or more)`, at, true));
      else if (type === 'unsignedInt' && n < 0) this.out.push(issue('value', `${n} is not an unsignedInt (0 or more)`, at, true));
      else return true;
      return false;
    }
    return true;
  }

  code(code: string, valueSet: string, at: string): void {
    const binding = requiredBinding(valueSet);
    if (binding.checked && !binding.codes.has(code)) this.out.push(issue('code-invalid', `${shown(code)} is not a code of the required value set ${valueSet}`, at, true));
  }

  /** A Coding must be in the value set; a CodeableConcept needs at least one coding that is. */
  coded(value: Record<string, unknown>, slot: Slot, at: string): void {
    const binding = requiredBinding(slot.requiredValueSet!);
    if (!binding.checked) return;
    const inSet = (coding: unknown): boolean => isObject(coding) && binding.codings.has(`${String(coding.system)}|${String(coding.code)}`);
    if (slot.type === 'Coding') {
      if (!inSet(value)) this.out.push(issue('code-invalid', `${String(value.system)}|${String(value.code)} is not a coding of the required value set ${slot.requiredValueSet}`, at, false));
      return;
    }
    const codings = Array.isArray(value.coding) ? value.coding : [];
    if (codings.some(inSet)) return;
    const what = codings.length === 0 ? 'has no coding' : 'has no coding (system and code)';
    this.out.push(issue('code-invalid', `${what} from the required value set ${slot.requiredValueSet}`, at, false));
  }

  evaluateInvariants(): void {
    for (const pending of this.#pending) {
      const variables = { '%context': pending.value, '%resource': pending.resource, '%rootResource': pending.root, '%ucum': ucum };
      for (const invariant of pending.invariants) {
        try {
          invariant.parsed ??= parseFhirPath(invariant.expression);
          const result = evalFhirPathTyped(invariant.parsed, [pending.value], variables);
          if (result.length === 1 && result[0]!.value === true) continue;
          this.out.push(issue('invariant', `Constraint ${invariant.key} not met: ${invariant.description}`, pending.path, false));
        } catch (error) {
          this.out.push(issue('processing', `Constraint ${invariant.key} could not be evaluated (${error instanceof Error ? error.message : String(error)})`, pending.path, false));
        }
      }
    }
  }
}
