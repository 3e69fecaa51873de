/**
 * The export engine: `ExportJobs` over a `JobStore`, the resource store and the
 * destinations, with this instance's `WorkerPool`. `start` validates and
 * queues a `JobRecord` once admission (`admission.ts`, atomic across instances)
 * gave it one of `maximumNumberOfConcurrentJobsAllowed` slots; the workers, here
 * or in any other instance, do the rest.
 */
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createLogger } from '../../../common/logging.ts';
import { ExportError, type ExportCaller, type ExportJobs, type ExportJobView, type ExportRequest } from '../ports.ts';
import type { ResourceStore } from '../../store/resource-store.ts';
import type { EngineContext, EngineHooks } from './context.ts';
import { admitJob, releaseSlot } from './admission.ts';
import { withCleanContainerUrl } from './client-urls.ts';
import type { DestinationResolver } from './destinations.ts';
import { isTransient, safeMessage } from './failures.ts';
import { releaseIfEnded } from './finish.ts';
import { blobNameOf, isTerminal, type JobRecord } from './job-record.ts';
import { mutateJob, type JobStore } from './job-store.ts';
import { resolveExportOptions, type ExportEngineOptions } from './options.ts';
import { snapshotMsOf } from './plan.ts';
import { toJobView } from './views.ts';
import { TokenWaits } from './waits.ts';
import { WorkerPool } from './worker-pool.ts';

/** What the engine is built from. */
export interface ExportEngineDeps {
  jobs: JobStore;
  store: ResourceStore;
  destinations: DestinationResolver;
  /** Settings (defaults for what is left out). */
  options?: Partial<ExportEngineOptions>;
  logger?: Logger;
  /** Lease owner id of this instance (default host-pid-random). */
  workerId?: string;
  hooks?: EngineHooks;
  /** Token state shared with the credential the destinations use (`guardCredential`); default: its own. */
  tokenWaits?: TokenWaits;
}

const jobIdPattern = /^[A-Za-z0-9-]{1,64}$/;
// A slot whose job record is still missing after this long belongs to a kick-off that died.
const admissionGraceMs = 60_000;

/** Turns dependency failures into `ExportError('unavailable')` where a retry may help. */
async function guarded<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ExportError || !isTransient(error)) throw error;
    throw new ExportError('unavailable', `the export job store is unavailable (${safeMessage(error)})`, 5);
  }
}

/** The earliest instant whose replaced versions `job` reads: its `_since` when it exports earlier versions, else its snapshot instant. */
function versionsNeededFrom(job: JobRecord): number {
  if (job.request.includeAssociatedData.includes('_history')) return job.request.since ? Date.parse(job.request.since) : -Infinity;
  return snapshotMsOf(job);
}

function checkRequest(request: ExportRequest): void {
  for (const [name, value] of [['_since', request.since], ['_until', request.until]] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value))) throw new ExportError('invalid', `${name} is not an instant: ${value}`);
  }
  if (request.level === 'group' && !request.groupId) throw new ExportError('invalid', 'a Group export needs a group id');
}

/** See the module comment. */
export class ExportEngine implements ExportJobs {
  /** This instance's workers. */
  readonly pool: WorkerPool;
  readonly #ctx: EngineContext;

  /** An engine over `deps`; call `pool.start()` to run workers in this instance. */
  constructor(deps: ExportEngineDeps) {
    const options = resolveExportOptions(deps.options);
    const logger = deps.logger ?? createLogger('export', 'info');
    const workerId = deps.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.#ctx = { jobs: deps.jobs, store: deps.store, destinations: deps.destinations, options, logger, workerId, hooks: deps.hooks ?? {}, tokenWaits: deps.tokenWaits ?? new TokenWaits() };
    this.pool = new WorkerPool(this.#ctx);
  }

  /** The effective settings. */
  get options(): Readonly<ExportEngineOptions> {
    return this.#ctx.options;
  }

  /** The earliest instant from which a queued or running export needs replaced versions kept (Infinity: none needs any). */
  async historyNeededSince(): Promise<number> {
    const jobs = await guarded(() => this.#ctx.jobs.listWork());
    return Math.min(Infinity, ...jobs.filter((job) => !isTerminal(job.status)).map(versionsNeededFrom));
  }

  async start(request: ExportRequest, caller: ExportCaller): Promise<ExportJobView> {
    checkRequest(request);
    const { options, store, jobs } = this.#ctx;
    request = await this.#checkRetention(request);
    let destination = withCleanContainerUrl(request.destination);
    if (destination.kind === 'default' && !destination.container) destination = { kind: 'default', container: options.defaultContainer };
    if (request.level === 'group' && !(await guarded(() => store.getGroupMembers(request.groupId!)))) {
      throw new ExportError('not-found', `Group/${request.groupId} does not exist`);
    }
    const id = randomUUID();
    const limit = options.maximumNumberOfConcurrentJobsAllowed;
    const perClient = options.maximumNumberOfConcurrentJobsPerClient;
    const admission = await guarded(() => admitJob(jobs, id, { limit, ...(perClient ? { perClientLimit: perClient } : {}), principal: caller.principal, pendingGraceMs: admissionGraceMs }));
    if (!admission.admitted) {
      const message = admission.by === 'client'
        ? `this client has ${admission.active} export jobs queued or running; the per-client limit is ${perClient}`
        : `${admission.active} export jobs are queued or running; the limit is ${limit}`;
      throw new ExportError('too-many-jobs', message, options.tooManyJobsRetryAfterSeconds);
    }
    const now = Date.now();
    const record: JobRecord = {
      id,
      docType: 'export-job',
      status: 'queued',
      request: { ...request, destination },
      owner: { principal: caller.principal },
      ...(caller.correlationId ? { correlationId: caller.correlationId } : {}),
      createTime: new Date(now).toISOString(),
      transactionTime: new Date(now).toISOString(),
      transactionTimeMs: now,
      restartCount: 0,
      planned: false,
      items: [],
      nextFileSeq: {},
      output: [],
      deleted: [],
      errors: [],
      notes: [],
      destinationReleased: destination.kind !== 'client',
    };
    let stored: JobRecord;
    try {
      stored = await guarded(() => jobs.create(record));
    } catch (error) {
      await releaseSlot(jobs, id).catch(() => undefined); // else it is freed after admissionGraceMs
      throw error;
    }
    this.#ctx.logger.info({ jobId: stored.id, level: request.level, correlationId: caller.correlationId }, 'export queued');
    this.pool.nudge();
    return toJobView(stored, options.outputExpirySeconds);
  }

  // `_history` needs every version replaced after `_since` (all of them without it): refused (strict) or noted
  // (lenient) when the retention policy may have purged some. Deletions carry the version they deleted, so
  // `_deleted` never loses anything to retention.
  async #checkRetention(request: ExportRequest): Promise<ExportRequest> {
    if (!request.includeAssociatedData.includes('_history')) return request;
    const purgedMs = await guarded(() => this.#ctx.store.purgedHistoryThrough());
    const fromMs = request.since ? Date.parse(request.since) : -Infinity;
    if (purgedMs <= fromMs) return request;
    const what = `versions replaced before ${new Date(purgedMs).toISOString()} were purged by the history retention policy`;
    if (request.handling === 'strict') {
      throw new ExportError('invalid', `includeAssociatedData=_history cannot be complete: ${what}; ask with _since at or after that instant, or with Prefer: handling=lenient`);
    }
    return { ...request, notes: [...request.notes, `includeAssociatedData=_history: ${what}; the history files hold the versions still kept`] };
  }

  async #own(id: string, caller: ExportCaller): Promise<JobRecord | undefined> {
    if (!jobIdPattern.test(id)) return undefined;
    const job = await guarded(() => this.#ctx.jobs.read(id));
    return job && job.owner.principal === caller.principal && job.status !== 'cancelled' ? job : undefined;
  }

  async get(id: string, caller: ExportCaller): Promise<ExportJobView | undefined> {
    const job = await this.#own(id, caller);
    return job && toJobView(job, this.#ctx.options.outputExpirySeconds);
  }

  async cancel(id: string, caller: ExportCaller): Promise<ExportJobView | undefined> {
    if (!(await this.#own(id, caller))) return undefined;
    const job = await guarded(() =>
      mutateJob(this.#ctx.jobs, id, (current) => {
        if (current.status === 'cancelled') return undefined;
        if (!isTerminal(current.status)) current.endTime = new Date().toISOString();
        current.status = 'cancelled';
        for (const item of current.items) delete item.lease;
        return current;
      }),
    );
    if (!job) return undefined;
    this.#ctx.logger.info({ jobId: id, correlationId: caller.correlationId }, 'export cancelled');
    await releaseIfEnded(this.#ctx, job).catch((error: unknown) => this.#ctx.logger.warn({ jobId: id, err: safeMessage(error) }, 'releasing the destination failed; will retry'));
    return toJobView(job, this.#ctx.options.outputExpirySeconds);
  }

  async #completedFile(id: string, fileName: string, caller: ExportCaller) {
    const job = await this.#own(id, caller);
    if (!job || job.status !== 'completed' || job.request.destination.kind !== 'default') return undefined;
    const file = [...job.output, ...job.deleted, ...job.errors].find((f) => f.fileName === fileName);
    return file && { job, file };
  }

  async openFile(id: string, fileName: string, caller: ExportCaller): Promise<{ stream: Readable; sizeBytes: number } | undefined> {
    const found = await this.#completedFile(id, fileName, caller);
    if (!found) return undefined;
    const container = await this.#ctx.destinations.open(found.job.request.destination);
    const response = await container.getBlobClient(blobNameOf(id, fileName)).download();
    if (!response.readableStreamBody) return undefined;
    return { stream: response.readableStreamBody as Readable, sizeBytes: found.file.sizeBytes };
  }

  async fileSasUrl(id: string, fileName: string, caller: ExportCaller): Promise<string | undefined> {
    const { destinations, options } = this.#ctx;
    if (!destinations.readUrl) return undefined;
    const found = await this.#completedFile(id, fileName, caller);
    return found && destinations.readUrl(found.job.request.destination, blobNameOf(id, fileName), options.sasUrlLifetimeSeconds);
  }
}
