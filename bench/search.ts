/**
 * npm run bench:search -- --resources N — search latency against a baseline
 * measured in the same run. Seeds at least N synthetic resources (indexed at
 * write time) into the Cosmos stand-in (its own process), then runs a mix of
 * searches through the search service — token, date, reference, sorted,
 * `_include` and `_summary=count` — `--rounds` times each, interleaved, after one
 * untimed run. The baseline of a search is reading the same documents its page
 * returned (at least one) by Cosmos point reads, concurrently: what handing over
 * a page costs without finding it. One JSON line per search (p50 and p99 of
 * both, and the ratio of the p50s), one for the extraction cost on Synthea
 * (bench/search-index.ts), and a summary line last.
 *
 * Run: node --import tsx bench/search.ts --resources 200000
 */
import { Command } from 'commander';
import { join } from 'node:path';
import { repoRoot } from '../dev/certs.ts';
import type { FhirBundle } from '../fhir-server/fhir/types.ts';
import { SearchService } from '../fhir-server/search/search-service.ts';
import { cosmosSearchSource } from '../fhir-server/search/search-source.ts';
import { openStore } from '../dev/seed/connection.ts';
import { seedSynthetic } from '../fhir-server/seed/seed-synthetic.ts';
import { patientsFor } from './export-data.ts';
import { measureIndexCost } from './search-index.ts';
import { positiveInt } from './cli-args.ts';

const cli = new Command('bench:search')
  .option('--resources <n>', 'resources to seed (at least)', positiveInt, 200_000)
  .option('--rounds <n>', 'timed runs of each search', positiveInt, 15)
  .option('--page <n>', 'page size (_count)', positiveInt, 50)
  .parse();
const { resources: wanted, rounds, page } = cli.opts<{ resources: number; rounds: number; page: number }>();
const log = (line: string): boolean => process.stderr.write(`${line}\n`);
const ms = (value: number): number => Math.round(value * 10) / 10;

/** The value at quantile `q` (nearest rank) of `values`. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const cost = await measureIndexCost(join(repoRoot, '..', 'shared', 'data', 'synthea-r4'));
if (cost) {
  log(`extraction: ${cost.usPerResource} µs/resource (${cost.resources} Synthea resources), ${cost.usPerObservation} µs/Observation; full FHIRPath ${cost.usPerObservationFullFhirPath} µs/Observation`);
  process.stdout.write(`${JSON.stringify({ bench: 'search-index', resources: cost.resources, us_per_resource: cost.usPerResource, us_per_observation: cost.usPerObservation, us_per_observation_full_fhirpath: cost.usPerObservationFullFhirPath, index_to_resource_bytes: cost.indexToResourceBytes })}\n`);
}

const opened = await openStore({});
try {
  const sized = patientsFor(wanted, 'bench-search');
  const seeded = await seedSynthetic(opened.store, { patients: sized.patients, seed: 'bench-search' });
  log(`seeded ${seeded.resources} resources (${sized.patients} patients) in ${seeded.ms} ms`);
  const search = new SearchService(cosmosSearchSource(opened.store.container));
  const context = { baseUrl: 'https://bench.test/fhir', strict: true };
  const run = (type: string, query: string): Promise<FhirBundle> => search.search(type, [...new URLSearchParams(query)], context);

  const patients = ((await run('Patient', '_count=1000')).entry ?? []).map((e) => e.resource!.id!);
  let pick = 0;
  const patient = (): string => patients[(pick = (pick * 7919 + 17) % patients.length)]!;
  const searches: { name: string; kind: string; type: string; query: () => string }[] = [
    { name: 'Observation?code (token)', kind: 'token', type: 'Observation', query: () => `code=http://loinc.org|8867-4&_count=${page}` },
    { name: 'Condition?clinical-status (token)', kind: 'token', type: 'Condition', query: () => `clinical-status=active&_count=${page}` },
    { name: 'Patient?gender&birthdate (token, date)', kind: 'token', type: 'Patient', query: () => `gender=female&birthdate=ge1980&_count=${page}` },
    { name: 'Encounter?date (date range)', kind: 'date', type: 'Encounter', query: () => `date=ge2024-01-01&date=lt2024-02-01&_count=${page}` },
    { name: 'Observation?date (one day)', kind: 'date', type: 'Observation', query: () => `date=2023-06-15&_count=${page}` },
    { name: 'Observation?subject (reference)', kind: 'reference', type: 'Observation', query: () => `subject=Patient/${patient()}&_count=${page}` },
    { name: 'Encounter?patient (reference, bare id)', kind: 'reference', type: 'Encounter', query: () => `patient=${patient()}&_count=${page}` },
    { name: 'Observation?subject&_sort=-date', kind: 'sort', type: 'Observation', query: () => `subject=Patient/${patient()}&_sort=-date&_count=${page}` },
    { name: 'Encounter?subject&_include', kind: 'include', type: 'Encounter', query: () => `subject=Patient/${patient()}&_include=Encounter:subject&_count=${page}` },
    { name: 'Patient?_summary=count', kind: 'count', type: 'Patient', query: () => '_summary=count' },
    { name: 'Observation?code&_summary=count', kind: 'count', type: 'Observation', query: () => 'code=http://loinc.org|8867-4&_summary=count' },
    { name: 'Group (list)', kind: 'token', type: 'Group', query: () => `_count=${page}` },
  ];

  const times = searches.map(() => ({ search: [] as number[], baseline: [] as number[], results: [] as number[] }));
  for (let round = 0; round <= rounds; round++) {
    for (let i = 0; i < searches.length; i++) {
      // Interleaved, and in a rotating order, so drift in the stand-in does not favour one search.
      const index = (i + round) % searches.length;
      const s = searches[index]!;
      const query = s.query();
      let started = performance.now();
      const bundle = await run(s.type, query);
      const searchMs = performance.now() - started;
      const page = (bundle.entry ?? []).filter((e) => (e.search as { mode?: string } | undefined)?.mode !== 'outcome').map((e) => e.resource!);
      const targets = page.length > 0 ? page : [{ resourceType: 'Patient', id: patients[0]! }];
      started = performance.now();
      const read = await Promise.all(targets.map((r) => opened.store.read(r.resourceType, r.id!)));
      const baselineMs = performance.now() - started;
      if (read.some((r) => !r)) throw new Error(`${s.name}: a result could not be read back`);
      if (round === 0) continue; // untimed warm-up
      times[index]!.search.push(searchMs);
      times[index]!.baseline.push(baselineMs);
      times[index]!.results.push(s.kind === 'count' ? Number(bundle.total ?? 0) : page.length);
    }
    if (round > 0) log(`round ${round}/${rounds} done`);
  }

  const lines = searches.map((s, i) => {
    const t = times[i]!;
    const p50 = quantile(t.search, 0.5);
    const base50 = quantile(t.baseline, 0.5);
    return {
      bench: 'search',
      search: s.name,
      kind: s.kind,
      results_p50: quantile(t.results, 0.5),
      p50_ms: ms(p50),
      p99_ms: ms(quantile(t.search, 0.99)),
      baseline_p50_ms: ms(base50),
      baseline_p99_ms: ms(quantile(t.baseline, 0.99)),
      ratio_p50: Math.round((p50 / base50) * 100) / 100,
    };
  });
  for (const line of lines) process.stdout.write(`${JSON.stringify(line)}\n`);
  const summary = {
    bench: 'search-summary',
    resources: seeded.resources,
    page,
    rounds,
    median_ratio_p50: quantile(lines.map((l) => l.ratio_p50), 0.5),
    worst_p99_ms: Math.max(...lines.map((l) => l.p99_ms)),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  await opened.close();
}
