/**
 * An in-memory `ExportJobs` (a fake at the port, for front-door tests): it
 * stores jobs per caller, enforces a limit of active jobs, keeps file bytes
 * and serves them; tests move jobs along with `run`, `complete` and `fail`.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { ExportError } from '../../../fhir-server/export/ports.ts';
import type { ExportCaller, ExportFileView, ExportJobs, ExportJobView, ExportRequest } from '../../../fhir-server/export/ports.ts';

interface StoredJob {
  owner: string;
  view: ExportJobView;
  files: Map<string, Buffer>;
}

/** A file a test completes a job with. */
export interface FakeFile {
  type: string;
  fileName: string;
  lines: string[];
}

/** See the module comment. */
export class MemoryExportJobs implements ExportJobs {
  readonly #jobs = new Map<string, StoredJob>();
  /** Requests as started, in order (copies). */
  readonly started: ExportRequest[] = [];

  /** `maxActive`: queued or running jobs allowed at once; `sasBase`: when set, `fileSasUrl` answers `<sasBase>/<job>/<file>?sig=...`. */
  constructor(readonly limits: { maxActive: number; retryAfterSeconds?: number; sasBase?: string } = { maxActive: 100 }) {}

  async start(request: ExportRequest, caller: ExportCaller): Promise<ExportJobView> {
    const active = [...this.#jobs.values()].filter((job) => job.view.status === 'queued' || job.view.status === 'running').length;
    if (active >= this.limits.maxActive) throw new ExportError('too-many-jobs', `${active} exports are running`, this.limits.retryAfterSeconds);
    const now = new Date().toISOString();
    const view: ExportJobView = {
      id: randomUUID().replace(/-/g, ''),
      status: 'queued',
      request: structuredClone(request),
      transactionTime: now,
      createTime: now,
      progress: { exported: 0, total: 0 },
      output: [],
      errors: [],
      deleted: [],
    };
    this.#jobs.set(view.id, { owner: caller.principal, view, files: new Map() });
    this.started.push(structuredClone(request));
    return structuredClone(view);
  }

  #mine(id: string, caller: ExportCaller): StoredJob | undefined {
    const job = this.#jobs.get(id);
    return job && job.owner === caller.principal && job.view.status !== 'cancelled' ? job : undefined;
  }

  async get(id: string, caller: ExportCaller): Promise<ExportJobView | undefined> {
    const job = this.#mine(id, caller);
    return job ? structuredClone(job.view) : undefined;
  }

  async cancel(id: string, caller: ExportCaller): Promise<ExportJobView | undefined> {
    const job = this.#mine(id, caller);
    if (!job) return undefined;
    job.view.status = 'cancelled';
    job.view.endTime = new Date().toISOString();
    return structuredClone(job.view);
  }

  async openFile(id: string, fileName: string, caller: ExportCaller) {
    const job = this.#mine(id, caller);
    const bytes = job?.view.status === 'completed' ? job.files.get(fileName) : undefined;
    return bytes ? { stream: Readable.from([bytes]), sizeBytes: bytes.length } : undefined;
  }

  async fileSasUrl(id: string, fileName: string, caller: ExportCaller): Promise<string | undefined> {
    const job = this.#mine(id, caller);
    if (!this.limits.sasBase || !job?.files.has(fileName)) return undefined;
    return `${this.limits.sasBase}/${id}/${fileName}?sv=2024-08-04&sp=r&sig=fake`;
  }

  /** Marks a job running with progress. */
  run(id: string, exported: number, total: number): void {
    const job = this.#jobs.get(id)!;
    job.view.status = 'running';
    job.view.progress = { exported, total };
  }

  /** Completes a job with output, error and deleted files. */
  complete(id: string, files: { output: FakeFile[]; errors?: FakeFile[]; deleted?: FakeFile[] }, expireTime = new Date(Date.now() + 86_400_000)): void {
    const job = this.#jobs.get(id)!;
    const view = (file: FakeFile): ExportFileView => {
      const bytes = Buffer.from(file.lines.map((line) => `${line}\n`).join(''));
      job.files.set(file.fileName, bytes);
      return { type: file.type, fileName: file.fileName, count: file.lines.length, sizeBytes: bytes.length };
    };
    job.view.output = files.output.map(view);
    job.view.errors = (files.errors ?? []).map(view);
    job.view.deleted = (files.deleted ?? []).map(view);
    const total = job.view.output.reduce((sum, f) => sum + f.count, 0);
    Object.assign(job.view, { status: 'completed', progress: { exported: total, total }, endTime: new Date().toISOString(), expireTime: expireTime.toISOString() });
  }

  /** Fails a job. */
  fail(id: string, failure: { code: string; message: string; httpStatus: number }): void {
    Object.assign(this.#jobs.get(id)!.view, { status: 'failed', failure, endTime: new Date().toISOString() });
  }
}
