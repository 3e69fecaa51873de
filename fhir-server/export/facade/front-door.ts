/**
 * The export operations both doors (REST, gRPC) share: start (validate,
 * resolve the destination, queue), get, cancel, file links, poll pacing.
 * Every failure is a `FhirError`; each door answers it from its own table.
 */
import { LRUCache } from 'lru-cache';
import { FhirError } from '../../fhir/errors.ts';
import type { ExportCaller, ExportFileView, ExportJobs, ExportJobView } from '../ports.ts';
import { resolveDestination, type DestinationDeps } from './destination.ts';
import { fileNotFound, fromExportError, isFileName, isJobId, jobNotFound } from './errors.ts';
import type { KickoffInput } from './kickoff-input.ts';
import { parseKickoff } from './kickoff-parse.ts';
import type { FacadeOptions } from './options.ts';

/** Where the front door logs (pino or fastify's logger). */
export interface FrontDoorLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** What the front door needs. */
export interface FrontDoorDeps {
  /** The engine. */
  jobs: ExportJobs;
  /** Effective options (`facadeOptions()`). */
  options: Readonly<FacadeOptions>;
  /** Client destinations (Key Vault, host checks). */
  destinations?: DestinationDeps;
  /** Log (kick-offs and cleanup failures); default silent. */
  logger?: FrontDoorLog;
}

/** Where a manifest's files can be read. */
export interface FileLinks {
  /** URL of each file. */
  urlOf(file: ExportFileView): string;
  /** Whether the URLs need the client's bearer token. */
  requiresAccessToken: boolean;
}

/**
 * The resource type a caller must be able to read to download `fileName` of `job`: an output
 * file's type; for a deleted-resources file the type whose deletions it lists (its Bundles
 * carry ids of that type); null for an error file (notes on the request, no resource data);
 * undefined when the job lists no such file.
 */
export function typeNeededFor(job: ExportJobView, fileName: string): string | null | undefined {
  const output = job.output.find((file) => file.fileName === fileName);
  if (output) return output.type;
  if (job.deleted.some((file) => file.fileName === fileName)) return /^([A-Za-z]+)-deleted-\d+\.ndjson$/.exec(fileName)?.[1] ?? '*';
  return job.errors.some((file) => file.fileName === fileName) ? null : undefined;
}

/** See the module comment. */
export class ExportFrontDoor {
  readonly #deps: FrontDoorDeps;
  readonly #lastPoll = new LRUCache<string, number>({ max: 10_000 });

  constructor(deps: FrontDoorDeps) {
    this.#deps = deps;
  }

  /** The effective options. */
  get options(): Readonly<FacadeOptions> {
    return this.#deps.options;
  }

  /** Validates and queues a kick-off; a stored destination secret is removed again when the engine refuses the job. */
  async start(input: KickoffInput, caller: ExportCaller): Promise<ExportJobView> {
    const parsed = parseKickoff(input, this.#deps.options);
    const resolved = await resolveDestination(parsed.destination, this.#deps.destinations ?? {});
    try {
      const job = await this.#deps.jobs.start({ ...parsed.request, destination: resolved.destination }, caller);
      this.#deps.logger?.info({ jobId: job.id, exportLevel: job.request.level, destination: resolved.destination.kind, notes: parsed.request.notes.length, correlationId: caller.correlationId }, 'export queued');
      return job;
    } catch (err) {
      await resolved.discard().catch((cleanup: unknown) => this.#deps.logger?.warn({ reason: (cleanup as Error).message }, 'could not remove the destination secret of a refused kick-off'));
      throw fromExportError(err, this.#deps.options.throttledRetryAfterSeconds);
    }
  }

  /** The caller's job, or not-found. */
  async get(id: string, caller: ExportCaller): Promise<ExportJobView> {
    return this.#call(id, () => this.#deps.jobs.get(id, caller));
  }

  /** Cancels the caller's job, or not-found. */
  async cancel(id: string, caller: ExportCaller): Promise<ExportJobView> {
    const job = await this.#call(id, () => this.#deps.jobs.cancel(id, caller));
    this.#lastPoll.delete(`${caller.principal}|${id}`);
    return job;
  }

  /** Throttles status polls of one job closer together than `minimumPollIntervalSeconds`. */
  pacePoll(id: string, caller: ExportCaller): void {
    const interval = this.#deps.options.minimumPollIntervalSeconds * 1000;
    if (interval <= 0) return;
    const key = `${caller.principal}|${id}`;
    const now = this.#deps.options.now().getTime();
    const last = this.#lastPoll.get(key);
    if (last !== undefined && now - last < interval) {
      throw new FhirError('throttled', 'Status polled too often; wait for Retry-After', { retryAfterSeconds: Math.ceil((interval - (now - last)) / 1000) });
    }
    this.#lastPoll.set(key, now);
  }

  /**
   * Links to a completed job's files: for a client destination the blobs in the client's
   * own container (no query; the client reads them with its own credentials, so no access
   * token); else SAS URLs when configured, available for every file and the caller's token
   * may read every file's type; else download routes under `baseUrl`.
   */
  async fileLinks(job: ExportJobView, caller: ExportCaller, baseUrl: string): Promise<FileLinks> {
    const route = (file: ExportFileView) => `${baseUrl}/_export/${encodeURIComponent(job.id)}/files/${encodeURIComponent(file.fileName)}`;
    const files = [...job.output, ...job.errors, ...job.deleted];
    if (job.request.destination.kind === 'client' && files.every((file) => file.url)) {
      return { urlOf: (file) => file.url ?? route(file), requiresAccessToken: false };
    }
    const sas = this.#deps.jobs.fileSasUrl?.bind(this.#deps.jobs);
    // A SAS URL is a credential of its own: only for files of types the caller's token may read (else download routes, checked per file).
    const mayReadAll = files.every((file) => {
      const needed = typeNeededFor(job, file.fileName);
      return !caller.mayRead || needed === null || (needed !== undefined && caller.mayRead(needed));
    });
    if (this.#deps.options.manifestSasUrls && sas && files.length > 0 && mayReadAll) {
      const urls = await Promise.all(files.map((file) => sas(job.id, file.fileName, caller).catch((err: unknown) => Promise.reject(fromExportError(err)))));
      if (urls.every((url): url is string => typeof url === 'string')) {
        const byName = new Map(files.map((file, i) => [file.fileName, urls[i]!]));
        return { urlOf: (file) => byName.get(file.fileName) ?? route(file), requiresAccessToken: false };
      }
    }
    return { urlOf: route, requiresAccessToken: true };
  }

  /**
   * Opens a file of the caller's completed job, or not-found. A caller whose token limits reads
   * by type (`mayRead`) is refused (forbidden) a file of a type it may not read, even of its own job.
   */
  async openFile(id: string, fileName: string, caller: ExportCaller) {
    if (!isFileName(fileName)) throw fileNotFound(id, fileName);
    if (caller.mayRead) {
      const job = await this.get(id, caller);
      const needed = typeNeededFor(job, fileName);
      if (needed === undefined) throw fileNotFound(id, fileName);
      if (needed !== null && !caller.mayRead(needed)) {
        throw new FhirError('forbidden', `The access token's scopes do not cover ${needed}, the resource type in ${fileName}; downloading it needs system/${needed}.read (or .r)`);
      }
    }
    return this.#call(id, () => this.#deps.jobs.openFile(id, fileName, caller), () => fileNotFound(id, fileName));
  }

  async #call<T>(id: string, operation: () => Promise<T | undefined>, notFound = () => jobNotFound(id)): Promise<T> {
    if (!isJobId(id)) throw notFound();
    let result: T | undefined;
    try {
      result = await operation();
    } catch (err) {
      throw fromExportError(err);
    }
    if (result === undefined) throw notFound();
    return result;
  }
}
