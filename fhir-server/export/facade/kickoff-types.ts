/** `_type` and `_typeFilter` together: a filter may only name a type `_type` keeps (when `_type` is given). */
import { isResourceType } from '../../fhir/resource-types.ts';
import type { ExportLevel } from '../ports.ts';
import { checkTypeFilter, checkTypeName, exportableAt, invalidParameter, splitList, splitTypeFilters } from './kickoff-lists.ts';

/** Refuses (strict) or notes (lenient) something unsupported, naming the parameter. */
export type Unsupported = (parameter: string, message: string) => void;

/** The types and filters to export; `filterValues` undefined when `_typeFilter` was not sent. */
export function typesAndFilters(level: ExportLevel, typeValues: string[], filterValues: string[] | undefined, filtersSupported: boolean, unsupported: Unsupported): { types: string[]; typeFilters: string[] } {
  const requested = [...new Set(splitList('_type', typeValues).map((type) => checkTypeName('_type', type)))];
  const types: string[] = [];
  for (const type of requested) {
    if (!isResourceType(type)) unsupported('_type', `_type ${type} is not an R4 resource type; it was left out`);
    else if (!exportableAt(level, type)) unsupported('_type', `_type ${type} cannot be exported at ${level} level; it was left out`);
    else types.push(type);
  }
  if (requested.length > 0 && types.length === 0) throw invalidParameter('_type', 'names no type this export can include');

  const typeFilters: string[] = [];
  if (filterValues !== undefined && !filtersSupported) unsupported('_typeFilter', '_typeFilter is not supported; it was ignored');
  else {
    for (const query of splitTypeFilters(filterValues ?? [])) {
      const type = checkTypeFilter(query);
      // A filter on a type _type named but lenient handling left out goes with it (already noted).
      if (requested.includes(type) && !types.includes(type)) continue;
      if (!isResourceType(type)) unsupported('_typeFilter', `_typeFilter on ${type}, which is not an R4 resource type, was ignored`);
      else if (requested.length > 0 && !types.includes(type)) throw invalidParameter('_typeFilter', `names ${type}, which _type does not include`);
      else if (!exportableAt(level, type)) unsupported('_typeFilter', `_typeFilter on ${type} cannot apply at ${level} level; it was ignored`);
      else typeFilters.push(query);
    }
  }
  return { types, typeFilters };
}
