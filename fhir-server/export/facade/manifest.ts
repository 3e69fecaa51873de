/** What status polls answer: `X-Progress` text, the completion manifest (IG "Complete Status"), a failed job's OperationOutcome. */
import { operationOutcome, type OperationOutcome } from '../../fhir/outcome.ts';
import type { ExportFileView, ExportJobView } from '../ports.ts';
import type { FileLinks } from './front-door.ts';

/** Whole percent complete, 0-100 (100 once completed). */
export function percentOf(job: ExportJobView): number {
  if (job.status === 'completed') return 100;
  const { exported, total } = job.progress;
  if (total <= 0) return 0;
  return Math.max(0, Math.min(99, Math.floor((exported * 100) / total)));
}

/**
 * `X-Progress` (percentage first, at most 120 characters): `45% complete, 12000 of 26000 resources`,
 * and what a job that cannot progress waits for: `…; waiting 40 s for a storage token from the routing server`.
 */
export function progressText(job: ExportJobView, now: Date = new Date()): string {
  const percent = `${percentOf(job)}% complete`;
  if (job.status === 'queued') return `${percent}, queued`;
  const { exported, total } = job.progress;
  const text = total > 0 ? `${percent}, ${exported} of ${total} resources` : `${percent}, counting resources`;
  if (!job.waiting) return text;
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(job.waiting.since)) / 1000));
  return `${text}; waiting ${seconds} s for ${job.waiting.cause}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
}

/** One manifest file item. */
export interface ManifestFile {
  type: string;
  url: string;
  count: number;
}

/** The completion manifest. */
export interface ExportManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: ManifestFile[];
  error: ManifestFile[];
  deleted?: ManifestFile[];
}

/** The manifest of a completed job: `deleted` only when there are deleted-resource files. */
export function manifestOf(job: ExportJobView, links: FileLinks): ExportManifest {
  const item = (file: ExportFileView): ManifestFile => ({ type: file.type, url: links.urlOf(file), count: file.count });
  return {
    transactionTime: job.transactionTime,
    request: job.request.requestUrl,
    requiresAccessToken: links.requiresAccessToken,
    output: job.output.map(item),
    error: job.errors.map(item),
    ...(job.deleted.length > 0 ? { deleted: job.deleted.map(item) } : {}),
  };
}

/** HTTP status and OperationOutcome of a failed job (500 `exception` when the engine gave no reason). */
export function failureOf(job: ExportJobView): { status: number; outcome: OperationOutcome } {
  const failure = job.failure ?? { code: 'exception', message: 'The export failed', httpStatus: 500 };
  const status = Number.isInteger(failure.httpStatus) && failure.httpStatus >= 400 && failure.httpStatus <= 599 ? failure.httpStatus : 500;
  return { status, outcome: operationOutcome(status >= 500 ? 'fatal' : 'error', failure.code || 'exception', failure.message) };
}
