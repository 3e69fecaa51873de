/**
 * Checks a resource body before anything is written. First the gates, each of
 * which stops the check (nothing after it could run safely or make sense):
 * a JSON object, of a known storable type (the one in the URL), nested at most
 * {@link maxJsonDepth} deep, not larger than the resource limit. Then every
 * problem is collected into one `FhirError` (one OperationOutcome issue each):
 * the id rule and what the request expects of the id, the store rules (no
 * nulls, empty strings or empty arrays; contained resources of known types) and,
 * unless switched off, R4 validation against the StructureDefinitions
 * (validation/resource-check.ts). Rules and policy: docs/validation.md.
 */
import { FhirError } from './errors.ts';
import { isValidId } from './ids.ts';
import { isResourceType, isStorableType } from './resource-types.ts';
import { isJsonObject } from './types.ts';
import type { FhirResource } from './types.ts';
import { issue, mergeIssues, type ValidationIssue } from './validation/issues.ts';
import { resourceIssues } from './validation/resource-check.ts';
import { depthIssue, emptyValueIssues, shapeIssues } from './validation/store-rules.ts';

export { maxJsonDepth } from './validation/store-rules.ts';

/** What the caller expects of the body. */
export interface ResourceExpectation {
  /** The type named in the URL; the body must match it. */
  type?: string;
  /** `required`: the body must carry an id equal to `expectedId` (PUT). `ignored`: any id is dropped by the caller (POST). */
  id?: { mode: 'required'; expectedId: string } | { mode: 'ignored' };
}

/** How much is checked. */
export interface ValidationOptions {
  /** Validate against the R4 StructureDefinitions and required bindings (default true); the store rules hold either way. */
  r4?: boolean;
  /** Largest resource accepted, in bytes of JSON; larger is `too-large` (413). */
  maxBytes?: number;
}

/** Validates `value` as a resource body and returns it typed; throws a `FhirError` (`invalid`, one issue per problem; `too-large`) otherwise. */
export function validateResource(value: unknown, expect: ResourceExpectation = {}, options: ValidationOptions = {}): FhirResource {
  const type = checkGates(value, expect, options);
  const resource = value as Record<string, unknown>;
  const found = [...idIssues(resource, type, expect), ...shapeIssues(resource, type), ...emptyValueIssues(resource, type)];
  const issues = options.r4 === false ? found : mergeIssues(found, resourceIssues(resource));
  if (issues.length > 0) throw invalidResource(type, issues);
  return resource as FhirResource;
}

/** The gates of {@link validateResource}; returns the resource type. */
function checkGates(value: unknown, expect: ResourceExpectation, options: ValidationOptions): string {
  if (!isJsonObject(value)) throw new FhirError('invalid', 'The body is not a JSON object');
  const type = value.resourceType;
  if (typeof type !== 'string' || type === '') throw new FhirError('invalid', 'The body has no resourceType', { expression: 'resourceType' });
  if (!isResourceType(type)) throw new FhirError('invalid', `Unknown resourceType '${type}'`, { expression: 'resourceType' });
  if (!isStorableType(type)) throw new FhirError('invalid', `Resources of type ${type} are not stored`, { expression: 'resourceType' });
  if (expect.type !== undefined && type !== expect.type) {
    throw new FhirError('invalid', `resourceType '${type}' does not match the type in the URL ('${expect.type}')`, { expression: 'resourceType' });
  }
  const deep = depthIssue(value, type);
  if (deep) throw new FhirError('invalid', deep.diagnostics, { expression: deep.expression });
  if (options.maxBytes !== undefined && Buffer.byteLength(JSON.stringify(value)) > options.maxBytes) {
    throw new FhirError('too-large', `The resource is larger than ${options.maxBytes} bytes`);
  }
  return type;
}

function idIssues(value: Record<string, unknown>, type: string, expect: ResourceExpectation): ValidationIssue[] {
  const id = value.id;
  if (expect.id?.mode === 'ignored') return [];
  const at = `${type}.id`;
  if (expect.id?.mode === 'required') {
    if (id === undefined) return [issue('required', 'The body has no id; an update must carry the id of the URL', at, false)];
    if (id !== expect.id.expectedId) return [issue('value', `The id in the body ('${String(id)}') does not match the id in the URL ('${expect.id.expectedId}')`, at, false)];
  }
  if (id !== undefined && !isValidId(id)) return [issue('value', `'${String(id)}' is not a valid FHIR id ([A-Za-z0-9-.]{1,64})`, at, true)];
  return [];
}

/** The `invalid` error listing `issues` of a resource of `type`; its message names the first few. */
export function invalidResource(type: string, issues: readonly ValidationIssue[]): FhirError {
  const first = issues.slice(0, 3).map((i) => `${i.expression}: ${i.diagnostics}`).join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  const message = issues.length === 1 ? `${type} is not valid: ${first}` : `${type} is not valid (${issues.length} problems): ${first}${more}`;
  return new FhirError('invalid', message, {
    ...(issues.length === 1 ? { expression: issues[0]!.expression } : {}),
    issues: issues.map((i) => ({ code: i.code, diagnostics: i.diagnostics, expression: i.expression })),
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
