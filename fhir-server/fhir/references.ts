/**
 * References between resources: finding them, parsing them and rewriting them.
 * A reference is any string value of a property named `reference`, at any depth
 * (contained resources included).
 */
import { isValidId } from './ids.ts';
import { isResourceType } from './resource-types.ts';
import { isJsonObject } from './types.ts';

/** A relative literal reference `Type/id` (optionally `/_history/vid`). */
export interface ParsedReference {
  /** Resource type. */
  type: string;
  /** Logical id. */
  id: string;
  /** Version, when the reference is version-specific. */
  versionId?: string;
}

/** Calls `visit` with every `reference` string under `node` and lets it replace the value by returning a new one. */
export function mapReferences(node: unknown, visit: (reference: string) => string | undefined): void {
  if (Array.isArray(node)) {
    for (const item of node) mapReferences(item, visit);
    return;
  }
  if (!isJsonObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'reference' && typeof value === 'string') {
      const replaced = visit(value);
      if (replaced !== undefined && replaced !== value) node[key] = replaced;
    } else if (typeof value === 'object' && value !== null) {
      mapReferences(value, visit);
    }
  }
}

/** Every `reference` string under `node`, in document order. */
export function listReferences(node: unknown): string[] {
  const out: string[] = [];
  mapReferences(node, (reference) => {
    out.push(reference);
    return undefined;
  });
  return out;
}

const relativePattern = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/** Parses a relative literal reference; undefined for anything else (absolute URLs, `#contained`, `urn:`, conditional). */
export function parseReference(reference: string): ParsedReference | undefined {
  const match = relativePattern.exec(reference);
  if (!match || !isResourceType(match[1]) || !isValidId(match[2])) return undefined;
  return match[3] ? { type: match[1]!, id: match[2]!, versionId: match[3] } : { type: match[1]!, id: match[2]! };
}

/** A conditional reference `Type?search`, as Synthea and other bulk producers write them. */
export interface ConditionalReference {
  /** Resource type searched. */
  type: string;
  /** Search parameters, in order. */
  params: URLSearchParams;
}

/** Parses `Type?param=value&...`; undefined when `reference` is not conditional. */
export function parseConditionalReference(reference: string): ConditionalReference | undefined {
  const q = reference.indexOf('?');
  if (q <= 0) return undefined;
  const type = reference.slice(0, q);
  if (!isResourceType(type)) return undefined;
  return { type, params: new URLSearchParams(reference.slice(q + 1)) };
}
