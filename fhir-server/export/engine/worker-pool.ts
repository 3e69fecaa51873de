/**
 * The export workers of one instance. Every `jobPollingFrequencySeconds` (or
 * sooner when nudged) the pool looks at the jobs that may need work: it plans
 * queued jobs, leases claimable work items — free ones, or ones whose worker
 * stopped heartbeating — up to `maximumNumberOfConcurrentJobsAllowed` items at
 * once, completes jobs whose items are all done, and releases the destinations
 * of ended jobs. Instances share nothing but the job store.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineContext } from './context.ts';
import { leaseRulesOf } from './context.ts';
import { ExportFailure, safeMessage } from './failures.ts';
import { completeIfDone, failJob, releaseIfEnded } from './finish.ts';
import { ItemRunner } from './item-runner.ts';
import { isTerminal, type JobRecord } from './job-record.ts';
import { mutateJob } from './job-store.ts';
import { claimItem, nextClaimable } from './lease.ts';
import { PlanFailure, planJob } from './plan.ts';

/** See the module comment. */
export class WorkerPool {
  readonly #running = new Set<Promise<void>>();
  readonly #runners = new Set<ItemRunner>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #again = false;
  #started = false;
  #stopped = false;

  /** A pool working for `ctx`. */
  constructor(private readonly ctx: EngineContext) {}

  /** Items running now. */
  get active(): number {
    return this.#runners.size;
  }

  /** Starts polling. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.nudge();
  }

  /** Looks for work now rather than at the next poll. */
  nudge(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#polling) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#polling = this.#poll()
      .catch((error: unknown) => this.ctx.logger.warn({ err: safeMessage(error) }, 'looking for export work failed'))
      .finally(() => {
        this.#polling = undefined;
        if (this.#stopped) return;
        if (this.#again) {
          this.#again = false;
          this.nudge();
        } else this.#timer = setTimeout(() => this.nudge(), this.ctx.options.jobPollingFrequencySeconds * 1000);
      });
  }

  /**
   * Stops polling, asks running items to checkpoint and give their leases back, and waits up
   * to `graceMs` for them. True when every item stopped in time; an item still running then
   * keeps its lease until the process ends, and another worker takes it over once the lease
   * times out (a restart).
   */
  async stop(graceMs = 10_000): Promise<boolean> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const deadline = Date.now() + graceMs;
    await Promise.race([this.#polling, sleep(graceMs, undefined, { ref: false })]);
    for (const runner of this.#runners) runner.requestStop();
    const all = Promise.all([...this.#running]).then(() => true);
    return Promise.race([all, sleep(Math.max(0, deadline - Date.now()), false, { ref: false })]);
  }

  async #poll(): Promise<void> {
    for (const job of await this.ctx.jobs.listWork()) {
      if (this.#stopped) return;
      try {
        await this.#attend(job);
      } catch (error) {
        this.ctx.logger.warn({ jobId: job.id, err: safeMessage(error) }, 'export job step failed; will try again');
      }
    }
  }

  async #attend(job: JobRecord): Promise<void> {
    if (isTerminal(job.status)) return releaseIfEnded(this.ctx, job);
    if (job.status === 'queued') {
      const planned = await this.#plan(job);
      if (!planned) return;
      job = planned;
    }
    if (job.planned && job.items.every((item) => item.status === 'done')) return completeIfDone(this.ctx, job.id);
    const rules = leaseRulesOf(this.ctx.options);
    while (this.#runners.size < this.ctx.options.maximumNumberOfConcurrentJobsAllowed && !this.#stopped) {
      const candidate = nextClaimable(job, Date.now(), rules);
      if (!candidate) return;
      let leaseId: string | undefined;
      const stored = await mutateJob(this.ctx.jobs, job.id, (current) => {
        const claim = claimItem(current, candidate.index, this.ctx.workerId, Date.now(), rules);
        leaseId = claim?.leaseId;
        return claim?.job;
      });
      if (!stored) return;
      job = stored;
      if (job.status === 'failed') return releaseIfEnded(this.ctx, job);
      if (leaseId) this.#launch(new ItemRunner(this.ctx, job, candidate.index, leaseId));
    }
  }

  async #plan(job: JobRecord): Promise<JobRecord | undefined> {
    try {
      const plan = await planJob(job, this.ctx.store, this.ctx.options);
      return await mutateJob(this.ctx.jobs, job.id, (current) => {
        if (current.status !== 'queued' || current.planned) return undefined;
        current.status = 'running';
        current.planned = true;
        current.scope = plan.scope;
        current.items = plan.items;
        current.notes.push(...plan.notes);
        return current;
      });
    } catch (error) {
      if (!(error instanceof PlanFailure)) throw error;
      await failJob(this.ctx, job.id, new ExportFailure('group-missing', error.message));
      return undefined;
    }
  }

  #launch(runner: ItemRunner): void {
    this.#runners.add(runner);
    const done = runner.run().finally(() => {
      this.#runners.delete(runner);
      this.#running.delete(done);
      this.nudge();
    });
    this.#running.add(done);
  }
}
