/**
 * A `JobRecord` as the front doors see it: an `ExportJobView` with progress
 * (lines exported vs the store's count), files sorted by type and sequence
 * (with their blob URLs for a client destination), and no lease or checkpoint internals.
 */
import type { ExportFileView, ExportJobView } from '../ports.ts';
import { clientFileUrl } from './client-urls.ts';
import type { FileRecord, JobRecord } from './job-record.ts';

const seqOf = (fileName: string): number => Number(/-(\d+)\.ndjson$/.exec(fileName)?.[1] ?? 0);

function files(job: JobRecord, list: FileRecord[]): ExportFileView[] {
  return [...list]
    .sort((a, b) => (a.type === b.type ? seqOf(a.fileName) - seqOf(b.fileName) : a.fileName < b.fileName ? -1 : 1))
    .map(({ type, fileName, count, sizeBytes }) => {
      const url = clientFileUrl(job, fileName);
      return { type, fileName, count, sizeBytes, ...(url ? { url } : {}) };
    });
}

/** The view of `job`; `retentionHours` sets `expireTime` after the end. */
export function toJobView(job: JobRecord, retentionHours: number): ExportJobView {
  const view: ExportJobView = {
    id: job.id,
    status: job.status,
    request: job.request,
    transactionTime: job.transactionTime,
    createTime: job.createTime,
    progress: {
      exported: job.items.reduce((sum, item) => sum + item.checkpoint.resources.exported, 0),
      total: job.items.reduce((sum, item) => sum + item.total, 0),
    },
    output: files(job, job.output),
    errors: files(job, job.errors),
    deleted: files(job, job.deleted),
  };
  if (job.endTime) {
    view.endTime = job.endTime;
    view.expireTime = new Date(Date.parse(job.endTime) + retentionHours * 3_600_000).toISOString();
  }
  if (job.failure) view.failure = { ...job.failure };
  const waits = job.status === 'running' ? job.items.filter((item) => item.status !== 'done' && item.waiting).map((item) => item.waiting!) : [];
  const longest = waits.sort((a, b) => a.sinceMs - b.sinceMs)[0];
  if (longest) view.waiting = { cause: longest.cause, since: new Date(longest.sinceMs).toISOString() };
  return view;
}
