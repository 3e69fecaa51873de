/**
 * Deciding a write: given an operation, the current document and the clock,
 * what document to store (if any) and what to report. Pure, so single writes
 * and transactions decide alike.
 */
import { FhirError } from '../fhir/errors.ts';
import { liveDocument, tombstoneDocument, versionInfo } from './document.ts';
import type { ResourceDocument } from './document.ts';
import type { WriteOp, WriteResult } from './resource-store.ts';

/** The decision for one op: the document to write (none when nothing changes) and the result to report once written. */
export interface WritePlan {
  /** New document, or undefined when the op writes nothing. */
  next?: ResourceDocument;
  /** What to report. */
  result: WriteResult;
}

/** Type and id an op targets. */
export function targetOf(op: WriteOp): { resourceType: string; id: string } {
  return op.op === 'delete' ? { resourceType: op.resourceType, id: op.id } : { resourceType: op.resource.resourceType, id: op.resource.id };
}

// A version is never older than the one it replaces, even if clocks of two writers disagree.
function nextInstant(current: ResourceDocument | undefined, nowMs: number): number {
  return current && current.lastUpdatedMs >= nowMs ? current.lastUpdatedMs + 1 : nowMs;
}

function checkIfMatch(ifMatch: number | undefined, current: ResourceDocument | undefined, what: string): void {
  if (ifMatch === undefined) return;
  if (!current) throw new FhirError('precondition-failed', `If-Match: ${what} does not exist`);
  if (current.versionId !== ifMatch) {
    throw new FhirError('precondition-failed', `If-Match: ${what} is at version ${current.versionId}, not ${ifMatch}`);
  }
}

/** Plans `op` against `current` (undefined when no document exists). Throws `FhirError` when the op must fail. */
export function planWrite(op: WriteOp, current: ResourceDocument | undefined, nowMs: number, txId?: string): WritePlan {
  const { resourceType, id } = targetOf(op);
  const what = `${resourceType}/${id}`;
  const live = current && !current.deleted && current.resource ? current : undefined;
  switch (op.op) {
    case 'create': {
      if (live) {
        if (op.ifExists === 'keep') return { result: { outcome: 'kept', ...versionInfo(live), resource: live.resource! } };
        throw new FhirError('conflict', `${what} already exists`);
      }
      const next = liveDocument(op.resource, (current?.versionId ?? 0) + 1, nextInstant(current, nowMs), txId);
      return { next, result: { outcome: 'created', ...versionInfo(next), resource: next.resource! } };
    }
    case 'update': {
      checkIfMatch(op.ifMatch, current, what);
      const next = liveDocument(op.resource, (current?.versionId ?? 0) + 1, nextInstant(current, nowMs), txId);
      return { next, result: { outcome: live ? 'updated' : 'created', ...versionInfo(next), resource: next.resource! } };
    }
    case 'delete': {
      checkIfMatch(op.ifMatch, current, what);
      if (!live) return { result: { outcome: 'absent', resourceType, id } };
      const next = tombstoneDocument(live, nextInstant(live, nowMs), txId);
      return { next, result: { outcome: 'deleted', ...versionInfo(next) } };
    }
  }
}
