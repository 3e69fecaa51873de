/**
 * A `JobStore` that reports what changed in each successful write: the job's
 * new status and the files committed since the version it replaced. A replace
 * only succeeds against the etag it was read at, so the version read under
 * that etag is exactly what the write changed; this instance counts only its
 * own writes, so instances never count the same change twice.
 */
import { LRUCache } from 'lru-cache';
import type { FileRecord, JobRecord } from '../export/engine/job-record.ts';
import type { JobStore } from '../export/engine/job-store.ts';
import type { ExportJobStatus } from '../export/ports.ts';

/** Which list of the manifest a file is in. */
export type FileKind = 'output' | 'deleted' | 'error';

/** What the store reports. */
export interface JobStoreObserver {
  /** A job entered `status` (created queued, or changed by this instance). */
  jobEntered(status: ExportJobStatus): void;
  /** A file was committed to the job. */
  fileCommitted(kind: FileKind, file: FileRecord): void;
}

interface Seen {
  status: ExportJobStatus;
  files: Set<string>;
}

const KINDS: Record<FileKind, (job: JobRecord) => FileRecord[]> = { output: (j) => j.output, deleted: (j) => j.deleted, error: (j) => j.errors };

function summary(job: JobRecord): Seen {
  const files = new Set<string>();
  for (const [kind, list] of Object.entries(KINDS)) for (const file of list(job) ?? []) files.add(`${kind}/${file.fileName}`);
  return { status: job.status, files };
}

/** Wraps `inner` (every other method passes through unchanged). */
export function observeJobStore<S extends JobStore>(inner: S, observer: JobStoreObserver): S {
  const seen = new LRUCache<string, Seen>({ max: 2000 });
  const remember = (job: JobRecord | undefined) => {
    if (job?._etag) seen.set(`${job.id}|${job._etag}`, summary(job));
    return job;
  };
  const report = (before: Seen, after: JobRecord) => {
    if (after.status !== before.status) observer.jobEntered(after.status);
    for (const [kind, list] of Object.entries(KINDS) as [FileKind, (j: JobRecord) => FileRecord[]][]) {
      for (const file of list(after) ?? []) if (!before.files.has(`${kind}/${file.fileName}`)) observer.fileCommitted(kind, file);
    }
  };
  const overrides: Partial<JobStore> = {
    create: async (record) => {
      const stored = await inner.create(record);
      observer.jobEntered(stored.status);
      return remember(stored)!;
    },
    read: async (id) => remember(await inner.read(id)),
    replace: async (record) => {
      const before = record._etag ? seen.get(`${record.id}|${record._etag}`) : undefined;
      const stored = await inner.replace(record);
      if (before) report(before, stored);
      return remember(stored)!;
    },
  };
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (typeof property === 'string' && property in overrides) return overrides[property as keyof JobStore];
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
