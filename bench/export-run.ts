/**
 * The export side of the export bench (one system export through the engine,
 * timed from kick-off to completion) and the checks both sides share.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExportEngine } from '../fhir-server/export/engine/export-engine.ts';
import type { ExportJobView } from '../fhir-server/export/ports.ts';

/** Runs a system export of everything into `container` of the default account; throws unless it completes. */
export async function runExport(engine: ExportEngine, container: string): Promise<{ seconds: number; view: ExportJobView }> {
  const caller = { principal: 'bench' };
  const started = performance.now();
  const job = await engine.start(
    {
      level: 'system', types: [], typeFilters: [], elements: [], patients: [], includeAssociatedData: [], outputFormat: 'application/fhir+ndjson',
      handling: 'lenient', notes: [], destination: { kind: 'default', container }, requestUrl: 'https://fhir.example/$export',
    },
    caller,
  );
  let view = job;
  while (view.status === 'queued' || view.status === 'running') {
    await sleep(25);
    view = (await engine.get(job.id, caller))!;
  }
  const seconds = (performance.now() - started) / 1000;
  if (view.status !== 'completed') throw new Error(`export ${view.status}: ${JSON.stringify(view.failure)}`);
  return { seconds, view };
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
