/**
 * Checks a resource body before anything is written: that it is FHIR JSON of a
 * known, storable type, with an id (when it has one) that keeps the R4 id rule.
 * Deep validation against profiles is out of scope; the checks here are the ones
 * that protect the store and the references between resources.
 */
import { FhirError } from './errors.ts';
import { isValidId } from './ids.ts';
import { isResourceType, isStorableType } from './resource-types.ts';
import { isJsonObject } from './types.ts';
import type { FhirResource } from './types.ts';

/** What the caller expects of the body. */
export interface ResourceExpectation {
  /** The type named in the URL; the body must match it. */
  type?: string;
  /** `required`: the body must carry an id equal to `expectedId` (PUT). `ignored`: any id is dropped by the caller (POST). */
  id?: { mode: 'required'; expectedId: string } | { mode: 'ignored' };
}

/** Validates `value` as a resource body and returns it typed; throws `FhirError('invalid')` otherwise. */
export function validateResource(value: unknown, expect: ResourceExpectation = {}): FhirResource {
  if (!isJsonObject(value)) throw new FhirError('invalid', 'The body is not a JSON object');
  const type = value.resourceType;
  if (typeof type !== 'string' || type === '') throw new FhirError('invalid', 'The body has no resourceType', { expression: 'resourceType' });
  if (!isResourceType(type)) throw new FhirError('invalid', `Unknown resourceType '${type}'`, { expression: 'resourceType' });
  if (!isStorableType(type)) throw new FhirError('invalid', `Resources of type ${type} are not stored`, { expression: 'resourceType' });
  if (expect.type !== undefined && type !== expect.type) {
    throw new FhirError('invalid', `resourceType '${type}' does not match the type in the URL ('${expect.type}')`, { expression: 'resourceType' });
  }
  checkId(value, type, expect);
  if (value.meta !== undefined && !isJsonObject(value.meta)) throw new FhirError('invalid', 'meta must be an object', { expression: `${type}.meta` });
  checkJsonValues(value, type);
  checkContained(value, type);
  return value as FhirResource;
}

function checkId(value: Record<string, unknown>, type: string, expect: ResourceExpectation): void {
  const id = value.id;
  if (expect.id?.mode === 'ignored') return;
  if (expect.id?.mode === 'required') {
    if (id === undefined) throw new FhirError('invalid', 'The body has no id; an update must carry the id of the URL', { expression: `${type}.id` });
    if (id !== expect.id.expectedId) {
      throw new FhirError('invalid', `The id in the body ('${String(id)}') does not match the id in the URL ('${expect.id.expectedId}')`, { expression: `${type}.id` });
    }
  }
  if (id !== undefined && !isValidId(id)) {
    throw new FhirError('invalid', `'${String(id)}' is not a valid FHIR id ([A-Za-z0-9-.]{1,64})`, { expression: `${type}.id` });
  }
}

/** Deepest nesting of objects and arrays accepted (real resources stay far below; the bound keeps every later walk safe). */
export const maxJsonDepth = 100;

// FHIR JSON has no nulls outside arrays and no empty strings (R4 JSON representation, 'Null values').
function checkJsonValues(node: unknown, path: string, depth = 0): void {
  if (depth > maxJsonDepth) throw new FhirError('invalid', `The resource is nested deeper than ${maxJsonDepth} levels`, { expression: path });
  if (Array.isArray(node)) {
    node.forEach((item, i) => {
      if (item !== null && typeof item === 'object') checkJsonValues(item, `${path}[${i}]`, depth + 1);
    });
    return;
  }
  if (!isJsonObject(node)) return;
  for (const [key, child] of Object.entries(node)) {
    if (child === null) throw new FhirError('invalid', `${path}.${key} is null; FHIR JSON leaves absent elements out`, { expression: `${path}.${key}` });
    if (child === '') throw new FhirError('invalid', `${path}.${key} is an empty string`, { expression: `${path}.${key}` });
    if (typeof child === 'object') checkJsonValues(child, `${path}.${key}`, depth + 1);
  }
}

function checkContained(value: Record<string, unknown>, type: string): void {
  if (value.contained === undefined) return;
  if (!Array.isArray(value.contained)) throw new FhirError('invalid', 'contained must be an array', { expression: `${type}.contained` });
  value.contained.forEach((inner, i) => {
    if (!isJsonObject(inner) || !isResourceType(inner.resourceType)) {
      throw new FhirError('invalid', `contained[${i}] is not a resource of a known type`, { expression: `${type}.contained[${i}]` });
    }
  });
}

/** Checks a type taken from a URL: unknown types are `not-found`, non-storable ones `not-supported`. */
export function checkUrlType(type: string): void {
  if (!isResourceType(type)) throw new FhirError('not-found', `Unknown resource type '${type}'`);
  if (!isStorableType(type)) throw new FhirError('not-supported', `Resources of type ${type} are not stored`);
}

/** Checks an id taken from a URL. */
export function checkUrlId(id: string): void {
  if (!isValidId(id)) throw new FhirError('invalid', `'${id}' is not a valid FHIR id ([A-Za-z0-9-.]{1,64})`);
}
