/**
 * Proto messages <-> the front door's shapes: a `StartExportRequest` becomes
 * the same `KickoffInput` a POST body gives (one validator for both doors);
 * an `ExportJobView` becomes an `ExportJob`.
 */
import {
  ExportJobState,
  ExportLevel as ProtoLevel,
  Handling,
  type ExportFile,
  type ExportJob,
  type StartExportRequest,
} from '../../../gen/fhirmesh/fhir/v1/export_service.ts';
import { FhirError } from '../../fhir/errors.ts';
import type { ExportFileView, ExportJobStatus, ExportJobView, ExportLevel } from '../ports.ts';
import type { FileLinks } from './front-door.ts';
import type { KickoffInput, RawParameter } from './kickoff-input.ts';
import { percentOf } from './manifest.ts';

const levels: Record<number, ExportLevel> = { [ProtoLevel.EXPORT_LEVEL_UNSPECIFIED]: 'system', [ProtoLevel.EXPORT_LEVEL_SYSTEM]: 'system', [ProtoLevel.EXPORT_LEVEL_PATIENT]: 'patient', [ProtoLevel.EXPORT_LEVEL_GROUP]: 'group' };
const handlings: Record<number, string> = { [Handling.HANDLING_UNSPECIFIED]: 'strict', [Handling.HANDLING_STRICT]: 'strict', [Handling.HANDLING_LENIENT]: 'lenient' };
const operations: Record<ExportLevel, (groupId: string) => string> = { system: () => '$export', patient: () => 'Patient/$export', group: (id) => `Group/${encodeURIComponent(id)}/$export` };

/** The kick-off a `StartExportRequest` asks for; `baseUrl` makes the request URL when the client sent none. */
export function kickoffOf(message: StartExportRequest, baseUrl: string): KickoffInput {
  const level = levels[message.level];
  if (!level) throw new FhirError('invalid', `level ${message.level} is not an ExportLevel`, { expression: 'level' });
  const handling = handlings[message.handling];
  if (!handling) throw new FhirError('invalid', `handling ${message.handling} is not a Handling`, { expression: 'handling' });
  if (level !== 'group' && message.groupId !== '') throw new FhirError('invalid', 'group_id applies only to EXPORT_LEVEL_GROUP', { expression: 'group_id' });
  const p: RawParameter[] = [];
  const add = (name: string, values: string[], reference?: boolean) => values.forEach((value) => p.push({ name, value, ...(reference ? { reference } : {}) }));
  if (message.outputFormat !== '') add('_outputFormat', [message.outputFormat]);
  if (message.since) add('_since', [message.since.toISOString()]);
  if (message.until) add('_until', [message.until.toISOString()]);
  add('_type', message.types);
  add('_typeFilter', message.typeFilters);
  add('_elements', message.elements);
  add('patient', message.patients, true);
  add('includeAssociatedData', message.includeAssociatedData);
  const kind = message.destination?.kind;
  if (kind?.$case === 'defaultStorage' && kind.value.container !== '') add('_container', [kind.value.container]);
  if (kind?.$case === 'containerSas') add('_destination', [kind.value.containerSasUrl]);
  return {
    level,
    ...(level === 'group' ? { groupId: message.groupId } : {}),
    form: 'body',
    parameters: p,
    prefer: `respond-async, handling=${handling}`,
    requestUrl: requestUrlOf(message.requestUrl, `${baseUrl}/${operations[level](message.groupId)}`),
  };
}

/**
 * The manifest's `request`: `derived` (this server's kick-off URL for the level) when the
 * client sent none; else the client's URL only if it is that same URL (same origin, same
 * path, no credentials or fragment), optionally with a query.
 */
function requestUrlOf(sent: string, derived: string): string {
  if (sent === '') return derived;
  const refuse = () => new FhirError('invalid', `request_url must be this server's kick-off URL ${derived} (a query may follow), or be left empty`, { expression: 'request_url' });
  if (sent.length > 2048 || /[\s\u0000-\u001f\u007f]/.test(sent)) throw refuse();
  let url: URL;
  try {
    url = new URL(sent);
  } catch {
    throw refuse();
  }
  const expected = new URL(derived);
  if (url.origin !== expected.origin || url.pathname !== expected.pathname || url.username !== '' || url.password !== '' || url.hash !== '') throw refuse();
  return url.toString();
}

const states: Record<ExportJobStatus, ExportJobState> = {
  queued: ExportJobState.EXPORT_JOB_STATE_QUEUED,
  running: ExportJobState.EXPORT_JOB_STATE_RUNNING,
  completed: ExportJobState.EXPORT_JOB_STATE_COMPLETED,
  failed: ExportJobState.EXPORT_JOB_STATE_FAILED,
  cancelled: ExportJobState.EXPORT_JOB_STATE_CANCELLED,
};

/** The proto view of `job`; file URLs come from `links` (completed jobs). */
export function exportJobOf(job: ExportJobView, links?: FileLinks): ExportJob {
  const file = (f: ExportFileView): ExportFile => ({ type: f.type, url: links?.urlOf(f) ?? '', count: f.count, sizeBytes: f.sizeBytes });
  const date = (iso: string | undefined) => (iso ? new Date(iso) : undefined);
  return {
    jobId: job.id,
    state: states[job.status],
    transactionTime: date(job.transactionTime),
    requestUrl: job.request.requestUrl,
    requiresAccessToken: links?.requiresAccessToken ?? true,
    progress: { resourcesExported: job.progress.exported, resourcesTotal: job.progress.total, percent: percentOf(job) },
    output: job.output.map(file),
    error: job.errors.map(file),
    deleted: job.deleted.map(file),
    failure: job.failure ? { code: job.failure.code, message: job.failure.message, httpStatus: job.failure.httpStatus } : undefined,
    createTime: date(job.createTime),
    endTime: date(job.endTime),
    expireTime: date(job.expireTime),
  };
}
