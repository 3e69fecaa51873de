/**
 * The `JobStore` port: where `JobRecord`s live, with optimistic concurrency,
 * and `mutateJob`, the one way a record is changed (read, change, replace if
 * unchanged since the read, else start again).
 */
import type { AdmissionRecord } from './admission.ts';
import type { JobRecord } from './job-record.ts';

/** A replace lost a race: the record changed since it was read. */
export class JobConflict extends Error {
  override readonly name = 'JobConflict';
}

/** Storage of job records. */
export interface JobStore {
  /** Stores a new record. */
  create(record: JobRecord): Promise<JobRecord>;
  /** A record by id, or undefined. */
  read(id: string): Promise<JobRecord | undefined>;
  /** Replaces `record` if its `_etag` is still current; `JobConflict` otherwise. */
  replace(record: JobRecord): Promise<JobRecord>;
  /** Queued and running jobs. */
  countActive(): Promise<number>;
  /** Jobs a worker may have something to do for: queued, running, or ended with a destination not yet released. */
  listWork(): Promise<JobRecord[]>;
  /** The admission record, or undefined before the first admission. */
  readAdmission(): Promise<AdmissionRecord | undefined>;
  /** Creates the admission record when it has no `_etag`, else replaces it if unchanged; `JobConflict` when another write came first. */
  writeAdmission(record: AdmissionRecord): Promise<AdmissionRecord>;
}

/** What a change function returns: the new record, or undefined to leave it as it is. */
export type JobChange = (job: JobRecord) => JobRecord | undefined;

/**
 * Applies `change` to the current record and replaces it if nobody wrote in between,
 * retrying on lost races. Resolves to the stored record (unchanged when `change`
 * returned undefined), or undefined when there is no such job. Errors thrown by
 * `change` propagate.
 */
export async function mutateJob(store: JobStore, id: string, change: JobChange, attempts = 20): Promise<JobRecord | undefined> {
  for (let attempt = 0; ; attempt++) {
    const current = await store.read(id);
    if (!current) return undefined;
    const next = change(structuredClone(current));
    if (!next) return current;
    try {
      return await store.replace(next);
    } catch (error) {
      if (!(error instanceof JobConflict) || attempt + 1 >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * (attempt + 1)));
    }
  }
}
