/**
 * The search index of a resource, computed at write time and stored in its
 * document under `idx` (docs/search.md):
 *
 * - `idx.p[code]`: the index entries of every supported parameter that has values
 *   (a parameter without values has no key, which is what `:missing` asks about);
 * - `idx.o[code]` / `idx.o["-" + code]`: sort keys of `_lastUpdated` and of every
 *   date parameter, ascending (earliest start) and descending (latest end), each
 *   ending in `|<id>`, so one ORDER BY on one string gives a total order and a
 *   keyset position, and no composite index per parameter is needed. A resource
 *   without a value has no key: Cosmos DB leaves documents without the ORDER BY
 *   property out of a sorted query, so a sorted search reads them in a second
 *   phase, after every resource with a value (see sql.ts).
 *
 * Pure: resource in, JSON out. Indexing can be switched off (for measuring the
 * write path without it); documents written then are invisible to search.
 */
import type { FhirResource } from '../fhir/types.ts';
import { dateRange, sortableInstant } from './dates.ts';
import { indexEntries } from './index-values.ts';
import type { DateEntry, IndexEntry } from './index-values.ts';
import { parametersOf } from './parameters.ts';
import type { TypeParameter } from './parameters.ts';

/** The stored index of one resource. */
export interface SearchIndex {
  /** Parameter code → entries (only parameters with values). */
  p: Record<string, IndexEntry[]>;
  /** Sort key name → sort key (see the module comment). */
  o: Record<string, string>;
}

let enabled = true;

/** Turns indexing at write time on (the default) or off. */
export function setSearchIndexing(on: boolean): void {
  enabled = on;
}

/** True when writes are indexed. */
export function searchIndexingEnabled(): boolean {
  return enabled;
}

interface TypeIndexer {
  parameters: TypeParameter[];
  dateCodes: Set<string>;
}

const indexers = new Map<string, TypeIndexer>();

function indexerOf(resourceType: string): TypeIndexer {
  let indexer = indexers.get(resourceType);
  if (!indexer) {
    const all = [...parametersOf(resourceType).values()];
    const parameters = all.filter((p) => p.extractor !== undefined);
    indexer = { parameters, dateCodes: new Set(parameters.filter((p) => p.type === 'date').map((p) => p.code)) };
    indexers.set(resourceType, indexer);
  }
  return indexer;
}

/** Codes of the sort keys every resource of `resourceType` carries (ascending names; `-code` is descending). */
export function sortCodesOf(resourceType: string): string[] {
  return ['_lastUpdated', ...indexerOf(resourceType).dateCodes];
}

/** The search index of `resource` (which has its id and `meta.lastUpdated`); undefined when indexing is off. */
export function searchIndexOf(resource: FhirResource): SearchIndex | undefined {
  if (!enabled) return undefined;
  const id = resource.id ?? '';
  const p: Record<string, IndexEntry[]> = {};
  const o: Record<string, string> = {};
  const indexer = indexerOf(resource.resourceType);
  for (const parameter of indexer.parameters) {
    const entries = indexEntries(parameter.type, parameter.extractor!.extract(resource));
    if (entries.length > 0) p[parameter.code] = entries;
    if (parameter.type === 'date' && entries.length > 0) {
      const ranges = entries as DateEntry[];
      o[parameter.code] = `${sortableInstant(Math.min(...ranges.map((r) => r.s)))}|${id}`;
      o[`-${parameter.code}`] = `${sortableInstant(Math.max(...ranges.map((r) => r.e)))}|${id}`;
    }
  }
  const updated = typeof resource.meta?.lastUpdated === 'string' ? dateRange(resource.meta.lastUpdated) : undefined;
  if (updated) o._lastUpdated = lastUpdatedSortKey(id, updated.start);
  return { p, o };
}

/** The `_lastUpdated` sort key of version instant `lastUpdatedMs` of resource `id` (the store sets it again when it re-stamps a version). */
export function lastUpdatedSortKey(id: string, lastUpdatedMs: number): string {
  return `${sortableInstant(lastUpdatedMs)}|${id}`;
}
