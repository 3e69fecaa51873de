/**
 * `_include` and `_revinclude`, one level: the resources the page's matches
 * refer to through a reference parameter (read by id, per type), and the
 * resources that refer to the matches through one (one query per parameter,
 * scoped to its type). At most `limit` resources are added to a page; the
 * caller reports a cut.
 */
import type { FhirResource } from '../fhir/types.ts';
import { parseReference } from '../fhir/references.ts';
import { indexEntries } from './index-values.ts';
import { parametersOf } from './parameters.ts';
import type { ParsedSearch } from './query.ts';
import type { SearchSource } from './search-source.ts';
import { byIdsQuery, referringQuery } from './sql.ts';

/** Resources added to a page. */
export interface Included {
  /** The resources, each once, none of them a match. */
  resources: FhirResource[];
  /** True when more would have been added than the limit allows. */
  cut: boolean;
}

const idsPerQuery = 256;

/** `Type/id` of a reference value, taking absolute references to this server as relative. */
function relativeOf(reference: string, baseUrl: string): { type: string; id: string } | undefined {
  const relative = reference.startsWith(`${baseUrl}/`) ? reference.slice(baseUrl.length + 1) : reference;
  const parsed = parseReference(relative);
  return parsed ? { type: parsed.type, id: parsed.id } : undefined;
}

/** The included resources of a page of `matches`. */
export async function fetchIncluded(source: SearchSource, search: ParsedSearch, matches: FhirResource[], baseUrl: string, limit: number, asOfMs: number): Promise<Included> {
  const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const out: FhirResource[] = [];
  let cut = false;
  const add = (resource: FhirResource): void => {
    const key = `${resource.resourceType}/${resource.id}`;
    if (seen.has(key)) return;
    if (out.length >= limit) {
      cut = true;
      return;
    }
    seen.add(key);
    out.push(resource);
  };

  // _include: the references of the matches, grouped by type, read by id.
  const wanted = new Map<string, Set<string>>();
  for (const spec of search.include) {
    const extractor = parametersOf(spec.sourceType).get(spec.code)?.extractor;
    if (!extractor) continue;
    for (const match of matches) {
      for (const reference of indexEntries('reference', extractor.extract(match)) as string[]) {
        const target = relativeOf(reference, baseUrl);
        if (!target || (spec.targetType && target.type !== spec.targetType)) continue;
        if (!wanted.has(target.type)) wanted.set(target.type, new Set());
        wanted.get(target.type)!.add(target.id);
      }
    }
  }
  for (const [type, idSet] of wanted) {
    const ids = [...idSet].filter((id) => !seen.has(`${type}/${id}`)).sort();
    for (let i = 0; i < ids.length; i += idsPerQuery) {
      const rows = await source.query<{ resource: FhirResource }>(byIdsQuery(type, ids.slice(i, i + idsPerQuery), asOfMs), `reading ${type} for _include`);
      for (const row of rows.sort((a, b) => (a.resource.id! < b.resource.id! ? -1 : 1))) add(row.resource);
    }
  }

  // _revinclude: resources whose parameter refers to a match.
  if (search.revinclude.length > 0 && matches.length > 0) {
    const references = matches.flatMap((m) => [`${m.resourceType}/${m.id}`, `${baseUrl}/${m.resourceType}/${m.id}`]);
    for (const spec of search.revinclude) {
      const top = limit - out.length + 1;
      if (top <= 1) {
        cut = true;
        break;
      }
      const rows = await source.query<{ resource: FhirResource }>(referringQuery(spec.sourceType, spec.code, references, top, asOfMs), `reading ${spec.sourceType} for _revinclude`);
      for (const row of rows) add(row.resource);
    }
  }
  return { resources: out, cut };
}
