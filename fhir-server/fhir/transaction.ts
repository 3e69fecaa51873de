/**
 * FHIR `transaction` Bundles: every entry succeeds or none has any effect. All
 * checks happen before the first write (entries that fail validation are all
 * reported together, each issue naming its entry); the writes go to the store
 * as one all-or-nothing transaction; reads are answered after the writes.
 */
import { prepareEntries } from './bundle-prepare.ts';
import type { PreparedEntry } from './bundle-prepare.ts';
import type { ParsedBundle } from './bundle-entries.ts';
import { readEntry, responseBundle, writeEntry } from './bundle-response.ts';
import { errorTable } from './error-table.ts';
import { FhirError } from './errors.ts';
import { readLive } from './read-live.ts';
import type { BundleEntry, FhirBundle } from './types.ts';
import type { ReadResult, ResourceStore, WriteOp, WriteResult } from '../store/resource-store.ts';

/** Options of a transaction. */
export interface TransactionOptions {
  /** Put each written resource in its response entry (`Prefer: return=representation`). */
  includeResources: boolean;
}

function firstError(slots: readonly unknown[]): FhirError | undefined {
  return slots.find((slot): slot is FhirError => slot instanceof FhirError);
}

/** The entries that failed parsing and validation as one error: every issue of every entry, each naming its entry (status from the first). */
function allEntryErrors(slots: readonly unknown[]): FhirError | undefined {
  const errors = slots.filter((slot): slot is FhirError => slot instanceof FhirError);
  if (errors.length <= 1) return errors[0];
  const issues = errors.flatMap((error) => error.issues ?? [{ code: errorTable[error.kind].issueCode, diagnostics: error.message, ...(error.expression ? { expression: error.expression } : {}) }]);
  const first = errors[0]!;
  return new FhirError(first.kind, `${errors.length} entries of the transaction cannot be processed; first: ${first.message}`, { index: first.index, issues });
}

/** Runs a parsed transaction Bundle and returns its `transaction-response`. */
export async function runTransaction(store: ResourceStore, bundle: ParsedBundle, options: TransactionOptions): Promise<FhirBundle> {
  const invalid = allEntryErrors(bundle.entries);
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
  // Reads are answered as of after the writes, but checked before them, so a failing read writes nothing.
  const written = new Map(ops.map((op, i) => [keyOf(targetOfOp(op)), i]));
  const reads = await Promise.all(entries.map((entry, index) => readBefore(store, entry, index, ops, written)));
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
  const response: BundleEntry[] = entries.map((entry, index) => {
    if (entry.kind === 'write') return writeEntry(byEntry.get(index)!, options.includeResources);
    const read = reads[index];
    if (read) return entry.kind === 'read' ? readEntry(read) : writeEntry({ outcome: 'kept', ...read }, options.includeResources);
    const own = results[written.get(keyOf(entry))!]!;
    return readEntry({ resourceType: own.resourceType, id: own.id, versionId: own.versionId!, lastUpdated: own.lastUpdated!, lastUpdatedMs: own.lastUpdatedMs!, deleted: false, resource: own.resource! });
  });
  return responseBundle('transaction-response', response);
}

const keyOf = (target: { type: string; id: string }): string => `${target.type}/${target.id}`;

function targetOfOp(op: WriteOp): { type: string; id: string } {
  return op.op === 'delete' ? { type: op.resourceType, id: op.id } : { type: op.resource.resourceType, id: op.resource.id };
}

// The current version for a read entry, or undefined when the transaction itself writes the target (read from its result).
async function readBefore(store: ResourceStore, entry: PreparedEntry, index: number, ops: WriteOp[], written: Map<string, number>): Promise<(ReadResult & { deleted: false }) | undefined> {
  if (entry.kind === 'write') return undefined;
  const own = written.get(keyOf(entry));
  try {
    if (own === undefined) return await readLive(store, entry.type, entry.id);
    if (ops[own]!.op === 'delete') throw new FhirError('gone', `${keyOf(entry)} is deleted by this transaction`);
    return undefined;
  } catch (error) {
    throw error instanceof FhirError ? error.at(`Bundle.entry[${index}]`).withIndex(index) : error;
  }
}
