/**
 * How a job ends: completed once every item is done (after its error file of
 * notes is written), failed on a permanent failure; either way (and on cancel)
 * a client destination's secret is then deleted. Each step is idempotent, so
 * any worker can finish what a dead one started.
 */
import { calling, safeMessage, type ExportFailure } from './failures.ts';
import type { EngineContext } from './context.ts';
import { blobNameOf, isTerminal, type FileRecord, type JobRecord } from './job-record.ts';
import { mutateJob } from './job-store.ts';
import { markFailed } from './lease.ts';

const errorFileName = 'OperationOutcome-1.ndjson';

function outcomeLine(note: string): string {
  return JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: note }] });
}

async function writeErrorFile(ctx: EngineContext, job: JobRecord): Promise<FileRecord[]> {
  const notes = [...job.request.notes, ...job.notes];
  if (notes.length === 0) return [];
  const body = Buffer.from(notes.map((note) => `${outcomeLine(note)}\n`).join(''), 'utf8');
  const container = await ctx.destinations.open(job.request.destination);
  const blob = container.getBlockBlobClient(blobNameOf(job.id, errorFileName));
  await calling('Blob Storage', (abortSignal) => blob.upload(body, body.length, { blobHTTPHeaders: { blobContentType: 'application/fhir+ndjson' }, abortSignal }));
  return [{ type: 'OperationOutcome', fileName: errorFileName, count: notes.length, sizeBytes: body.length }];
}

/** Deletes an ended job's client destination secret, once. */
export async function releaseIfEnded(ctx: EngineContext, job: JobRecord): Promise<void> {
  if (!isTerminal(job.status) || job.destinationReleased) return;
  await ctx.destinations.release(job.request.destination);
  await mutateJob(ctx.jobs, job.id, (current) => (current.destinationReleased ? undefined : ((current.destinationReleased = true), current)));
}

/** Completes `jobId` if it is running and every item is done; then releases its destination. */
export async function completeIfDone(ctx: EngineContext, jobId: string): Promise<void> {
  const job = await ctx.jobs.read(jobId);
  if (!job || job.status !== 'running' || !job.planned || job.items.some((item) => item.status !== 'done')) return;
  const errors = await writeErrorFile(ctx, job);
  const done = await mutateJob(ctx.jobs, jobId, (current) => {
    if (current.status !== 'running') return undefined;
    current.status = 'completed';
    current.endTime = new Date().toISOString();
    // Items' error files (withheld resources) are already listed; the notes file joins them once.
    current.errors = [...current.errors.filter((file) => file.fileName !== errorFileName), ...errors];
    return current;
  });
  if (done?.status === 'completed') ctx.logger.info({ jobId, correlationId: done.correlationId, files: done.output.length, deleted: done.deleted.length }, 'export completed');
  if (done) await releaseIfEnded(ctx, done);
}

/** Fails `jobId` with `failure` (if it has not ended) and releases its destination. */
export async function failJob(ctx: EngineContext, jobId: string, failure: ExportFailure): Promise<void> {
  const job = await mutateJob(ctx.jobs, jobId, (current) => (isTerminal(current.status) ? undefined : markFailed(current, failure, Date.now())));
  ctx.logger.warn({ jobId, correlationId: job?.correlationId, kind: failure.kind, reason: failure.message }, 'export failed');
  if (job) await releaseIfEnded(ctx, job).catch((error: unknown) => ctx.logger.warn({ jobId, err: safeMessage(error) }, 'releasing the destination failed; will retry'));
}
