/**
 * Where a search reads, in the store's layout: the WHERE clauses that select the
 * current, live documents of one resource type (partition keys first, so Cosmos DB
 * routes the query to the type's partitions only). Search (`../search/`) adds its
 * own clauses over the document's search index to these; the layout stays the
 * store's business.
 */
import type { SqlParameter } from '@azure/cosmos';
import { partitionKeysOf } from './document.ts';

/** WHERE clauses (joined with AND) and their parameters. */
export interface SqlScope {
  /** Clauses over the document alias given. */
  clauses: string[];
  /** Parameters the clauses use (names prefixed `@scope`). */
  parameters: SqlParameter[];
}

/** The current, live documents of `resourceType` (document alias `alias`). */
export function liveScope(resourceType: string, alias = 'c'): SqlScope {
  const pks = partitionKeysOf(resourceType);
  return {
    clauses: [`${alias}.pk IN (${pks.map((_, i) => `@scopePk${i}`).join(', ')})`, `${alias}.deleted = false`],
    parameters: pks.map((value, i) => ({ name: `@scopePk${i}`, value })),
  };
}
