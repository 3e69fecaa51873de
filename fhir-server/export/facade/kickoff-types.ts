/**
 * `_type` and `_typeFilter` together. A filter may only name a type `_type`
 * keeps (when `_type` is given). At Patient and Group level a type outside the
 * Patient compartment is accepted: the export simply has no output for it,
 * which the job's plan notes in the manifest's error file.
 */
import { isResourceType, isStorableType } from '../../fhir/resource-types.ts';
import { typeFilterProblem } from '../engine/type-filter.ts';
import type { ExportLevel } from '../ports.ts';
import { checkTypeFilter, checkTypeName, exportableAt, invalidParameter, splitList, splitTypeFilters } from './kickoff-lists.ts';

/**
 * Something unsupported, naming the parameter: strict handling refuses the
 * kick-off with `problem`; lenient handling goes ahead and notes `problem` and
 * `consequence` (what became of the value, e.g. "it was left out").
 */
export type Unsupported = (parameter: string, problem: string, consequence: string) => void;

/** The types and filters to export; `filterValues` undefined when `_typeFilter` was not sent. `note` records what holds in any handling. */
export function typesAndFilters(
  level: ExportLevel,
  typeValues: string[],
  filterValues: string[] | undefined,
  filtersSupported: boolean,
  unsupported: Unsupported,
  note: (text: string) => void,
): { types: string[]; typeFilters: string[] } {
  const requested = [...new Set(splitList('_type', typeValues).map((type) => checkTypeName('_type', type)))];
  const types: string[] = [];
  for (const type of requested) {
    if (!isResourceType(type)) unsupported('_type', `_type ${type} is not an R4 resource type`, 'it was left out');
    else if (level === 'system' && !isStorableType(type)) unsupported('_type', `_type ${type} is not stored by this server, so no export can include it`, 'it was left out');
    else types.push(type);
  }
  if (requested.length > 0 && types.length === 0) throw invalidParameter('_type', 'names no type this export can include');

  const typeFilters: string[] = [];
  if (filterValues !== undefined && !filtersSupported) {
    unsupported('_typeFilter', '_typeFilter is not supported by this server', 'it was ignored');
    return { types, typeFilters };
  }
  for (const query of splitTypeFilters(filterValues ?? [])) {
    const type = checkTypeFilter(query);
    // A filter on a type _type named but lenient handling left out goes with it (already noted).
    if (requested.includes(type) && !types.includes(type)) continue;
    if (!isResourceType(type)) unsupported('_typeFilter', `_typeFilter on ${type}: ${type} is not an R4 resource type`, 'the filter was ignored');
    else if (requested.length > 0 && !types.includes(type)) throw invalidParameter('_typeFilter', `names ${type}, which _type does not include`);
    else if (!exportableAt(level, type) && level === 'system') unsupported('_typeFilter', `_typeFilter on ${type}: ${type} is not stored by this server`, 'the filter was ignored');
    else if (!exportableAt(level, type)) {
      // Outside the Patient compartment (Patient/Group level): harmless, and said when _type does not already say it.
      if (!types.includes(type)) note(`_typeFilter on ${type} has no effect: ${type} is not in the Patient compartment, so a ${level}-level export has no ${type} output`);
      typeFilters.push(query);
    } else {
      // A filter the engine cannot evaluate would export resources it should leave out: never silently.
      let problem: string | undefined;
      try {
        problem = typeFilterProblem(query);
      } catch (error) {
        throw invalidParameter('_typeFilter', `${query.slice(0, 100)}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (problem) unsupported('_typeFilter', `_typeFilter ${query.slice(0, 100)}: ${problem}`, `the filter was ignored, so the export may hold ${type} resources it would have left out`);
      else typeFilters.push(query);
    }
  }
  return { types, typeFilters };
}
