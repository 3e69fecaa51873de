/**
 * All-or-nothing writes over many documents without database transactions.
 *
 * 1. Read every target and plan every op; any failure here (If-Match, conflict)
 *    ends the transaction before anything is written.
 * 2. Journal: before-images of the targets that exist, then a header `applying`
 *    with a deadline.
 * 3. Apply each write conditionally on the ETag read in 1, stamping the transaction id
 *    and, just before it is sent, the version's instant (write-clock.ts). A write of a
 *    version that replaces another is one atomic batch with its history copy.
 * 4. All written: header `committed`. Any write failed: restore every target that
 *    still carries this transaction's id from its before-image, removing the history
 *    copy the write made (or delete it if it was new), then header `rolled-back`.
 * A process that dies in 3 leaves the header `applying`; {@link recoverTransactions}
 * rolls such journals back once their deadline has passed.
 */
import { randomUUID } from 'node:crypto';
import { FhirError } from '../fhir/errors.ts';
import { cosmosStatus, isWriteRace, toFhirError } from './cosmos-errors.ts';
import type { ResourceDocuments } from './cosmos-documents.ts';
import { partitionKeyOf, restamp, versionInfo } from './document.ts';
import type { ResourceDocument } from './document.ts';
import type { JournalHeader, JournalTarget, TransactionJournal } from './journal.ts';
import { mapBounded } from './pool.ts';
import type { RecoveryReport, WriteOp, WriteResult } from './resource-store.ts';
import { planWrite, targetOf } from './write-plan.ts';
import type { WritePlan } from './write-plan.ts';
import type { WriteClock } from './write-clock.ts';

/** Test seams around the apply phase. */
export interface TransactionHooks {
  /** Awaited before the write of op `index` is sent. */
  beforeWrite?(index: number): Promise<void> | void;
}

/** How transactions run. */
export interface TransactionSettings {
  /** Reads/writes in flight at once. */
  concurrency: number;
  /** How long a transaction may stay `applying` before recovery may roll it back. */
  timeoutMs: number;
  /** Test seams. */
  hooks?: TransactionHooks;
}

/** The parts a transaction works with. */
export interface TransactionParts {
  /** Resource documents. */
  documents: ResourceDocuments;
  /** The journal. */
  journal: TransactionJournal;
  /** Stamps of new versions. */
  clock: WriteClock;
  /** Settings. */
  settings: TransactionSettings;
}

function checkDistinctTargets(ops: WriteOp[]): void {
  const seen = new Map<string, number>();
  ops.forEach((op, index) => {
    const { resourceType, id } = targetOf(op);
    const key = `${resourceType}/${id}`;
    if (seen.has(key)) throw new FhirError('invalid', `${key} is the target of more than one entry`, { index });
    seen.set(key, index);
  });
}

interface PlannedWrite {
  index: number;
  /** The planned version; restamped to its instant when it is sent. */
  next: ResourceDocument;
  current: ResourceDocument | undefined;
  /** A create that may find the id taken by a concurrent writer and then keeps theirs. */
  keepIfTaken: boolean;
  /** Set when that happened: the result to report instead of the plan's. */
  kept?: WriteResult;
}

/** Applies `ops` all or nothing and returns one result per op. */
export async function applyTransaction(parts: TransactionParts, ops: WriteOp[]): Promise<WriteResult[]> {
  const { documents, settings } = parts;
  checkDistinctTargets(ops);
  const currents = await mapBounded(ops, settings.concurrency, async (op, index) => {
    const { resourceType, id } = targetOf(op);
    return documents.get(partitionKeyOf(resourceType, id), id).catch((error: unknown) => {
      throw toFhirError(error, `reading ${resourceType}/${id}`).withIndex(index);
    });
  });
  const txId = randomUUID();
  const now = Date.now();
  const plans: WritePlan[] = ops.map((op, index) => {
    try {
      return planWrite(op, currents[index], now, txId);
    } catch (error) {
      throw toFhirError(error, 'planning').withIndex(index);
    }
  });
  const writes: PlannedWrite[] = plans.flatMap((plan, index) => {
    if (!plan.next) return [];
    const op = ops[index]!;
    return [{ index, next: plan.next, current: currents[index], keepIfTaken: op.op === 'create' && op.ifExists === 'keep' && !currents[index] }];
  });
  if (writes.length === 1) await writeOne(documents, parts.clock, writes[0]!);
  else if (writes.length > 1) await applyJournaled(parts, txId, writes);
  const kept = new Map(writes.flatMap((w) => (w.kept ? [[w.index, w.kept] as const] : [])));
  const sent = new Map(writes.map((w) => [w.index, w.next] as const));
  return plans.map((plan, index) => kept.get(index) ?? withVersionOf(plan.result, sent.get(index)));
}

// The result of a written op, with the instant its version was given when it was sent.
function withVersionOf(result: WriteResult, next: ResourceDocument | undefined): WriteResult {
  if (!next) return result;
  const out: WriteResult = { ...result, ...versionInfo(next) };
  if (next.resource) out.resource = next.resource;
  return out;
}

async function writeOne(documents: ResourceDocuments, clock: WriteClock, write: PlannedWrite): Promise<void> {
  const stamp = await clock.begin(write.current ? write.current.lastUpdatedMs + 1 : 0);
  try {
    write.next = restamp(write.next, stamp.ms);
    await documents.put(write.next, write.current, stamp.signal);
  } catch (error) {
    if (write.keepIfTaken && cosmosStatus(error) === 409) {
      const winner = await documents.get(write.next.pk, write.next.id);
      if (winner && !winner.deleted && winner.resource) {
        write.kept = { outcome: 'kept', ...versionInfo(winner), resource: winner.resource };
        return;
      }
    }
    if (isWriteRace(error)) throw new FhirError('conflict', `${write.next.resourceType}/${write.next.rid} was changed concurrently`, { index: write.index, cause: error });
    throw toFhirError(error, `writing ${write.next.resourceType}/${write.next.rid}`).withIndex(write.index);
  } finally {
    stamp.done();
  }
}

async function applyJournaled(parts: TransactionParts, txId: string, writes: PlannedWrite[]): Promise<void> {
  const { documents, journal, settings } = parts;
  const deadlineMs = Date.now() + settings.timeoutMs;
  const targets: JournalTarget[] = writes.map(({ next, current }) =>
    current ? { pk: next.pk, id: next.id, beforeVersion: current.versionId } : { pk: next.pk, id: next.id },
  );
  const header = await journal.begin(txId, writes.map((w) => w.current), targets, deadlineMs, settings.concurrency);
  try {
    await mapBounded(writes, settings.concurrency, async (write) => {
      try {
        await settings.hooks?.beforeWrite?.(write.index);
        if (Date.now() > deadlineMs) throw new FhirError('unavailable', 'The transaction ran past its deadline');
        await writeOne(documents, parts.clock, write);
      } catch (error) {
        const failure = toFhirError(error, `writing ${write.next.resourceType}/${write.next.rid}`);
        throw failure.index === undefined ? failure.withIndex(write.index) : failure;
      }
    });
  } catch (failure) {
    await rollBackOwn(parts, header, failure);
    throw failure;
  }
  const committed = await journal.transition(header, 'committed');
  if (!committed) {
    throw new FhirError('unavailable', 'The transaction ran past its deadline and is being rolled back');
  }
  await journal.dropImages(committed, settings.concurrency);
}

async function rollBackOwn(parts: TransactionParts, header: JournalHeader, failure: unknown): Promise<void> {
  try {
    const claimed = await parts.journal.transition(header, 'rolling-back');
    if (claimed) await rollBack(parts, claimed);
  } catch (error) {
    throw new FhirError('unavailable', 'The transaction failed and its rollback did not finish; recovery will complete it', { cause: { failure, error } });
  }
}

type RestoreOutcome = 'restored' | 'untouched' | 'skipped';

async function restoreTarget(parts: TransactionParts, txId: string, target: JournalTarget, index: number): Promise<RestoreOutcome> {
  const { documents, journal } = parts;
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await documents.get(target.pk, target.id);
    if (!current || current.txId !== txId) {
      const untouched = current ? current.versionId === target.beforeVersion : target.beforeVersion === undefined;
      return untouched ? 'untouched' : 'skipped';
    }
    try {
      if (target.beforeVersion === undefined) {
        await documents.restore(undefined, current);
      } else {
        const before = await journal.before(txId, index);
        if (!before) return 'skipped';
        await documents.restore(before, current);
      }
      return 'restored';
    } catch (error) {
      if (!isWriteRace(error)) throw toFhirError(error, `rolling back ${target.id}`);
    }
  }
  return 'skipped';
}

/** Restores every target of a claimed (`rolling-back`) journal and marks it `rolled-back`; returns how many targets were skipped. */
export async function rollBack(parts: TransactionParts, header: JournalHeader): Promise<number> {
  const outcomes = await mapBounded(header.targets, parts.settings.concurrency, (target, index) => restoreTarget(parts, header.id, target, index));
  const finished = await parts.journal.transition(header, 'rolled-back');
  if (finished) await parts.journal.dropImages(finished, parts.settings.concurrency);
  return outcomes.filter((o) => o === 'skipped').length;
}

/** Rolls back journals left `applying` (or half rolled back) past their deadline. */
export async function recoverTransactions(parts: TransactionParts, now: number = Date.now()): Promise<RecoveryReport> {
  const report: RecoveryReport = { rolledBack: 0, inProgress: 0, skipped: 0 };
  for (const header of await parts.journal.unfinished()) {
    if (header.deadlineMs > now) {
      report.inProgress += 1;
      continue;
    }
    const claimed = header.state === 'applying' ? await parts.journal.transition(header, 'rolling-back') : header;
    if (!claimed) continue;
    report.skipped += await rollBack(parts, claimed);
    report.rolledBack += 1;
  }
  return report;
}
