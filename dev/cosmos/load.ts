/**
 * Load helpers for the Cosmos DB stand-in: fast bulk inserts and timed paging.
 */
import type { Container, JSONObject, OperationInput, QueryIterator } from '@azure/cosmos';

/**
 * Inserts `count` documents made by `make(i)` (partition key value from `partitionKeyOf`)
 * with the SDK's bulk executor, in calls of `chunk` operations; throws on the first failure.
 */
export async function insertMany<T extends JSONObject>(
  container: Container,
  count: number,
  make: (i: number) => T,
  partitionKeyOf: (doc: T) => string,
  chunk = 10_000,
): Promise<void> {
  for (let start = 0; start < count; start += chunk) {
    const operations: OperationInput[] = [];
    for (let i = start; i < Math.min(count, start + chunk); i += 1) {
      const resourceBody = make(i);
      operations.push({ operationType: 'Create', partitionKey: partitionKeyOf(resourceBody), resourceBody });
    }
    const results = await container.items.executeBulkOperations(operations);
    const failed = results.find((r) => r.error || (r.response && r.response.statusCode >= 400));
    if (failed) throw new Error(`bulk create failed: ${failed.error?.message ?? failed.response?.statusCode}`);
  }
}

/** Result of {@link pageThrough}. */
export interface PagingRun {
  /** Every id seen, with how many times it was seen. */
  ids: Map<string, number>;
  /** Documents returned in total. */
  count: number;
  /** Wall time of each page fetch, in order. */
  pageMs: number[];
  /** Wall time of the whole run. */
  totalMs: number;
}

/** Fetches every page of `iterator` with `fetchNext`, timing each page and counting ids. */
export async function pageThrough<T extends { id: string }>(iterator: QueryIterator<T>): Promise<PagingRun> {
  const ids = new Map<string, number>();
  const pageMs: number[] = [];
  let count = 0;
  const t0 = performance.now();
  while (iterator.hasMoreResults()) {
    const t = performance.now();
    const { resources } = await iterator.fetchNext();
    pageMs.push(performance.now() - t);
    for (const doc of resources) ids.set(doc.id, (ids.get(doc.id) ?? 0) + 1);
    count += resources.length;
  }
  return { ids, count, pageMs, totalMs: performance.now() - t0 };
}
