/**
 * One status poll of an export, and the manifest of a completed one. A 202 is
 * progress (`X-Progress`, `Retry-After`); a 200 is the manifest; 429 and
 * 502-504 are "ask again later"; anything else ends the export with a sentence.
 */
import { CliError, ExitCode } from '../errors.ts';
import { answerError, outcomeText, type FhirClient, type HttpAnswer } from '../fhir-client.ts';

/** One file of a manifest. */
export interface ManifestFile {
  type: string;
  url: string;
  count?: number;
}

/** The completion manifest (Bulk Data IG). */
export interface ExportManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: ManifestFile[];
  error: ManifestFile[];
  deleted?: ManifestFile[];
}

/** What a poll said. */
export type PollResult =
  | { state: 'done'; manifest: ExportManifest }
  | { state: 'running'; progress: string; retryAfterMs: number }
  | { state: 'busy'; reason: string; retryAfterMs: number | undefined };

/** Milliseconds to wait from a `Retry-After` header (seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function header(answer: HttpAnswer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Polls `statusUrl` once. */
export async function pollExport(fhir: FhirClient, statusUrl: string): Promise<PollResult> {
  const answer = await fhir.request('GET', statusUrl, { headers: { accept: 'application/json' } });
  const wait = retryAfterMs(answer.headers['retry-after']);
  if (answer.status === 202) return { state: 'running', progress: header(answer, 'x-progress') ?? 'in progress', retryAfterMs: wait ?? 1000 };
  if (answer.status === 200) return { state: 'done', manifest: JSON.parse(answer.body) as ExportManifest };
  if (answer.status === 429 || answer.status === 502 || answer.status === 503 || answer.status === 504) {
    return { state: 'busy', reason: `HTTP ${answer.status}: ${outcomeText(answer.body) ?? 'no details'}`, retryAfterMs: wait };
  }
  if (answer.status === 404) throw new CliError(`no export at ${statusUrl} (it was cancelled, has expired, or belongs to another client)`, ExitCode.notFound);
  if (answer.status === 401 || answer.status === 403) throw answerError(answer, 'the status request');
  throw new CliError(`the export failed (HTTP ${answer.status}): ${outcomeText(answer.body) ?? 'no details'}`, ExitCode.failed);
}
