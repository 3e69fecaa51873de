/**
 * The Bulk Data kick-off: `POST [base]/$export` (or `Patient/$export`,
 * `Group/[id]/$export`) with a FHIR `Parameters` body and `Prefer:
 * respond-async`; answers the status URL (`Content-Location`) and the server's notes.
 */
import { CliError, ExitCode } from '../errors.ts';
import { answerError, type FhirClient } from '../fhir-client.ts';

/** What to export. */
export interface KickoffOptions {
  /** Resource types (each entry may be a comma list). */
  type?: string[];
  /** Only resources changed since: an instant, or an age such as `24h`, `30m`, `7d`. */
  since?: string;
  /** Only resources changed before this instant. */
  until?: string;
  /** `_typeFilter` queries, e.g. `Observation?status=final`. */
  typeFilter?: string[];
  /** Group export of this Group id. */
  group?: string;
  /** Patient-level export of these patients (ids or `Patient/<id>`). */
  patient?: string[];
  /** `patient` exports every patient's compartment; default `system`. */
  level?: 'system' | 'patient';
  /** Container of the default storage account. */
  container?: string;
  /** Ask for `handling=lenient` (unsupported parameters become notes). */
  lenient?: boolean;
}

/** A started export. */
export interface StartedExport {
  /** Absolute status URL. */
  statusUrl: string;
  /** Informational and warning notes of the server. */
  notes: string[];
}

const ageUnits: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An instant for `--since`/`--until`: ISO text kept as given, an age turned into now minus the age. */
export function instantOf(value: string, flag: string, nowMs = Date.now()): string {
  const age = /^(\d+)([smhd])$/.exec(value.trim());
  if (age) return new Date(nowMs - Number(age[1]) * ageUnits[age[2]!]!).toISOString();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value.trim()) || Number.isNaN(Date.parse(value))) {
    throw new CliError(`${flag} must be an instant with a time zone (e.g. 2025-01-31T00:00:00Z) or an age such as 24h, 30m, 7d`, ExitCode.usage);
  }
  return value.trim();
}

/** Kick-off path and `Parameters` body for `options`. */
export function kickoffRequest(options: KickoffOptions): { path: string; body: { resourceType: 'Parameters'; parameter: Record<string, unknown>[] } } {
  const parameter: Record<string, unknown>[] = [];
  for (const type of options.type ?? []) parameter.push({ name: '_type', valueString: type });
  if (options.since) parameter.push({ name: '_since', valueInstant: instantOf(options.since, '--since') });
  if (options.until) parameter.push({ name: '_until', valueInstant: instantOf(options.until, '--until') });
  for (const filter of options.typeFilter ?? []) parameter.push({ name: '_typeFilter', valueString: filter });
  if (options.container) parameter.push({ name: '_container', valueString: options.container });
  for (const patient of options.patient ?? []) parameter.push({ name: 'patient', valueReference: { reference: patient.startsWith('Patient/') ? patient : `Patient/${patient}` } });
  const path = options.group ? `/Group/${encodeURIComponent(options.group)}/$export` : options.patient?.length || options.level === 'patient' ? '/Patient/$export' : '/$export';
  return { path, body: { resourceType: 'Parameters', parameter } };
}

/** Kicks off an export on the FHIR base `baseUrl`. */
export async function startExport(fhir: FhirClient, baseUrl: string, options: KickoffOptions): Promise<StartedExport> {
  const { path, body } = kickoffRequest(options);
  const prefer = `respond-async${options.lenient ? ', handling=lenient' : ''}`;
  const answer = await fhir.request('POST', `${baseUrl}${path}`, { body, headers: { prefer } });
  if (answer.status !== 202) throw answerError(answer, 'the export kick-off');
  const location = answer.headers['content-location'];
  if (typeof location !== 'string' || location === '') throw new CliError('the fhir-server accepted the export but sent no Content-Location', ExitCode.failed);
  const notes: string[] = [];
  try {
    const outcome = JSON.parse(answer.body) as { issue?: { severity?: string; diagnostics?: string }[] };
    for (const issue of outcome.issue ?? []) if (issue.severity === 'warning' && issue.diagnostics) notes.push(issue.diagnostics);
  } catch {
    // No body: nothing to note.
  }
  return { statusUrl: new URL(location, `${baseUrl}/`).toString(), notes };
}
