/**
 * Where a search reads: the port (one method, run a Cosmos SQL query) and its
 * Cosmos DB adapter over the store's resource container.
 */
import type { Container, SqlQuerySpec } from '@azure/cosmos';
import { toFhirError } from '../store/cosmos-errors.ts';

/** Runs search queries. */
export interface SearchSource {
  /** Every row of `spec` (a `TOP` query returns at most its top; an aggregate one row per partition range). */
  query<T>(spec: SqlQuerySpec, doing: string): Promise<T[]>;
}

/** The Cosmos DB adapter: queries the resource container (errors become `FhirError`s). */
export function cosmosSearchSource(container: Container): SearchSource {
  return {
    async query<T>(spec: SqlQuerySpec, doing: string): Promise<T[]> {
      try {
        const { resources } = await container.items.query<T>(spec).fetchAll();
        return resources;
      } catch (error) {
        throw toFhirError(error, doing);
      }
    },
  };
}
