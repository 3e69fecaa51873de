/**
 * Element tables: for one FHIR type, each JSON property name it may carry and
 * what that property is (element, datatype, repetition, required binding),
 * compiled once per type from the R4 StructureDefinitions as `@medplum/core`
 * indexes them (`getDataType`). A choice element `value[x]` gets one row per
 * allowed type (`valueQuantity`, `valueString`, ...), so a walk over a
 * resource looks each key up once instead of scanning the definition.
 */
import { isPrimitiveType, tryGetDataType } from '@medplum/core';
import { r4Definitions } from '../definitions.ts';

/** One JSON property of a type. */
export interface Slot {
  /** Element name as FHIRPath names it (`value` for `value[x]`). */
  name: string;
  /** The datatype of the value (`code`, `Quantity`, `PatientContact`, `Resource`, ...). */
  type: string;
  /** True for a primitive datatype (its `_name` partner carries id/extension). */
  primitive: boolean;
  /** True when the element repeats (a JSON array). */
  array: boolean;
  /** True for one type of a choice element (`valueQuantity` of `value[x]`). */
  choice: boolean;
  /** The ValueSet URL (no version) of a required binding, when the element has one. */
  requiredValueSet?: string;
}

/** The properties of one type. */
export interface ElementTable {
  /** The type. */
  type: string;
  /** JSON property name → slot. */
  slots: ReadonlyMap<string, Slot>;
}

const tables = new Map<string, ElementTable | undefined>();

/** `value` + `Quantity` → `valueQuantity` (the JSON name of one type of a choice). */
export function choiceKey(base: string, type: string): string {
  return base + type.charAt(0).toUpperCase() + type.slice(1);
}

function compile(type: string): ElementTable | undefined {
  r4Definitions();
  const schema = tryGetDataType(type);
  if (!schema) return undefined;
  const slots = new Map<string, Slot>();
  for (const [elementName, element] of Object.entries(schema.elements)) {
    if (elementName.includes('.')) continue; // nested paths belong to the inner (backbone) types
    const choice = elementName.endsWith('[x]');
    const name = choice ? elementName.slice(0, -3) : elementName;
    const binding = element.binding?.strength === 'required' && element.binding.valueSet ? element.binding.valueSet.split('|')[0] : undefined;
    for (const { code } of element.type) {
      const slot: Slot = { name, type: code, primitive: isPrimitiveType(code), array: element.isArray === true, choice };
      if (binding) slot.requiredValueSet = binding;
      slots.set(choice ? choiceKey(name, code) : name, slot);
    }
  }
  return { type, slots };
}

/** The table of `type` (a resource, datatype or backbone type name); undefined for a type the definitions do not have. */
export function elementTable(type: string): ElementTable | undefined {
  if (!tables.has(type)) tables.set(type, compile(type));
  return tables.get(type);
}

/** Every type reachable from the R4 resource types, with its table (for reports over all elements). */
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
