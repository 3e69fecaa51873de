/**
 * A work item as its lease holder changes it: every change goes through
 * `mutateJob` and first checks that the lease still holds (else `LeaseLost`),
 * so a worker that was taken over or whose job was cancelled writes nothing
 * more to the record. It is also the `StreamHost` of the item's streams: file
 * names are allocated centrally per job (`Patient-1.ndjson`, `Patient-2.ndjson`
 * … whichever item writes them), and committed files are recorded with the
 * stream's state after them.
 */
import type { EngineContext } from './context.ts';
import { leaseRulesOf } from './context.ts';
import { ServiceError } from './failures.ts';
import { emptyStream, type FileRecord, type JobRecord, type StreamCheckpoint, type StreamKind, type WorkItem } from './job-record.ts';
import { mutateJob } from './job-store.ts';
import { heldItem, LeaseLost, releaseItem } from './lease.ts';
import type { StreamHost } from './ndjson-stream.ts';
import type { ItemWait } from './waits.ts';

/** See the module comment. */
export class HeldItem implements StreamHost {
  /** Item `index` of job `jobId` under `leaseId`. */
  constructor(
    private readonly ctx: EngineContext,
    private readonly jobId: string,
    readonly index: number,
    private readonly leaseId: string,
  ) {}

  /** Applies `apply` to the stored record if the lease still holds; resolves to the stored record. */
  async change(apply: (job: JobRecord, item: WorkItem) => void): Promise<JobRecord> {
    let stored: JobRecord | undefined;
    try {
      stored = await mutateJob(this.ctx.jobs, this.jobId, (job) => {
        apply(job, heldItem(job, this.index, this.leaseId));
        return job;
      });
    } catch (error) {
      if (error instanceof LeaseLost) throw error;
      throw new ServiceError('the job store', error);
    }
    if (!stored) throw new LeaseLost(`job ${this.jobId} no longer exists`);
    return stored;
  }

  /** Refreshes the lease's heartbeat. */
  async beat(): Promise<void> {
    await this.change((_, item) => (item.lease!.heartbeatMs = Date.now()));
  }

  /** Throws `LeaseLost` when the job ended or the lease moved on (one point read). */
  async checkStillHeld(): Promise<void> {
    let job: JobRecord | undefined;
    try {
      job = await this.ctx.jobs.read(this.jobId);
    } catch (error) {
      throw new ServiceError('the job store', error);
    }
    if (!job) throw new LeaseLost(`job ${this.jobId} no longer exists`);
    heldItem(job, this.index, this.leaseId);
  }

  async allocateFile(kind: StreamKind): Promise<string> {
    let fileName = '';
    await this.change((job, item) => {
      const prefix = filePrefixOf(item, kind);
      const seq = job.nextFileSeq[prefix] ?? 1;
      job.nextFileSeq[prefix] = seq + 1;
      fileName = `${prefix}-${seq}.ndjson`;
      (item.checkpoint[kind] ??= emptyStream()).fileName = fileName;
    });
    return fileName;
  }

  async fileCommitted(kind: StreamKind, file: FileRecord, state: StreamCheckpoint): Promise<void> {
    await this.change((job, item) => {
      delete item.waiting;
      // history and deleted-resources items write `resources` files, listed as output; so are the Provenance files
      const list = kind === 'resources' || kind === 'provenance' ? job.output : kind === 'deleted' ? job.deleted : job.errors;
      const at = list.findIndex((f) => f.fileName === file.fileName);
      if (at >= 0) list[at] = file;
      else list.push(file);
      item.checkpoint[kind] = state;
    });
  }

  /** Stores the streams' durable state; `then` says what becomes of the lease. */
  async checkpoint(snapshots: WorkItem['checkpoint'], then: 'keep' | 'give-back' | 'done'): Promise<void> {
    await this.change((_, item) => {
      item.checkpoint = snapshots;
      item.lease!.heartbeatMs = Date.now();
      delete item.waiting;
      if (then === 'keep') return;
      item.status = then === 'done' ? 'done' : 'pending';
      delete item.lease;
    });
  }

  /** Records what the item waits for (`undefined`: nothing any more), for `X-Progress`. */
  async reportWait(wait: ItemWait | undefined): Promise<void> {
    await this.change((_, item) => {
      if (wait) item.waiting = wait;
      else delete item.waiting;
    });
  }

  /** Gives the item back after a transient failure (a restart, with backoff, waiting for `wait`); undefined when the lease was already lost. */
  async releaseAfterFailure(retryAfterMs: number, reason: string, wait?: ItemWait): Promise<JobRecord | undefined> {
    const now = Date.now();
    try {
      return await mutateJob(this.ctx.jobs, this.jobId, (job) => releaseItem(job, this.index, this.leaseId, now, leaseRulesOf(this.ctx.options), { retryAfterMs, reason, ...(wait ? { wait } : {}) }));
    } catch (error) {
      if (error instanceof LeaseLost) return undefined;
      throw error;
    }
  }
}

/** File names of a stream: `Patient-3.ndjson`, DELETE Bundles `Patient-deleted-3.ndjson`, stored resources that cannot be exported `OperationOutcome-Patient-3.ndjson`, earlier versions `Patient-history-3.ndjson`, deleted resources `Patient-softdeleted-3.ndjson`, associated Provenance `Provenance-3.ndjson` (numbered with the Provenance item's files). */
export function filePrefixOf(item: WorkItem, kind: StreamKind): string {
  if (kind === 'provenance') return 'Provenance';
  if (kind === 'deleted') return `${item.resourceType}-deleted`;
  if (kind === 'errors') return `OperationOutcome-${item.resourceType}`;
  if (item.kind === 'history') return `${item.resourceType}-history`;
  if (item.kind === 'deleted-resources') return `${item.resourceType}-softdeleted`;
  return item.resourceType;
}
