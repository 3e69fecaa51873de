/**
 * The bulk load path: resources go in as creates of version 1, many per request
 * (Cosmos bulk operations), with a bounded number of requests in flight. An id
 * that already exists falls back to a normal versioned update.
 */
import type { CreateOperationInput } from '@azure/cosmos';
import { cosmosStatus, toFhirError } from './cosmos-errors.ts';
import type { ResourceDocuments } from './cosmos-documents.ts';
import { liveDocument, withoutSystemProperties } from './document.ts';
import { mapBounded } from './pool.ts';
import type { BulkUpsertOptions, BulkUpsertResult, IdentifiedResource, WriteResult } from './resource-store.ts';

/** Operations per bulk request. */
export const bulkChunkSize = 100;

/** Bulk-loads `resources`; `update` is the store's single versioned update, used for ids that already exist. */
export async function bulkUpsert(
  documents: ResourceDocuments,
  update: (resource: IdentifiedResource) => Promise<WriteResult>,
  resources: IdentifiedResource[],
  options: BulkUpsertOptions = {},
): Promise<BulkUpsertResult> {
  const result: BulkUpsertResult = { created: 0, updated: 0, failed: [] };
  const chunks: number[] = [];
  for (let start = 0; start < resources.length; start += bulkChunkSize) chunks.push(start);
  let done = 0;
  await mapBounded(chunks, options.concurrency ?? 8, async (start) => {
    const slice = resources.slice(start, start + bulkChunkSize);
    const now = Date.now();
    const operations: CreateOperationInput[] = slice.map((resource) => {
      const doc = withoutSystemProperties(liveDocument(resource, 1, now));
      return { operationType: 'Create', partitionKey: doc.pk, resourceBody: doc as unknown as CreateOperationInput['resourceBody'] };
    });
    let responses;
    try {
      responses = await documents.container.items.executeBulkOperations(operations);
    } catch (error) {
      const failure = toFhirError(error, 'bulk loading');
      slice.forEach((_, i) => result.failed.push({ index: start + i, error: failure }));
      return;
    }
    await Promise.all(
      responses.map(async (response, i) => {
        const status = response.response?.statusCode ?? cosmosStatus(response.error);
        if (status !== undefined && status >= 200 && status < 300) {
          result.created += 1;
        } else if (status === 409) {
          try {
            await update(slice[i]!);
            result.updated += 1;
          } catch (error) {
            result.failed.push({ index: start + i, error: toFhirError(error, 'bulk loading') });
          }
        } else {
          result.failed.push({ index: start + i, error: toFhirError(response.error ?? new Error(`status ${status}`), 'bulk loading') });
        }
      }),
    );
    done += slice.length;
    options.onProgress?.(done);
  });
  result.failed.sort((a, b) => a.index - b.index);
  return result;
}
