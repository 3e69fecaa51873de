/**
 * Admission of new jobs, atomic across instances: one `AdmissionRecord` in the
 * jobs container lists a slot per admitted job, and a kick-off takes a slot by
 * replacing that record under its etag (or creating it, which fails if another
 * kick-off created it first). Two kick-offs can never both take the last slot:
 * one of the two writes loses and re-reads. Slots are freed lazily: when the
 * record is full, a kick-off drops the slots of jobs that have ended (or whose
 * record never appeared within `pendingGraceMs`), so nothing has to run when a
 * job ends and a crash between admission and job creation frees itself.
 * Each slot names the principal that took it, so one client can be held to
 * `perClientLimit` slots and cannot take every slot of the account.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExportError } from '../ports.ts';
import { isTerminal } from './job-record.ts';
import { JobConflict, type JobStore } from './job-store.ts';

/** Id of the one admission record. */
export const admissionRecordId = 'export-admission';

/** A job holding a slot since `sinceMs`, started by `principal` (absent on slots admitted before it was recorded). */
export interface AdmissionSlot {
  jobId: string;
  sinceMs: number;
  principal?: string;
}

/** The admission record. */
export interface AdmissionRecord {
  id: string;
  docType: 'export-admission';
  slots: AdmissionSlot[];
  /** Cosmos etag; absent on a record not stored yet. */
  _etag?: string;
}

/** The outcome of {@link admitJob}: refused `by` the account limit or the client's. */
export type Admission = { admitted: true } | { admitted: false; active: number; by: 'account' | 'client' };

/** Limits and timing of admission. */
export interface AdmissionRules {
  /** Jobs that may hold a slot at once. */
  limit: number;
  /** Slots one principal may hold at once (absent: no limit of its own). */
  perClientLimit?: number;
  /** Who asks (recorded on the slot). */
  principal?: string;
  /** A slot whose job record does not exist after this long is freed (the kick-off died). */
  pendingGraceMs: number;
  /** Lost races tolerated before giving up with `unavailable` (default 40). */
  attempts?: number;
}

async function stillActive(jobs: JobStore, slots: AdmissionSlot[], now: number, pendingGraceMs: number, freed: Set<string>): Promise<AdmissionSlot[]> {
  const kept = await Promise.all(
    slots.map(async (slot) => {
      const job = await jobs.read(slot.jobId);
      const live = job ? !isTerminal(job.status) : now - slot.sinceMs < pendingGraceMs;
      if (!live) freed.add(slot.jobId); // ended jobs never come back; a vanished one is not coming
      return live ? slot : undefined;
    }),
  );
  return kept.filter((slot): slot is AdmissionSlot => slot !== undefined);
}

async function firstRecord(jobs: JobStore, now: number): Promise<AdmissionRecord> {
  // Jobs queued or running before there was a record hold slots from the start.
  const active = (await jobs.listWork()).filter((job) => !isTerminal(job.status));
  return { id: admissionRecordId, docType: 'export-admission', slots: active.map((job) => ({ jobId: job.id, sinceMs: now, principal: job.owner.principal })) };
}

/** Takes a slot for `jobId` (within the account's and the principal's limits), or says how many jobs hold the slots. */
export async function admitJob(jobs: JobStore, jobId: string, rules: AdmissionRules): Promise<Admission> {
  const freed = new Set<string>();
  const attempts = rules.attempts ?? 40;
  const mine = (slots: AdmissionSlot[]) => (rules.principal === undefined ? 0 : slots.filter((slot) => slot.principal === rules.principal).length);
  const clientFull = (slots: AdmissionSlot[]) => rules.perClientLimit !== undefined && mine(slots) >= rules.perClientLimit;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const now = Date.now();
    const record = (await jobs.readAdmission()) ?? (await firstRecord(jobs, now));
    let slots = record.slots.filter((slot) => !freed.has(slot.jobId) && slot.jobId !== jobId);
    if (slots.length >= rules.limit || clientFull(slots)) slots = await stillActive(jobs, slots, now, rules.pendingGraceMs, freed);
    if (slots.length >= rules.limit) return { admitted: false, active: slots.length, by: 'account' };
    if (clientFull(slots)) return { admitted: false, active: mine(slots), by: 'client' };
    try {
      await jobs.writeAdmission({ ...record, slots: [...slots, { jobId, sinceMs: now, ...(rules.principal !== undefined ? { principal: rules.principal } : {}) }] });
      return { admitted: true };
    } catch (error) {
      if (!(error instanceof JobConflict)) throw error;
      await sleep(Math.random() * Math.min(400, 20 * (attempt + 1)));
    }
  }
  throw new ExportError('unavailable', 'too many export kick-offs at the same moment; retry shortly', 1);
}

/** Frees `jobId`'s slot (a kick-off that took one but stored no job); best effort. */
export async function releaseSlot(jobs: JobStore, jobId: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const record = await jobs.readAdmission();
    if (!record || !record.slots.some((slot) => slot.jobId === jobId)) return;
    try {
      await jobs.writeAdmission({ ...record, slots: record.slots.filter((slot) => slot.jobId !== jobId) });
      return;
    } catch (error) {
      if (!(error instanceof JobConflict)) throw error;
      await sleep(Math.random() * 20 * (attempt + 1));
    }
  }
}
