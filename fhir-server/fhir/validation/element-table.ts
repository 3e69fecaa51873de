/**
 * Element tables: for one FHIR type, each JSON property name it may carry and
 * what that property is (element, datatype, repetition, cardinality, required
 * binding, invariants), compiled once per type from the R4 StructureDefinitions
 * as `@medplum/core` indexes them (`tryGetDataType`). A choice element
 * `value[x]` gets one row per allowed type (`valueQuantity`, `valueString`,
 * ...), so a walk over a resource looks each key up once instead of scanning
 * the definition.
 */
import { isPrimitiveType, parseFhirPath, tryGetDataType } from '@medplum/core';
import type { Constraint } from '@medplum/core';
import { r4Definitions } from '../definitions.ts';

/** An invariant (a FHIRPath constraint of severity error), its expression parsed on first use. */
export interface Invariant {
  /** `obs-6`, `ext-1`, ... */
  key: string;
  /** What it requires, as the specification says it. */
  description: string;
  /** The expression. */
  expression: string;
  /** Parsed form, once parsed. */
  parsed?: ReturnType<typeof parseFhirPath>;
}

/** One JSON property of a type. */
export interface Slot {
  /** Element name as FHIRPath names it (`value` for `value[x]`). */
  name: string;
  /** The element's path in its definition (`Patient.contact.gender`, `Observation.value[x]`). */
  definition: string;
  /** The datatype of the value (`code`, `Quantity`, `PatientContact`, `Resource`, ...). */
  type: string;
  /** True for a primitive datatype (its `_name` partner carries id/extension). */
  primitive: boolean;
  /** True when the element repeats (a JSON array). */
  array: boolean;
  /** Most values allowed (Infinity for `*`). */
  max: number;
  /** True for one type of a choice element (`valueQuantity` of `value[x]`). */
  choice: boolean;
  /** The ValueSet URL (no version) of a required binding, when the element has one. */
  requiredValueSet?: string;
  /** The element's invariants, checked on each of its values. */
  invariants?: Invariant[];
}

/** An element that must be present (min ≥ 1), and the JSON properties that carry it. */
export interface RequiredElement {
  /** FHIRPath name. */
  name: string;
  /** `status` and `_status`; every type of a choice. */
  keys: string[];
  /** Fewest values. */
  min: number;
}

/** The properties of one type. */
export interface ElementTable {
  /** The type. */
  type: string;
  /** JSON property name → slot. */
  slots: ReadonlyMap<string, Slot>;
  /** Elements with min ≥ 1. */
  required: readonly RequiredElement[];
  /** A resource type's own invariants (checked on each resource of the type). */
  invariants: readonly Invariant[];
}

// Not checked, as `@medplum/core`'s validator does not: ele-1 (the store rules refuse empty values),
// dom-3 (needs descendants(), a full walk per contained resource), sdf-19 (about StructureDefinitions).
const skippedInvariants = new Set(['ele-1', 'dom-3', 'sdf-19']);

const tables = new Map<string, ElementTable | undefined>();

/** `value` + `Quantity` → `valueQuantity` (the JSON name of one type of a choice). */
function choiceKey(base: string, type: string): string {
  return base + type.charAt(0).toUpperCase() + type.slice(1);
}

function invariantsOf(constraints: readonly Constraint[] | undefined): Invariant[] {
  return (constraints ?? [])
    .filter((c) => c.severity === 'error' && !skippedInvariants.has(c.key) && c.expression)
    .map((c) => ({ key: c.key, description: c.description, expression: c.expression }));
}

function compile(type: string): ElementTable | undefined {
  r4Definitions();
  const schema = tryGetDataType(type);
  if (!schema) return undefined;
  const slots = new Map<string, Slot>();
  const required: RequiredElement[] = [];
  for (const [elementName, element] of Object.entries(schema.elements)) {
    if (elementName.includes('.')) continue; // nested paths belong to the inner (backbone) types
    const choice = elementName.endsWith('[x]');
    const name = choice ? elementName.slice(0, -3) : elementName;
    const binding = element.binding?.strength === 'required' && element.binding.valueSet ? element.binding.valueSet.split('|')[0] : undefined;
    const invariants = invariantsOf(element.constraints);
    const keys: string[] = [];
    for (const { code } of element.type) {
      const slot: Slot = { name, definition: element.path, type: code, primitive: isPrimitiveType(code), array: element.isArray === true, max: element.max, choice };
      if (binding) slot.requiredValueSet = binding;
      if (invariants.length > 0) slot.invariants = invariants;
      const key = choice ? choiceKey(name, code) : name;
      slots.set(key, slot);
      keys.push(key);
      if (slot.primitive) keys.push(`_${key}`);
    }
    if (element.min > 0) required.push({ name, keys, min: element.min });
  }
  // A resource's root invariants; a backbone type's are its element's (above), a datatype's are not checked where it is used.
  const invariants = schema.kind === 'resource' ? invariantsOf(schema.constraints) : [];
  return { type, slots, required, invariants };
}

/** The table of `type` (a resource, datatype or backbone type name); undefined for a type the definitions do not have. */
export function elementTable(type: string): ElementTable | undefined {
  if (!tables.has(type)) tables.set(type, compile(type));
  return tables.get(type);
}

/** Every type reachable from `resourceTypes`, with its table (for reports over all elements). */
export function* allElementTables(resourceTypes: readonly string[]): Generator<ElementTable> {
  const seen = new Set<string>();
  const queue = [...resourceTypes];
  while (queue.length > 0) {
    const type = queue.shift()!;
    if (seen.has(type)) continue;
    seen.add(type);
    const table = elementTable(type);
    if (!table) continue;
    yield table;
    for (const slot of table.slots.values()) if (!slot.primitive && slot.type !== 'Resource') queue.push(slot.type);
  }
}
