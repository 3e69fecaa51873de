/**
 * `_elements`: keeps `resourceType`, `id`, `meta` and the listed top-level
 * elements (`name` for every type, `Patient.name` for one type) and tags the
 * result SUBSETTED. A type none of the listed elements applies to is exported whole.
 */
import type { FhirResource } from '../../fhir/types.ts';

/** The tag that marks a subsetted resource, in its plain form: `system` and `code` only. */
export const subsettedTag = Object.freeze({ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' });

/** The top-level elements `elements` keeps for `resourceType`; undefined when none applies (export whole). */
export function elementsFor(elements: readonly string[], resourceType: string): Set<string> | undefined {
  const kept = new Set<string>();
  for (const element of elements) {
    const dot = element.indexOf('.');
    if (dot < 0) kept.add(element);
    else if (element.slice(0, dot) === resourceType) kept.add(element.slice(dot + 1).split('.')[0]!);
  }
  return kept.size > 0 ? kept : undefined;
}

/** `resource` with only `resourceType`, `id`, `meta` and `kept`, keys in their original order, meta tagged SUBSETTED. */
export function subsetResource(resource: FhirResource, kept: ReadonlySet<string>): FhirResource {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType' || key === 'id' || kept.has(key)) out[key] = value;
    else if (key === 'meta') out[key] = value;
  }
  const meta = { ...((out.meta as Record<string, unknown> | undefined) ?? {}) };
  const tags = Array.isArray(meta.tag) ? [...(meta.tag as unknown[])] : [];
  const isSubsetted = (t: unknown) => (t as { system?: string; code?: string })?.code === subsettedTag.code && (t as { system?: string }).system === subsettedTag.system;
  if (!tags.some(isSubsetted)) tags.push({ ...subsettedTag });
  meta.tag = tags;
  if (!('meta' in out)) {
    // Keep meta right after id, as the server writes it.
    const { resourceType, id, ...rest } = out;
    return { resourceType: resourceType as string, ...(id === undefined ? {} : { id }), meta, ...rest } as FhirResource;
  }
  out.meta = meta;
  return out as FhirResource;
}
