/**
 * Runs one leased work item: scans its resources page by page from its
 * checkpoint, writes them through its two NDJSON streams (resources and
 * deletions), checkpoints every `numberOfPagesPerCommit` pages, heartbeats on
 * a timer, checks the job's status between pages (cancel stops it), and on
 * the last page commits its files and marks the item done. A stop request
 * stages what is buffered, checkpoints and gives the item back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExportPosition } from '../../store/resource-store.ts';
import { withCorrelation } from '../../observability/correlation.ts';
import { leaseRulesOf, type EngineContext } from './context.ts';
import { calling, classify, safeMessage } from './failures.ts';
import { completeIfDone, failJob, releaseIfEnded } from './finish.ts';
import { HeldItem } from './held-item.ts';
import { comparePositions, type JobRecord, type StreamCheckpoint, type StreamKind, type WorkItem } from './job-record.ts';
import { LeaseLost } from './lease.ts';
import { deletedLine, lineRulesFor, resourceLine } from './lines.ts';
import { NdjsonStream } from './ndjson-stream.ts';
import { rollingBytes } from './options.ts';
import { scanFilterOf } from './plan.ts';

/** Where a resumed scan starts: the earliest `through` of the streams (undefined: from the start). */
function resumePosition(item: WorkItem): ExportPosition | undefined {
  const { resources, deleted } = item.checkpoint;
  if (!resources.through || !deleted.through) return undefined;
  return comparePositions(resources.through, deleted.through) <= 0 ? resources.through : deleted.through;
}

/** See the module comment. */
export class ItemRunner {
  #stopping = false;
  #position: ExportPosition | undefined;
  readonly #held: HeldItem;
  readonly #item: WorkItem;
  readonly #log;

  /** A runner for item `index` of `job` (as stored when claimed), held under `leaseId`. */
  constructor(
    private readonly ctx: EngineContext,
    private readonly job: JobRecord,
    index: number,
    leaseId: string,
  ) {
    this.#item = job.items[index]!;
    this.#held = new HeldItem(ctx, job.id, index, leaseId);
    this.#log = ctx.logger.child({ jobId: job.id, item: index, resourceType: this.#item.resourceType, correlationId: job.correlationId });
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
      await withCorrelation(this.job.correlationId, () => this.#work());
    } catch (error) {
      await this.#recordFailure(error).catch((e: unknown) => this.#log.warn({ err: safeMessage(e) }, 'could not record the failure; the lease will time out'));
    } finally {
      clearInterval(timer);
    }
  }

  async #beat(): Promise<void> {
    await this.#held.beat().catch((error: unknown) => {
      if (error instanceof LeaseLost) this.#stopping = true;
      else this.#log.warn({ err: safeMessage(error) }, 'heartbeat failed');
    });
  }

  async #work(): Promise<void> {
    const { ctx, job } = this;
    const item = this.#item;
    const container = await ctx.destinations.open(job.request.destination);
    const sizes = { block: ctx.options.blockSizeBytes, rolling: rollingBytes(ctx.options) };
    const position = () => this.#position;
    const streams: Record<StreamKind, NdjsonStream> = {
      resources: new NdjsonStream('resources', item.resourceType, job.id, container, item.checkpoint.resources, this.#held, sizes, position),
      deleted: new NdjsonStream('deleted', 'Bundle', job.id, container, item.checkpoint.deleted, this.#held, sizes, position),
    };
    const snapshots = (): Record<StreamKind, StreamCheckpoint> => ({ resources: streams.resources.snapshot(), deleted: streams.deleted.snapshot() });
    const rules = lineRulesFor(job, item);
    const filter = scanFilterOf(job, item);
    this.#position = resumePosition(item);
    this.#log.info({ resumeFrom: this.#position ?? null }, 'work item started');
    // Versions stamped at or before the job's instant that are still in flight decide what the state then was.
    await calling('the resource store', () => ctx.store.settled(job.transactionTimeMs));
    for (let pages = 1; ; pages++) {
      if (this.#stopping) {
        await streams.resources.stage();
        await streams.deleted.stage();
        await this.#held.checkpoint(snapshots(), 'give-back');
        this.#log.info({ at: this.#position ?? null }, 'work item given back');
        return;
      }
      const continuation = this.#position;
      const page = await calling('the resource store', () =>
        ctx.store.queryForExport({ ...filter, pageSize: ctx.options.maximumNumberOfResourcesPerQuery, ...(continuation ? { continuation } : {}) }),
      );
      for (const found of page.items) {
        const prev = this.#position;
        this.#position = { lastUpdatedMs: found.lastUpdatedMs, id: found.id };
        if (found.deleted && item.kind !== 'deleted-resources') await streams.deleted.append(deletedLine(item.resourceType, found.id), prev);
        else if (found.json !== undefined) {
          const line = resourceLine(found.json, rules);
          if (line !== undefined) await streams.resources.append(line, prev);
        }
      }
      await ctx.hooks.afterPage?.(job.id, item.index);
      if (!page.continuation) break;
      if (pages % ctx.options.numberOfPagesPerCommit === 0) {
        await streams.resources.beforeCheckpoint();
        await streams.deleted.beforeCheckpoint();
        await this.#held.checkpoint(snapshots(), 'keep');
        await ctx.hooks.afterCheckpoint?.(job.id, item.index);
      } else await this.#held.checkStillHeld();
    }
    await streams.resources.finish();
    await streams.deleted.finish();
    await this.#held.checkpoint(snapshots(), 'done');
    this.#log.info({ exported: streams.resources.exported, deleted: streams.deleted.exported }, 'work item done');
    await completeIfDone(ctx, job.id);
  }

  // The job store may be as unreachable as whatever failed: keep trying (1 s doubling to 10 s) while the
  // lease would still hold, so a short outage does not leave the item leased until its heartbeat times out.
  async #recordFailure(error: unknown): Promise<void> {
    const deadline = Date.now() + leaseRulesOf(this.ctx.options).thresholdMs;
    for (let waitMs = 1000; ; waitMs = Math.min(waitMs * 2, 10_000)) {
      try {
        return await this.#onError(error);
      } catch (failure) {
        if (this.#stopping || Date.now() + waitMs > deadline) throw failure;
        this.#log.warn({ err: safeMessage(failure), retryInMs: waitMs }, 'could not record the failure; trying again');
        await sleep(waitMs);
      }
    }
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
    const stored = await this.#held.releaseAfterFailure(retryAfterMs, verdict.reason);
    if (stored) await releaseIfEnded(this.ctx, stored);
  }
}
