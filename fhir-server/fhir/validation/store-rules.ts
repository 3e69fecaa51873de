/**
 * The rules that protect the store whatever else is checked: a bounded nesting
 * depth (every later walk stays safe), FHIR JSON's "no nulls, no empty strings,
 * no empty arrays" (R4 JSON representation), and contained resources of known
 * types. They hold with R4 validation switched off too.
 */
import { isResourceType } from '../resource-types.ts';
import { isJsonObject } from '../types.ts';
import { issue, type ValidationIssue } from './issues.ts';

/** Deepest nesting of objects and arrays accepted (real resources stay far below; the bound keeps every later walk safe). */
export const maxJsonDepth = 100;

/** The nesting problem of `value`, if it is deeper than {@link maxJsonDepth}; checked first, since nothing else walks such a value safely. */
export function depthIssue(value: unknown, path: string): ValidationIssue | undefined {
  const walk = (node: unknown, at: string, depth: number): ValidationIssue | undefined => {
    if (depth > maxJsonDepth) return issue('structure', `The resource is nested deeper than ${maxJsonDepth} levels`, at, true);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const found = typeof node[i] === 'object' && node[i] !== null ? walk(node[i], `${at}[${i}]`, depth + 1) : undefined;
        if (found) return found;
      }
    } else if (isJsonObject(node)) {
      for (const key of Object.keys(node)) {
        const child = node[key];
        const found = typeof child === 'object' && child !== null ? walk(child, `${at}.${key}`, depth + 1) : undefined;
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(value, path, 0);
}

/** Nulls, empty strings and empty arrays anywhere in `value` (a null inside an array is FHIR's placeholder and allowed). */
export function emptyValueIssues(value: Record<string, unknown>, path: string): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        if (item !== null && typeof item === 'object') walk(item, `${at}[${i}]`);
      });
      return;
    }
    if (!isJsonObject(node)) return;
    for (const key of Object.keys(node)) {
      const child = node[key];
      const where = `${at}.${key}`;
      if (child === null) out.push(issue('structure', `${key} is null; FHIR JSON leaves absent elements out`, where, true));
      else if (child === '') out.push(issue('value', `${key} is an empty string`, where, true));
      else if (Array.isArray(child) && child.length === 0) out.push(issue('structure', `${key} is an empty array; FHIR JSON leaves absent elements out`, where, false));
      else if (typeof child === 'object') walk(child, where);
    }
  };
  walk(value, path);
  return out;
}

/** `meta` must be an object and `contained` an array of resources of known types. */
export function shapeIssues(value: Record<string, unknown>, type: string): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  if (value.meta !== undefined && !isJsonObject(value.meta)) out.push(issue('structure', 'meta must be an object', `${type}.meta`, true));
  if (value.contained === undefined) return out;
  if (!Array.isArray(value.contained)) return [...out, issue('structure', 'contained must be an array', `${type}.contained`, true)];
  value.contained.forEach((inner, i) => {
    if (!isJsonObject(inner) || !isResourceType(inner.resourceType)) out.push(issue('structure', `contained[${i}] is not a resource of a known type`, `${type}.contained[${i}]`, true));
  });
  return out;
}
