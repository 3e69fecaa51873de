/**
 * Runs one leased work item: scans its resources page by page from its
 * checkpoint, writes them through its two NDJSON streams (resources and
 * deletions), checkpoints every `numberOfPagesPerCommit` pages, heartbeats on
 * a timer, checks the job's status between pages (cancel stops it), and on
 * the last page commits its files and marks the item done. A stop request
 * stages what is buffered, checkpoints and gives the item back.
 */
import type { ExportPosition } from '../../store/resource-store.ts';
import type { EngineContext } from './context.ts';
import { leaseRulesOf } from './context.ts';
import { calling, classify, safeMessage } from './failures.ts';
import { completeIfDone, failJob, releaseIfEnded } from './finish.ts';
import { comparePositions, type FileRecord, type JobRecord, type StreamCheckpoint, type StreamKind, type WorkItem } from './job-record.ts';
import { mutateJob } from './job-store.ts';
import { heldItem, LeaseLost, releaseItem } from './lease.ts';
import { deletedLine, lineRulesFor, resourceLine } from './lines.ts';
import { NdjsonStream, type StreamHost } from './ndjson-stream.ts';
import { rollingBytes } from './options.ts';
import { scanFilterOf } from './plan.ts';

/** Where a resumed scan starts: the earliest `through` of the streams (undefined: from the start). */
function resumePosition(item: WorkItem): ExportPosition | undefined {
  const { resources, deleted } = item.checkpoint;
  if (!resources.through || !deleted.through) return undefined;
  return comparePositions(resources.through, deleted.through) <= 0 ? resources.through : deleted.through;
}

/** See the module comment. */
export class ItemRunner implements StreamHost {
  #stopping = false;
  #position: ExportPosition | undefined;
  #streams: Record<StreamKind, NdjsonStream> | undefined;
  readonly #item: WorkItem;
  readonly #log;

  /** A runner for item `index` of `job`, held under `leaseId`. */
  constructor(
    private readonly ctx: EngineContext,
    private readonly job: JobRecord,
    private readonly index: number,
    private readonly leaseId: string,
  ) {
    this.#item = job.items[index]!;
    this.#log = ctx.logger.child({ jobId: job.id, item: index, resourceType: this.#item.resourceType });
  }

  /** Asks the runner to checkpoint and give the item back at the next page boundary. */
  requestStop(): void {
    this.#stopping = true;
  }

  /** Runs the item to its end (done, given back, lost or failed); never rejects. */
  async run(): Promise<void> {
    const beatMs = Math.max(200, (this.ctx.options.jobHeartbeatTimeoutThresholdSeconds * 1000) / 3);
    const timer = setInterval(() => void this.#beat(), beatMs);
    try {
      await this.#work();
    } catch (error) {
      await this.#onError(error).catch((e: unknown) => this.#log.warn({ err: safeMessage(e) }, 'could not record the failure; the lease will time out'));
    } finally {
      clearInterval(timer);
    }
  }

  async #change(apply: (job: JobRecord, item: WorkItem) => void): Promise<JobRecord> {
    const stored = await calling('the job store', () =>
      mutateJob(this.ctx.jobs, this.job.id, (job) => {
        apply(job, heldItem(job, this.index, this.leaseId));
        return job;
      }),
    );
    if (!stored) throw new LeaseLost(`job ${this.job.id} no longer exists`);
    return stored;
  }

  async #beat(): Promise<void> {
    try {
      await this.#change((_, item) => (item.lease!.heartbeatMs = Date.now()));
    } catch (error) {
      if (error instanceof LeaseLost) this.#stopping = true;
      else this.#log.warn({ err: safeMessage(error) }, 'heartbeat failed');
    }
  }

  #snapshots(): Record<StreamKind, StreamCheckpoint> {
    return { resources: this.#streams!.resources.snapshot(), deleted: this.#streams!.deleted.snapshot() };
  }

  async allocateFile(kind: StreamKind): Promise<string> {
    const prefix = kind === 'resources' ? this.#item.resourceType : `${this.#item.resourceType}-deleted`;
    let fileName = '';
    await this.#change((job, item) => {
      const seq = job.nextFileSeq[prefix] ?? 1;
      job.nextFileSeq[prefix] = seq + 1;
      fileName = `${prefix}-${seq}.ndjson`;
      item.checkpoint[kind].fileName = fileName;
    });
    return fileName;
  }

  async fileCommitted(kind: StreamKind, file: FileRecord, state: StreamCheckpoint): Promise<void> {
    await this.#change((job, item) => {
      const list = kind === 'resources' ? job.output : job.deleted;
      const at = list.findIndex((f) => f.fileName === file.fileName);
      if (at >= 0) list[at] = file;
      else list.push(file);
      item.checkpoint[kind] = state;
    });
  }

  async #checkpoint(release: boolean): Promise<void> {
    const snapshots = this.#snapshots();
    await this.#change((_, item) => {
      item.checkpoint = snapshots;
      item.lease!.heartbeatMs = Date.now();
      if (release) {
        item.status = 'pending';
        delete item.lease;
      }
    });
  }

  async #work(): Promise<void> {
    const { ctx, job } = this;
    const container = await ctx.destinations.open(job.request.destination);
    const sizes = { block: ctx.options.blockSizeBytes, rolling: rollingBytes(ctx.options) };
    const position = () => this.#position;
    this.#streams = {
      resources: new NdjsonStream('resources', this.#item.resourceType, job.id, container, this.#item.checkpoint.resources, this, sizes, position),
      deleted: new NdjsonStream('deleted', 'Bundle', job.id, container, this.#item.checkpoint.deleted, this, sizes, position),
    };
    const rules = lineRulesFor(job, this.#item);
    const filter = scanFilterOf(job, this.#item);
    this.#position = resumePosition(this.#item);
    this.#log.info({ resumeFrom: this.#position ?? null }, 'work item started');
    for (let pages = 1; ; pages++) {
      if (this.#stopping) return this.#giveBack();
      const continuation = this.#position;
      const page = await calling('the resource store', () =>
        ctx.store.queryForExport({ ...filter, pageSize: ctx.options.maximumNumberOfResourcesPerQuery, ...(continuation ? { continuation } : {}) }),
      );
      for (const found of page.items) {
        const prev = this.#position;
        this.#position = { lastUpdatedMs: found.lastUpdatedMs, id: found.id };
        if (found.deleted) await this.#streams.deleted.append(deletedLine(this.#item.resourceType, found.id), prev);
        else if (found.json !== undefined) {
          const line = resourceLine(found.json, rules);
          if (line !== undefined) await this.#streams.resources.append(line, prev);
        }
      }
      await ctx.hooks.afterPage?.(job.id, this.index);
      if (!page.continuation) break;
      if (pages % ctx.options.numberOfPagesPerCommit === 0) {
        await this.#checkpoint(false);
        await ctx.hooks.afterCheckpoint?.(job.id, this.index);
      } else await this.#checkStillHeld();
    }
    await this.#streams.resources.finish();
    await this.#streams.deleted.finish();
    const snapshots = this.#snapshots();
    await this.#change((_, item) => {
      item.status = 'done';
      item.checkpoint = snapshots;
      delete item.lease;
    });
    this.#log.info({ exported: this.#streams.resources.exported, deleted: this.#streams.deleted.exported }, 'work item done');
    await completeIfDone(ctx, job.id);
  }

  async #checkStillHeld(): Promise<void> {
    const job = await calling('the job store', () => this.ctx.jobs.read(this.job.id));
    if (!job) throw new LeaseLost(`job ${this.job.id} no longer exists`);
    heldItem(job, this.index, this.leaseId);
  }

  async #giveBack(): Promise<void> {
    await this.#streams!.resources.stage();
    await this.#streams!.deleted.stage();
    await this.#checkpoint(true);
    this.#log.info({ at: this.#position ?? null }, 'work item given back');
  }

  async #onError(error: unknown): Promise<void> {
    if (error instanceof LeaseLost) {
      this.#log.info({ reason: error.message }, 'work item stopped');
      return;
    }
    const verdict = classify(error);
    if (!verdict.transient) return failJob(this.ctx, this.job.id, verdict.failure);
    const retryAfterMs = Math.min(60_000, this.ctx.options.jobPollingFrequencySeconds * 1000 * 2 ** Math.min(10, this.job.restartCount));
    this.#log.warn({ reason: verdict.reason, retryAfterMs }, 'work item failed; it will be retried from its checkpoint');
    const now = Date.now();
    const stored = await mutateJob(this.ctx.jobs, this.job.id, (job) => releaseItem(job, this.index, this.leaseId, now, leaseRulesOf(this.ctx.options), { retryAfterMs, reason: verdict.reason }));
    if (stored) await releaseIfEnded(this.ctx, stored);
  }
}
