/**
 * FHIR `transaction` Bundles: every entry succeeds or none has any effect. All
 * checks happen before the first write; the writes go to the store as one
 * all-or-nothing transaction; reads are answered after the writes.
 */
import { prepareEntries } from './bundle-prepare.ts';
import type { PreparedEntry } from './bundle-prepare.ts';
import type { ParsedBundle } from './bundle-entries.ts';
import { readEntry, responseBundle, writeEntry } from './bundle-response.ts';
import { FhirError } from './errors.ts';
import { readLive } from './read-live.ts';
import type { BundleEntry, FhirBundle } from './types.ts';
import type { ResourceStore, WriteOp, WriteResult } from '../store/resource-store.ts';

/** Options of a transaction. */
export interface TransactionOptions {
  /** Put each written resource in its response entry (`Prefer: return=representation`). */
  includeResources: boolean;
}

function firstError(slots: readonly unknown[]): FhirError | undefined {
  return slots.find((slot): slot is FhirError => slot instanceof FhirError);
}

/** Runs a parsed transaction Bundle and returns its `transaction-response`. */
export async function runTransaction(store: ResourceStore, bundle: ParsedBundle, options: TransactionOptions): Promise<FhirBundle> {
  const invalid = firstError(bundle.entries);
  if (invalid) throw invalid;
  const prepared = await prepareEntries(bundle.entries, store);
  const unprepared = firstError(prepared);
  if (unprepared) throw unprepared;
  const entries = prepared as PreparedEntry[];
  const writeIndexes: number[] = [];
  const ops: WriteOp[] = [];
  entries.forEach((entry, index) => {
    if (entry.kind === 'write') {
      writeIndexes.push(index);
      ops.push(entry.op);
    }
  });
  let results: WriteResult[];
  try {
    results = await store.transaction(ops);
  } catch (error) {
    if (error instanceof FhirError && error.index !== undefined) {
      const index = writeIndexes[error.index]!;
      throw error.at(`Bundle.entry[${index}]`).withIndex(index);
    }
    throw error;
  }
  const byEntry = new Map(writeIndexes.map((entryIndex, i) => [entryIndex, results[i]!]));
  const response: BundleEntry[] = [];
  for (const [index, entry] of entries.entries()) {
    if (entry.kind === 'write') {
      response.push(writeEntry(byEntry.get(index)!, options.includeResources));
      continue;
    }
    const read = await readLive(store, entry.type, entry.id).catch((error: unknown) => {
      throw error instanceof FhirError ? error.at(`Bundle.entry[${index}]`).withIndex(index) : error;
    });
    response.push(entry.kind === 'read' ? readEntry(read) : writeEntry({ outcome: 'kept', ...read }, options.includeResources));
  }
  return responseBundle('transaction-response', response);
}
