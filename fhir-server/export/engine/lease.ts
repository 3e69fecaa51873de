/**
 * Leases on work items, as changes to a `JobRecord` (applied through
 * `mutateJob`, so two workers never both win an item). A lease whose heartbeat
 * is older than the threshold is taken over, which counts as a restart; past
 * `maxJobRestartCount` restarts the job fails instead.
 */
import { randomUUID } from 'node:crypto';
import { ExportFailure, jobFailure } from './failures.ts';
import type { JobRecord, WorkItem } from './job-record.ts';
import type { ItemWait } from './waits.ts';

/** The worker no longer holds the item (taken over, or the job ended). */
export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

/** Lease timing. */
export interface LeaseRules {
  /** Heartbeat age after which a lease may be taken over. */
  thresholdMs: number;
  /** Restarts a job survives. */
  maxRestarts: number;
}

/** Whether `item` may be claimed at `now`, and whether that would be a takeover. */
export function claimable(item: WorkItem, now: number, rules: LeaseRules): 'free' | 'takeover' | undefined {
  if (item.status === 'pending') return (item.notBeforeMs ?? 0) <= now ? 'free' : undefined;
  if (item.status === 'leased' && item.lease && now - item.lease.heartbeatMs > rules.thresholdMs) return 'takeover';
  return undefined;
}

/** The first item of a running job that `claimable` allows. */
export function nextClaimable(job: JobRecord, now: number, rules: LeaseRules): WorkItem | undefined {
  if (job.status !== 'running') return undefined;
  return job.items.find((item) => claimable(item, now, rules) !== undefined);
}

/** Marks `job` failed (if it has not ended) with `failure`. */
export function markFailed(job: JobRecord, failure: ExportFailure, now: number): JobRecord {
  if (job.status === 'queued' || job.status === 'running') {
    job.status = 'failed';
    job.failure = jobFailure(failure);
    job.endTime = new Date(now).toISOString();
    for (const item of job.items) delete item.lease;
  }
  return job;
}

/**
 * Claims item `index` for `owner`: returns the change and the new lease id, or undefined
 * when the item is no longer claimable. A takeover past the restart limit fails the job.
 */
export function claimItem(job: JobRecord, index: number, owner: string, now: number, rules: LeaseRules): { job: JobRecord; leaseId?: string } | undefined {
  const item = job.items[index];
  const how = item && job.status === 'running' ? claimable(item, now, rules) : undefined;
  if (!item || !how) return undefined;
  if (how === 'takeover') {
    job.restartCount += 1;
    if (job.restartCount > rules.maxRestarts) {
      const failure = new ExportFailure('restarts-exhausted', `the job was restarted ${job.restartCount} times (limit ${rules.maxRestarts}): its workers stopped heartbeating`);
      return { job: markFailed(job, failure, now) };
    }
  }
  const leaseId = randomUUID();
  item.status = 'leased';
  item.lease = { owner, leaseId, heartbeatMs: now };
  delete item.notBeforeMs;
  return { job, leaseId };
}

/** The item `index` if `leaseId` still holds it in a running job; `LeaseLost` otherwise. */
export function heldItem(job: JobRecord, index: number, leaseId: string): WorkItem {
  const item = job.items[index];
  if (job.status !== 'running' || !item || item.status !== 'leased' || item.lease?.leaseId !== leaseId) {
    throw new LeaseLost(`item ${index} of job ${job.id} is no longer held (job ${job.status})`);
  }
  return item;
}

/**
 * Gives item `index` back: pending again with its checkpoint. `retryAfterMs` (a failure)
 * counts a restart, delays the next claim and records what the item waits for (`wait`);
 * past the limit the job fails with `reason`.
 */
export function releaseItem(job: JobRecord, index: number, leaseId: string, now: number, rules: LeaseRules, failed?: { retryAfterMs: number; reason: string; wait?: ItemWait }): JobRecord {
  const item = heldItem(job, index, leaseId);
  item.status = 'pending';
  delete item.lease;
  if (!failed) return job;
  job.restartCount += 1;
  if (job.restartCount > rules.maxRestarts) {
    return markFailed(job, new ExportFailure('restarts-exhausted', `the job failed ${job.restartCount} times (limit ${rules.maxRestarts}); last: ${failed.reason}`), now);
  }
  item.notBeforeMs = now + failed.retryAfterMs;
  if (failed.wait) item.waiting = failed.wait;
  return job;
}
