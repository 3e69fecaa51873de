/**
 * `_typeFilter` through the search engine: each filter `Type?query` is parsed by
 * the search parser (fhir-server/search/) and compiled into the same WHERE
 * clauses a `GET [type]?query` uses, so the store evaluates it in the export's
 * scan query and a filtered export writes exactly the resources the search
 * finds. Criteria of one filter must all hold; several filters of one type are
 * alternatives. A filter with a parameter the engine cannot apply is refused by
 * the front door (strict) or left out with a note (lenient), never half applied.
 */
import { FhirError } from '../../fhir/errors.ts';
import { whereOf } from '../../search/sql.ts';
import type { ParseOptions } from '../../search/parse.ts';
import { parseTypeQuery } from '../../search/type-query.ts';
import type { ExportFilter } from '../../store/resource-store.ts';

/** Why `text` cannot be applied as a `_typeFilter`, or undefined when it can; malformed values throw `FhirError('invalid')`. */
export function typeFilterProblem(text: string): string | undefined {
  const parsed = parseTypeQuery(text);
  if (!parsed) return `'${text.slice(0, 100)}' is not of the form Type?param=value on a stored resource type`;
  const [first] = parsed.unsupported;
  if (first) return `search parameter '${first.name}' of ${parsed.resourceType} cannot be applied: ${first.reason}`;
  if (parsed.conditions.length === 0) return `'${text.slice(0, 100)}' has no criteria`;
  return undefined;
}

/** The FHIR base of a kick-off URL (`…/$export`, `…/Patient/$export`, `…/Group/<id>/$export`): absolute references to it in a filter match relative ones. */
export function kickoffBase(requestUrl: string): string | undefined {
  const match = /^(https?:\/\/[^?#]*?)(?:\/Patient|\/Group\/[^/?#]+)?\/\$export(?:[?#]|$)/.exec(requestUrl);
  return match?.[1];
}

/** The scan clauses of the filters among `typeFilters` that name `resourceType` (alternatives ORed); undefined when none do. */
export function typeFilterWhere(typeFilters: readonly string[], resourceType: string, options: Pick<ParseOptions, 'baseUrl' | 'nowMs'> = {}): ExportFilter['where'] {
  const parts: { clauses: string[]; parameters: { name: string; value: never }[] }[] = [];
  typeFilters.forEach((text, index) => {
    const parsed = parseTypeQuery(text, options);
    if (!parsed || parsed.resourceType !== resourceType) return;
    const problem = parsed.unsupported[0] ? `${parsed.unsupported[0].name}: ${parsed.unsupported[0].reason}` : parsed.conditions.length === 0 ? 'no criteria' : undefined;
    if (problem) throw new FhirError('invalid', `_typeFilter ${text.slice(0, 100)}: ${problem}`);
    const where = whereOf(parsed.conditions, 'c', `tf${index}q`);
    parts.push({ clauses: where.clauses, parameters: where.parameters as never });
  });
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return {
    clauses: [`(${parts.map((part) => `(${part.clauses.join(' AND ')})`).join(' OR ')})`],
    parameters: parts.flatMap((part) => part.parameters),
  };
}
