/**
 * The bulk load path. Resources go in as creates of version 1, in bulk requests
 * of up to 100 operations (the SDK's bulk executor groups them per physical
 * partition; documents of many logical partitions share a request), with a
 * bounded number of requests in flight; each request is stamped just before it
 * is sent (write-clock.ts). Anything a request did not create (the id exists, a
 * request refused or abandoned as a whole) is written again by the normal
 * versioned update.
 */
import type { OperationInput } from '@azure/cosmos';
import { toFhirError } from './cosmos-errors.ts';
import type { ResourceDocuments } from './cosmos-documents.ts';
import { liveDocument, restamp, withoutSystemProperties } from './document.ts';
import type { ResourceDocument } from './document.ts';
import { mapBounded } from './pool.ts';
import type { BulkUpsertOptions, BulkUpsertResult, IdentifiedResource, WriteResult } from './resource-store.ts';
import type { WriteClock } from './write-clock.ts';

/** Operations per bulk request (the Cosmos limit). */
export const bulkMaxOperations = 100;
/** Payload per bulk request, in bytes of JSON (under the 2 MB Cosmos limit). */
export const bulkMaxBytes = 1_500_000;

interface Group {
  items: { index: number; doc: ResourceDocument }[];
}

/** Splits documents into groups within the operation and size limits of one request. */
export function toGroups(docs: ResourceDocument[]): Group[] {
  const out: Group[] = [];
  let open: Group & { bytes: number } = { items: [], bytes: 0 };
  docs.forEach((doc, index) => {
    const bytes = JSON.stringify(doc).length;
    if (open.items.length >= bulkMaxOperations || (open.items.length > 0 && open.bytes + bytes > bulkMaxBytes)) {
      out.push(open);
      open = { items: [], bytes: 0 };
    }
    open.items.push({ index, doc });
    open.bytes += bytes;
  });
  if (open.items.length > 0) out.push(open);
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
  const groups = toGroups(resources.map((resource) => withoutSystemProperties(liveDocument(resource, 1, planned))));
  let done = 0;
  await mapBounded(groups, options.concurrency ?? 8, async (group) => {
    let statuses: (number | undefined)[] = [];
    const stamp = await clock.begin();
    try {
      const operations: OperationInput[] = group.items.map(({ doc }) => ({
        operationType: 'Create',
        partitionKey: doc.pk,
        resourceBody: restamp(doc, stamp.ms) as never,
      }));
      const results = await documents.container.items.executeBulkOperations(operations, { abortSignal: stamp.signal });
      statuses = results.map((r) => r.response?.statusCode);
    } catch {
      statuses = []; // refused or abandoned as a whole: every item takes the fallback
    } finally {
      stamp.done();
    }
    await Promise.all(
      group.items.map(async ({ index }, i) => {
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
    done += group.items.length;
    options.onProgress?.(done);
  });
  result.failed.sort((a, b) => a.index - b.index);
  return result;
}
