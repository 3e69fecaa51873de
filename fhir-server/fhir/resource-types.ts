/**
 * The resource types of FHIR R4 (4.0.1), from the specification's StructureDefinitions
 * (`r4Definitions()`, read on first use). The server stores any of them; a type not
 * among them is unknown and gets a 404/400 OperationOutcome.
 */
import { r4Definitions } from './definitions.ts';

let known: ReadonlySet<string> | undefined;

/** Every R4 resource type name, sorted. */
export function r4ResourceTypes(): readonly string[] {
  return r4Definitions().resourceTypes;
}

/** Types that are never stored as resources of their own: they only travel in requests and responses. */
export const transientResourceTypes: ReadonlySet<string> = new Set(['OperationOutcome', 'Parameters']);

/** True when `type` is an R4 resource type. */
export function isResourceType(type: unknown): type is string {
  known ??= new Set(r4ResourceTypes());
  return typeof type === 'string' && known.has(type);
}

/** True when the server stores resources of `type` (an R4 type, not a transient one). */
export function isStorableType(type: unknown): type is string {
  return isResourceType(type) && !transientResourceTypes.has(type);
}
