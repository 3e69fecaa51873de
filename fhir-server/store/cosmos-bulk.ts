/**
 * The bulk load path. Resources go in as creates of version 1, grouped by
 * partition key into transactional batch requests of up to 100 operations (one
 * request per group), with a bounded number of requests in flight; each batch is
 * stamped just before it is sent (write-clock.ts). Anything a batch did not
 * create (the id exists, a failed sibling in the atomic batch, a batch refused as
 * a whole) is written again by the normal versioned update.
 */
import type { CreateOperationInput } from '@azure/cosmos';
import { toFhirError } from './cosmos-errors.ts';
import type { ResourceDocuments } from './cosmos-documents.ts';
import { liveDocument, restamp, withoutSystemProperties } from './document.ts';
import type { ResourceDocument } from './document.ts';
import { mapBounded } from './pool.ts';
import type { BulkUpsertOptions, BulkUpsertResult, IdentifiedResource, WriteResult } from './resource-store.ts';
import type { WriteClock } from './write-clock.ts';

/** Operations per batch request (the Cosmos limit). */
export const batchMaxOperations = 100;
/** Payload per batch request, in bytes of JSON (under the 2 MB Cosmos limit). */
export const batchMaxBytes = 1_500_000;

interface Batch {
  pk: string;
  items: { index: number; doc: ResourceDocument }[];
}

/** Splits documents into per-partition batches within the operation and size limits. */
export function toBatches(docs: ResourceDocument[]): Batch[] {
  const open = new Map<string, Batch & { bytes: number }>();
  const out: Batch[] = [];
  docs.forEach((doc, index) => {
    const bytes = JSON.stringify(doc).length;
    let batch = open.get(doc.pk);
    if (!batch || batch.items.length >= batchMaxOperations || batch.bytes + bytes > batchMaxBytes) {
      batch = { pk: doc.pk, items: [], bytes: 0 };
      open.set(doc.pk, batch);
      out.push(batch);
    }
    batch.items.push({ index, doc });
    batch.bytes += bytes;
  });
  return out;
}

/** Bulk-loads `resources`; `update` is the store's single versioned update, the fallback for anything not created. */
export async function bulkUpsert(
  documents: ResourceDocuments,
  clock: WriteClock,
  update: (resource: IdentifiedResource) => Promise<WriteResult>,
  resources: IdentifiedResource[],
  options: BulkUpsertOptions = {},
): Promise<BulkUpsertResult> {
  const result: BulkUpsertResult = { created: 0, updated: 0, failed: [] };
  const planned = Date.now();
  const batches = toBatches(resources.map((resource) => withoutSystemProperties(liveDocument(resource, 1, planned))));
  let done = 0;
  await mapBounded(batches, options.concurrency ?? 8, async (batch) => {
    let statuses: number[] = [];
    const stamp = await clock.begin();
    try {
      const operations: CreateOperationInput[] = batch.items.map(({ doc }) => ({
        operationType: 'Create',
        resourceBody: restamp(doc, stamp.ms) as unknown as CreateOperationInput['resourceBody'],
      }));
      const response = await documents.container.items.batch(operations, batch.pk, { abortSignal: stamp.signal });
      statuses = (response.result ?? []).map((r) => r.statusCode);
    } catch {
      statuses = []; // the batch as a whole was refused or abandoned: every item takes the fallback
    } finally {
      stamp.done();
    }
    await Promise.all(
      batch.items.map(async ({ index }, i) => {
        if (statuses[i] === 201) {
          result.created += 1;
          return;
        }
        try {
          const written = await update(resources[index]!);
          if (written.outcome === 'created') result.created += 1;
          else result.updated += 1;
        } catch (error) {
          result.failed.push({ index, error: toFhirError(error, 'bulk loading') });
        }
      }),
    );
    done += batch.items.length;
    options.onProgress?.(done);
  });
  result.failed.sort((a, b) => a.index - b.index);
  return result;
}
