/**
 * Patient compartment membership and Group membership of a resource, computed
 * once at write time and stored beside it so exports can select by patient.
 * Membership follows the R4 Patient CompartmentDefinition: each of its search
 * parameters for the resource's type is evaluated through the parameter's own
 * FHIRPath expression (compiled once per type, ../search/compile.ts).
 */
import { parametersOf } from '../search/parameters.ts';
import { referencedType } from '../search/compile.ts';
import { r4Definitions } from './definitions.ts';
import { parseReference } from './references.ts';
import { isJsonObject } from './types.ts';
import type { FhirResource } from './types.ts';

/** A set computed on first use (the definitions are read only when something asks). */
function lazySet<T>(make: () => ReadonlySet<T>): ReadonlySet<T> {
  let made: ReadonlySet<T> | undefined;
  return new Proxy(new Set<T>(), {
    get(_target, property) {
      made ??= make();
      const value: unknown = Reflect.get(made, property, made);
      return typeof value === 'function' ? value.bind(made) : value;
    },
  });
}

/** Resource types the R4 Patient CompartmentDefinition places in a Patient's compartment (through at least one parameter). */
export const patientCompartmentTypes: ReadonlySet<string> = lazySet(() => new Set(r4Definitions().patientCompartment.keys()));

/**
 * The Patient compartments (`Patient/<id>`) `resource` belongs to: a Patient's own,
 * plus every Patient referenced through the R4 Patient compartment parameters of its type.
 * Sorted and without duplicates.
 */
export function patientCompartmentsOf(resource: FhirResource): string[] {
  const out = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) out.add(`Patient/${resource.id}`);
  const codes = r4Definitions().patientCompartment.get(resource.resourceType) ?? [];
  const parameters = parametersOf(resource.resourceType);
  for (const code of codes) {
    for (const { value } of parameters.get(code)?.extractor?.extract(resource) ?? []) {
      if (referencedType(value) !== 'Patient') continue;
      const parsed = parseReference((value as { reference: string }).reference);
      if (parsed?.type === 'Patient') out.add(`Patient/${parsed.id}`);
    }
  }
  return [...out].sort();
}

/** The member references (`Type/id`) of a Group, active members only, in order; undefined for other types. */
export function groupMembersOf(resource: FhirResource): string[] | undefined {
  if (resource.resourceType !== 'Group') return undefined;
  const members = Array.isArray(resource.member) ? resource.member : [];
  const out: string[] = [];
  for (const member of members) {
    if (!isJsonObject(member) || member.inactive === true || !isJsonObject(member.entity)) continue;
    const reference = member.entity.reference;
    const parsed = typeof reference === 'string' ? parseReference(reference) : undefined;
    if (parsed) out.push(`${parsed.type}/${parsed.id}`);
  }
  return [...new Set(out)];
}
