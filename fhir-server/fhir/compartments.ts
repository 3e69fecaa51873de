/**
 * Patient compartment membership and Group membership of a resource, computed
 * once at write time and stored beside it so exports can select by patient.
 */
import { patientCompartmentPaths } from './patient-compartment.ts';
import { parseReference } from './references.ts';
import { isJsonObject } from './types.ts';
import type { FhirResource } from './types.ts';

function valuesAt(node: unknown, path: readonly string[]): unknown[] {
  if (Array.isArray(node)) return node.flatMap((item) => valuesAt(item, path));
  if (path.length === 0) return [node];
  if (!isJsonObject(node)) return [];
  return valuesAt(node[path[0]!], path.slice(1));
}

function referencesAt(resource: FhirResource, path: string): string[] {
  return valuesAt(resource, path.split('.'))
    .map((value) => (isJsonObject(value) && typeof value.reference === 'string' ? value.reference : undefined))
    .filter((value): value is string => value !== undefined);
}

function patientRef(reference: string): string | undefined {
  const parsed = parseReference(reference);
  return parsed?.type === 'Patient' ? `Patient/${parsed.id}` : undefined;
}

/**
 * The Patient compartments (`Patient/<id>`) `resource` belongs to: a Patient's own,
 * plus every Patient referenced through the R4 Patient compartment parameters of its type.
 * Sorted and without duplicates.
 */
export function patientCompartmentsOf(resource: FhirResource): string[] {
  const out = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) out.add(`Patient/${resource.id}`);
  for (const path of patientCompartmentPaths[resource.resourceType] ?? []) {
    for (const reference of referencesAt(resource, path)) {
      const ref = patientRef(reference);
      if (ref) out.add(ref);
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
