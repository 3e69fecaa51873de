/**
 * FHIR `batch` Bundles: each entry on its own; a failing entry gets an error
 * response and the others go ahead.
 */
import { prepareEntries } from './bundle-prepare.ts';
import type { PreparedEntry } from './bundle-prepare.ts';
import type { ParsedBundle } from './bundle-entries.ts';
import { errorEntry, readEntry, responseBundle, writeEntry } from './bundle-response.ts';
import { FhirError } from './errors.ts';
import { readLive } from './read-live.ts';
import type { BundleEntry, FhirBundle } from './types.ts';
import { settleBounded } from '../store/pool.ts';
import type { ResourceStore, WriteOp, WriteResult } from '../store/resource-store.ts';

/** Options of a batch. */
export interface BatchOptions {
  /** Put each written resource in its response entry. */
  includeResources: boolean;
  /** Entries processed at once. */
  concurrency: number;
}

function write(store: ResourceStore, op: WriteOp): Promise<WriteResult> {
  switch (op.op) {
    case 'create':
      return store.create(op.resource, { ifExists: op.ifExists });
    case 'update':
      return store.update(op.resource, { ifMatch: op.ifMatch });
    case 'delete':
      return store.delete(op.resourceType, op.id, { ifMatch: op.ifMatch });
  }
}

async function runEntry(store: ResourceStore, entry: PreparedEntry, options: BatchOptions): Promise<BundleEntry> {
  if (entry.kind === 'write') return writeEntry(await write(store, entry.op), options.includeResources);
  const read = await readLive(store, entry.type, entry.id);
  return entry.kind === 'read' ? readEntry(read) : writeEntry({ outcome: 'kept', ...read }, options.includeResources);
}

/** Runs a parsed batch Bundle and returns its `batch-response`. */
export async function runBatch(store: ResourceStore, bundle: ParsedBundle, options: BatchOptions): Promise<FhirBundle> {
  const prepared = await prepareEntries(bundle.entries, store);
  const settled = await settleBounded(prepared, options.concurrency, (entry) =>
    entry instanceof FhirError ? Promise.reject(entry) : runEntry(store, entry, options),
  );
  return responseBundle(
    'batch-response',
    settled.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : errorEntry(outcome.reason))),
  );
}
