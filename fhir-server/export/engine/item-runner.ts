/**
 * Runs one leased work item: scans its resources page by page from its
 * checkpoint, writes them through its NDJSON streams (resources, deletions,
 * and OperationOutcomes naming resources withheld as invalid), checkpoints
 * every `numberOfPagesPerCommit` pages, heartbeats on
 * a timer, checks the job's status between pages (cancel stops it), and on
 * the last page commits its files and marks the item done. A stop request
 * stages what is buffered, checkpoints and gives the item back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExportPosition } from '../../store/resource-store.ts';
import { withCorrelation } from '../../observability/correlation.ts';
import { leaseRulesOf, type EngineContext } from './context.ts';
import { calling, classify, ExportFailure, safeMessage, ServiceError } from './failures.ts';
import { completeIfDone, failJob, releaseIfEnded } from './finish.ts';
import { HeldItem } from './held-item.ts';
import { comparePositions, emptyStream, type JobRecord, type StreamCheckpoint, type StreamKind, type WorkItem } from './job-record.ts';
import { LeaseLost } from './lease.ts';
import { deletedLine, lineRulesFor, resourceLine } from './lines.ts';
import { NdjsonStream } from './ndjson-stream.ts';
import { rollingBytes } from './options.ts';
import { scanFilterOf } from './plan.ts';
import { AssociatedProvenance, provenanceModeOf } from './provenance.ts';
import { ItemWaits, withItemWaits, type ItemWait } from './waits.ts';

// A dependency call this slow is shown in X-Progress (one job record write when it starts, one when it ends).
const WAIT_REPORT_AFTER_MS = 1000;

/** Where a resumed scan starts: the earliest `through` of the streams (undefined: from the start). */
function resumePosition(item: WorkItem): ExportPosition | undefined {
  const { resources, deleted, errors, provenance } = item.checkpoint;
  let earliest: ExportPosition | undefined;
  for (const stream of [resources, deleted, errors, provenance]) {
    if (!stream) continue;
    if (!stream.through) return undefined;
    if (!earliest || comparePositions(stream.through, earliest) < 0) earliest = stream.through;
  }
  return earliest;
}

/** See the module comment. */
export class ItemRunner {
  #stopping = false;
  #position: ExportPosition | undefined;
  readonly #held: HeldItem;
  readonly #item: WorkItem;
  readonly #waits: ItemWaits;
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
    const limit = ctx.options.destinationTimeoutSeconds;
    this.#waits = new ItemWaits(
      {
        ...(limit !== undefined ? { destinationTimeoutMs: limit * 1000 } : {}),
        reportAfterMs: WAIT_REPORT_AFTER_MS,
        tokens: ctx.tokenWaits,
        report: (wait) => this.#held.reportWait(wait).catch((error: unknown) => this.#log.debug({ err: safeMessage(error) }, 'could not record what the item waits for')),
      },
      this.#item.waiting,
    );
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
      await withCorrelation(this.job.correlationId, () => withItemWaits(this.#waits, () => this.#work()));
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
    const stream = (kind: StreamKind, fileType: string, checkpoint: StreamCheckpoint | undefined) =>
      new NdjsonStream(kind, fileType, job.id, container, checkpoint ?? emptyStream(), this.#held, sizes, position);
    // The Provenance of the resources as of the job's instant (not of earlier versions or deleted resources).
    const mode = item.kind ? undefined : provenanceModeOf(job);
    const provenance = mode ? new AssociatedProvenance(ctx.store, job, mode, ctx.options.maximumNumberOfResourcesPerQuery) : undefined;
    const streams: Record<Exclude<StreamKind, 'provenance'>, NdjsonStream> & { provenance?: NdjsonStream } = {
      resources: stream('resources', item.resourceType, item.checkpoint.resources),
      deleted: stream('deleted', 'Bundle', item.checkpoint.deleted),
      errors: stream('errors', 'OperationOutcome', item.checkpoint.errors),
      ...(provenance ? { provenance: stream('provenance', 'Provenance', item.checkpoint.provenance) } : {}),
    };
    const all = Object.values(streams);
    const snapshots = (): WorkItem['checkpoint'] => ({
      resources: streams.resources.snapshot(),
      deleted: streams.deleted.snapshot(),
      errors: streams.errors.snapshot(),
      ...(streams.provenance ? { provenance: streams.provenance.snapshot() } : {}),
    });
    const rules = lineRulesFor(job, item);
    const filter = scanFilterOf(job, item);
    this.#position = resumePosition(item);
    this.#log.info({ resumeFrom: this.#position ?? null }, 'work item started');
    // Versions stamped at or before the job's instant that are still in flight decide what the state then was.
    await calling('the resource store', () => ctx.store.settled(job.transactionTimeMs));
    for (let pages = 1; ; pages++) {
      if (this.#stopping) {
        for (const stream of all) await stream.stage();
        await this.#held.checkpoint(snapshots(), 'give-back');
        this.#log.info({ at: this.#position ?? null }, 'work item given back');
        return;
      }
      const continuation = this.#position;
      const page = await calling('the resource store', () =>
        ctx.store.queryForExport({ ...filter, pageSize: ctx.options.maximumNumberOfResourcesPerQuery, ...(continuation ? { continuation } : {}) }),
      );
      const lines = page.items.map((found) => (found.deleted && item.kind !== 'deleted-resources') || found.json === undefined ? undefined : resourceLine(found.json, rules, found.versionId));
      const owned = provenance
        ? await calling('the resource store', () => provenance.forPage(item.resourceType, page.items.filter((_, at) => lines[at]?.stream === 'resources').map((found) => found.id)))
        : undefined;
      for (const [at, found] of page.items.entries()) {
        const prev = this.#position;
        this.#position = { lastUpdatedMs: found.lastUpdatedMs, id: found.id };
        if (found.deleted && item.kind !== 'deleted-resources') await streams.deleted.append(deletedLine(item.resourceType, found.id), prev);
        const line = lines[at];
        if (line) await streams[line.stream].append(line.text, prev);
        // A resource's Provenance share its scan position: a resumed scan writes both again or neither.
        for (const extra of owned?.get(found.id) ?? []) await (extra.stream === 'resources' ? streams.provenance! : streams.errors).append(extra.text, prev);
      }
      await ctx.hooks.afterPage?.(job.id, item.index);
      if (!page.continuation) break;
      if (pages % ctx.options.numberOfPagesPerCommit === 0) {
        for (const stream of all) await stream.beforeCheckpoint();
        await this.#held.checkpoint(snapshots(), 'keep');
        await ctx.hooks.afterCheckpoint?.(job.id, item.index);
      } else await this.#held.checkStillHeld();
    }
    for (const stream of all) await stream.finish();
    await this.#held.checkpoint(snapshots(), 'done');
    this.#log.info({ exported: streams.resources.exported, deleted: streams.deleted.exported, withheld: streams.errors.exported, provenance: streams.provenance?.exported ?? 0 }, 'work item done');
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

  /**
   * What the item waits for after a transient failure, or the failure that ends the job: a
   * destination (Blob Storage, Key Vault) that has completed no request since its first
   * failure for `destinationTimeoutSeconds` fails the job, counted across retries and workers.
   */
  #waitAfter(error: unknown, reason: string): { wait: ItemWait; failure?: undefined } | { failure: ExportFailure } {
    const now = Date.now();
    const short = reason.slice(0, 60);
    if (!(error instanceof ServiceError) || (error.service !== 'Blob Storage' && error.service !== 'Key Vault')) {
      return { wait: { cause: `a retry after: ${short}`, sinceMs: this.#item.waiting?.sinceMs ?? now } };
    }
    const since = this.#waits.failedSince.get(error.service) ?? now;
    const limitSeconds = this.ctx.options.destinationTimeoutSeconds;
    if (limitSeconds !== undefined && now - since >= limitSeconds * 1000) {
      const message = `${error.service} has completed no request of this export for ${Math.round((now - since) / 1000)} s (limit export.destinationTimeoutSeconds: ${limitSeconds} s); last: ${safeMessage(error.cause)}`;
      return { failure: new ExportFailure('destination-timeout', message) };
    }
    return { wait: { cause: `${error.service} (retrying: ${safeMessage(error.cause).slice(0, 40)})`, sinceMs: since, service: error.service } };
  }

  async #onError(error: unknown): Promise<void> {
    if (error instanceof LeaseLost) {
      this.#log.info({ reason: error.message }, 'work item stopped');
      return;
    }
    const verdict = classify(error);
    if (!verdict.transient) return failJob(this.ctx, this.job.id, verdict.failure);
    const wait = this.#waitAfter(error, verdict.reason);
    if (wait.failure) return failJob(this.ctx, this.job.id, wait.failure);
    const retryAfterMs = Math.min(60_000, this.ctx.options.jobPollingFrequencySeconds * 1000 * 2 ** Math.min(10, this.job.restartCount));
    this.#log.warn({ reason: verdict.reason, retryAfterMs }, 'work item failed; it will be retried from its checkpoint');
    const stored = await this.#held.releaseAfterFailure(retryAfterMs, verdict.reason, wait.wait);
    if (stored) await releaseIfEnded(this.ctx, stored);
  }
}
