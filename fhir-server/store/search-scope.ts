/**
 * Where a search reads, in the store's layout: the WHERE clauses that select the
 * live documents of one resource type — its current versions, or the versions
 * that were current at an instant (`asOfMs`: a search whose pages must not move
 * while others write). Search (`../search/`) adds its own clauses over the
 * document's search index to these; the layout stays the store's business.
 */
import type { SqlParameter } from '@azure/cosmos';
import { bucketRangeWhere } from './export-sql.ts';
import { openEnd } from './layout.ts';

/** WHERE clauses (joined with AND) and their parameters. */
export interface SqlScope {
  /** Clauses over the document alias given. */
  clauses: string[];
  /** Parameters the clauses use (names prefixed `@scope`). */
  parameters: SqlParameter[];
}

/** The live documents of `resourceType` (document alias `alias`): current versions, or those current at `asOfMs`. */
export function liveScope(resourceType: string, alias = 'c', options: { asOfMs?: number } = {}): SqlScope {
  const { clauses, parameters } = bucketRangeWhere(resourceType, undefined, alias, '@scopePk');
  if (options.asOfMs === undefined) {
    clauses.push(`${alias}.endMs = @scopeOpenEnd`);
    parameters.push({ name: '@scopeOpenEnd', value: openEnd });
  } else {
    clauses.push(`${alias}.lastUpdatedMs <= @scopeAsOf`, `${alias}.endMs > @scopeAsOf`);
    parameters.push({ name: '@scopeAsOf', value: options.asOfMs });
  }
  clauses.push(`${alias}.deleted = false`);
  return { clauses, parameters };
}
