/**
 * A `Type?query` criterion (an export's `_typeFilter`, a conditional reference)
 * compiled by the search engine: the same parse as a search and the same SQL
 * (`whereOf`), without result parameters, which mean nothing in a filter.
 */
import { isStorableType } from '../fhir/resource-types.ts';
import { parseSearch } from './parse.ts';
import type { ParseOptions } from './parse.ts';
import type { Condition, Unsupported } from './query.ts';

/** A parsed criterion: its conditions, and what it would leave out (with why). */
export interface TypeQuery {
  /** The type it selects. */
  resourceType: string;
  /** Conditions, all of which must hold (`whereOf` turns them into SQL). */
  conditions: Condition[];
  /** Parameters that cannot be applied, with the reason; a caller that must apply all of them refuses when this is not empty. */
  unsupported: Unsupported[];
}

/** Parses `Type?param=value&…`; undefined when `text` is not of that form or names no storable R4 type. Bad values throw `FhirError('invalid')`. */
export function parseTypeQuery(text: string, options: ParseOptions = {}): TypeQuery | undefined {
  const question = text.indexOf('?');
  const resourceType = question < 0 ? text : text.slice(0, question);
  if (question < 0 || !isStorableType(resourceType)) return undefined;
  const search = parseSearch(resourceType, new URLSearchParams(text.slice(question + 1)), options);
  const results = search.applied.filter(([name]) => isResultParameter(name));
  const unsupported = [...search.unsupported, ...results.map(([name]) => ({ name, reason: `${name} is a result parameter, which has no meaning in a filter` }))];
  if (search.cursor !== undefined) unsupported.push({ name: '_cursor', reason: '_cursor is a result parameter, which has no meaning in a filter' });
  return { resourceType, conditions: search.conditions, unsupported };
}

const resultParameters = new Set(['_count', '_sort', '_summary', '_total', '_elements', '_include', '_revinclude']);

function isResultParameter(name: string): boolean {
  return resultParameters.has(name.split(':')[0]!);
}
