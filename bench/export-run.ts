/**
 * The export side of the export bench (a system export through the engine,
 * timed from kick-off to the job's end) and the checks both sides share. The
 * job is followed as a Bulk Data client that honours `Retry-After` follows it:
 * a status read right after the kick-off, then one each time the wait the REST
 * facade would answer (status-pacing.ts, same maximum) has passed; the delay
 * from the job's end to that client seeing it is reported too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExportEngine } from '../fhir-server/export/engine/export-engine.ts';
import { facadeDefaults } from '../fhir-server/export/facade/options.ts';
import { statusRetryAfterSeconds } from '../fhir-server/export/facade/status-pacing.ts';
import type { ExportJobView } from '../fhir-server/export/ports.ts';

/** One finished export: its duration (kick-off to end), what it wrote, and how late the polling client saw it. */
export interface ExportRun {
  seconds: number;
  view: ExportJobView;
  /** Seconds between the job's end and the client's poll that saw it. */
  seenAfterSeconds: number;
  /** Status reads the client made. */
  polls: number;
}

/** Runs a system export (of `types`, default everything) into `container` of the default account; throws unless it completes. */
export async function runExport(engine: ExportEngine, container: string, types: string[] = []): Promise<ExportRun> {
  const caller = { principal: 'bench' };
  const startedMs = Date.now();
  const job = await engine.start(
    {
      level: 'system', types, typeFilters: [], elements: [], patients: [], includeAssociatedData: [], outputFormat: 'application/fhir+ndjson',
      handling: 'lenient', notes: [], destination: { kind: 'default', container }, requestUrl: 'https://fhir.example/$export',
    },
    caller,
  );
  let view = job;
  let polls = 0;
  for (;;) {
    view = (await engine.get(job.id, caller))!;
    polls++;
    if (view.status !== 'queued' && view.status !== 'running') break;
    await sleep(statusRetryAfterSeconds(view, Date.now(), facadeDefaults.maxStatusRetryAfterSeconds) * 1000);
  }
  const seenMs = Date.now();
  if (view.status !== 'completed') throw new Error(`export ${view.status}: ${JSON.stringify(view.failure)}`);
  const endMs = Date.parse(view.endTime!);
  return { seconds: (endMs - startedMs) / 1000, view, seenAfterSeconds: Math.max(0, seenMs - endMs) / 1000, polls };
}

/**
 * Checks that `files` hold exactly the `expected` lines per type (each resource once) and,
 * when `previousBytes` is non-zero, the same bytes as the previous run; returns the bytes.
 */
export function checkTotals(label: string, expected: ReadonlyMap<string, number>, files: ReadonlyArray<{ type: string; count: number; sizeBytes: number }>, previousBytes: number): number {
  const counts = new Map<string, number>();
  let bytes = 0;
  for (const file of files) {
    counts.set(file.type, (counts.get(file.type) ?? 0) + file.count);
    bytes += file.sizeBytes;
  }
  const types = new Set([...expected.keys(), ...counts.keys()]);
  const wrong = [...types].filter((type) => (counts.get(type) ?? 0) !== (expected.get(type) ?? 0));
  if (wrong.length > 0) throw new Error(`${label} wrote the wrong line counts: ${wrong.map((t) => `${t} ${counts.get(t) ?? 0}/${expected.get(t) ?? 0}`).join(', ')}`);
  if (previousBytes !== 0 && bytes !== previousBytes) throw new Error(`${label} wrote ${bytes} bytes, the previous run ${previousBytes}`);
  return bytes;
}

/** Median of `values` (mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
