/**
 * Validation of resources already in the store, which older versions of the
 * server wrote without R4 validation: pure functions, for a migration that
 * flags them, a command that lists them, and the export (docs/validation.md).
 */
import { isValidId } from '../ids.ts';
import { isResourceType } from '../resource-types.ts';
import { isJsonObject } from '../types.ts';
import { issue, mergeIssues, type ValidationIssue } from './issues.ts';
import { datatypeIssues, resourceIssues } from './resource-check.ts';
import { depthIssue, emptyValueIssues, shapeIssues } from './store-rules.ts';

// The checks every stored resource needs before anything walks it: an object of a known type, with a valid id, not too deep.
function gateIssues(resource: unknown): { type: string; issues: ValidationIssue[]; stop: boolean } {
  if (!isJsonObject(resource)) return { type: 'Resource', issues: [issue('structure', 'not a JSON object', 'Resource', true)], stop: true };
  const type = resource.resourceType;
  if (!isResourceType(type)) return { type: 'Resource', issues: [issue('structure', `resourceType '${String(type)}' is not an R4 resource type`, 'Resource.resourceType', true)], stop: true };
  const deep = depthIssue(resource, type);
  if (deep) return { type, issues: [deep], stop: true };
  const idIssue = isValidId(resource.id) ? [] : [issue('value', `'${String(resource.id)}' is not a valid FHIR id ([A-Za-z0-9-.]{1,64})`, `${type}.id`, true)];
  return { type, issues: idIssue, stop: false };
}

/**
 * Every problem of a stored resource, as a write today would report it (store
 * rules, datatypes, required bindings, element names, cardinality, formats,
 * invariants); empty when it is valid. Never throws. Costs what a write's
 * validation costs (see docs/validation.md), so it suits a migration pass.
 */
export function storedResourceIssues(resource: unknown): ValidationIssue[] {
  const gate = gateIssues(resource);
  if (gate.stop) return gate.issues;
  const value = resource as Record<string, unknown>;
  return mergeIssues([...gate.issues, ...shapeIssues(value, gate.type), ...emptyValueIssues(value, gate.type)], resourceIssues(value));
}

/**
 * The issues that keep a stored resource out of an export: values that are no
 * value of their FHIR datatype (`breaksDatatype`). Empty for any resource a
 * write with R4 validation accepts. Fast enough for every exported line (the
 * datatype part of the walk only).
 */
export function exportBlockers(resource: unknown): ValidationIssue[] {
  const gate = gateIssues(resource);
  if (gate.stop) return gate.issues;
  return [...gate.issues, ...datatypeIssues(resource as Record<string, unknown>).filter((i) => i.breaksDatatype)];
}
