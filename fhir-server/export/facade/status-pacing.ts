/**
 * `Retry-After` of a 202 status answer, from the job's age and progress, so a
 * client that honours it sees the manifest soon after the job ends without
 * polling a long job every second. The wait is a tenth of the job's age (a
 * client polls a growing job about ten times per tenfold of its age), cut to a
 * third of the expected remaining time when progress says the end is near;
 * never below 1 s, never above the configured maximum.
 */
import type { ExportJobView } from '../ports.ts';

/** Seconds a client should wait before polling `job` again, at `nowMs`. */
export function statusRetryAfterSeconds(job: Pick<ExportJobView, 'status' | 'createTime' | 'progress'>, nowMs: number, maxSeconds: number): number {
  const ageMs = Math.max(0, nowMs - Date.parse(job.createTime));
  let waitMs = ageMs / 10;
  const { exported, total } = job.progress;
  if (job.status === 'running' && exported > 0 && exported < total) {
    // Progress moves in checkpoints, so this estimate runs long rather than short.
    const remainingMs = (ageMs * (total - exported)) / exported;
    waitMs = Math.min(waitMs, remainingMs / 3);
  }
  return Math.min(maxSeconds, Math.max(1, Math.round(waitMs / 1000)));
}
