/**
 * npm run bench:export -- --resources N — export throughput against a baseline
 * measured in the same run. Seeds at least N synthetic resources once into the
 * Cosmos stand-in (its own process), then alternates (baseline, export, export,
 * baseline, ...) over the same data into the same Azurite with the same kind of
 * credential (ClientSecretCredential from the Entra stand-in):
 *  - baseline: the store's export pages written as NDJSON blocks, one blob per
 *    type, no FHIR logic (bench/export-baseline.ts);
 *  - export: a system export through the engine with the documented defaults
 *    (the settings schema's, as `npm start` and a deployed fhir-server run them),
 *    followed as a client honouring Retry-After follows it.
 * Checks each run wrote every resource once (line counts and bytes per type
 * against the store's counts), samples RSS every 100 ms (and live heap after a
 * collection with --expose-gc). Then one export per resource type (jobs under
 * 30 s) for the median delay between a job's end and that client seeing the
 * manifest. The last line is one JSON object.
 *
 * Run: npm run bench:export -- --resources 200000
 */
import { ClientSecretCredential } from '@azure/identity';
import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { trustCa } from '../common/azure-tls.ts';
import { createBlobServiceClient } from '../common/blob.ts';
import { createCosmosClient } from '../common/cosmos.ts';
import { createLogger } from '../common/logging.ts';
import { startAzurite } from '../dev/azurite/server.ts';
import { ensureLocalTls } from '../dev/certs.ts';
import { startEntra } from '../dev/entra/index.ts';
import { openExportEngine } from '../fhir-server/export/engine/open.ts';
import { exportSettingDefaults } from '../fhir-server/config/schema.ts';
import { exportDefaults } from '../fhir-server/export/engine/options.ts';
import { openStore } from '../dev/seed/connection.ts';
import { seedSynthetic } from '../fhir-server/seed/seed-synthetic.ts';
import { writeBaseline } from './export-baseline.ts';
import { patientsFor } from './export-data.ts';
import { checkTotals, median, runExport } from './export-run.ts';
import { sampleMemory } from './export-memory.ts';
import { positiveInt } from './cli-args.ts';

const cli = new Command('bench:export')
  .option('--resources <n>', 'resources to seed (at least)', positiveInt, 200_000)
  .option('--rounds <n>', 'runs of each (baseline and export, alternated)', positiveInt, 2)
  .option('--page <n>', 'store page size', positiveInt, exportDefaults.maximumNumberOfResourcesPerQuery)
  .option('--workers <n>', 'work items (baseline: types) in flight', positiveInt, exportDefaults.maximumNumberOfConcurrentJobsAllowed)
  .parse();
const { resources: wanted, rounds, page: pageSize, workers } = cli.opts<{ resources: number; rounds: number; page: number; workers: number }>();
const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
const log = (line: string): boolean => process.stderr.write(`${line}\n`);

const tls = await ensureLocalTls();
const [entra, azurite, opened] = await Promise.all([startEntra({ tls }), startAzurite({ tls }), openStore({})]);
try {
  const sized = patientsFor(wanted, 'bench-export');
  const seeded = await seedSynthetic(opened.store, { patients: sized.patients, seed: 'bench-export' });
  const types = await opened.store.listResourceTypes();
  const expected = new Map<string, number>();
  for (const resourceType of types) expected.set(resourceType, await opened.store.count({ resourceType }));
  const total = [...expected.values()].reduce((a, b) => a + b, 0);
  if (total !== seeded.resources) throw new Error(`the store counts ${total} resources, ${seeded.resources} were seeded`);
  log(`seeded ${total} resources (${sized.patients} patients, ${types.length} types) in ${seeded.ms} ms`);

  const secret = randomBytes(18).toString('base64url');
  const { appId } = entra.registerApplication({ secrets: [secret] });
  const newCredential = () => new ClientSecretCredential(entra.tenantId, appId, secret, { authorityHost: entra.authorityHost, disableInstanceDiscovery: true, additionalPolicies: trustCa(tls.caPem) });
  const blobService = createBlobServiceClient({ url: azurite.blobUrl, credential: newCredential(), caPem: tls.caPem });
  const cosmos = createCosmosClient({ endpoint: opened.endpoint, key: opened.key, caPem: tls.caPem });
  const engine = await openExportEngine({
    cosmos,
    databaseId: 'fhir',
    jobsContainerId: `bench-jobs-${Date.now()}`,
    store: opened.store,
    credential: newCredential(),
    caPem: tls.caPem,
    logger: createLogger('bench-export', 'warn'),
    // What app.ts hands the engine of a server running the documented defaults (the settings schema's).
    options: {
      storageAccountUri: azurite.blobUrl,
      maximumNumberOfConcurrentJobsPerClient: exportSettingDefaults.maximumNumberOfConcurrentJobsPerClient,
      destinationTimeoutSeconds: exportSettingDefaults.destinationTimeoutSeconds,
      tokenWaitSeconds: exportSettingDefaults.tokenWaitSeconds,
      maximumNumberOfResourcesPerQuery: pageSize,
      maximumNumberOfConcurrentJobsAllowed: workers,
    },
  });
  engine.pool.start();

  const baselineRps: number[] = [];
  const exportRps: number[] = [];
  let peakRss = 0;
  let peakHeap = 0;
  let heapAfterGc = false;
  let bytes = 0;
  let files = 0;
  const runBaseline = async (run: number): Promise<void> => {
    const container = blobService.getContainerClient(`bench-baseline-${run}`);
    const memory = sampleMemory();
    const started = performance.now();
    const totals = await writeBaseline({ store: opened.store, types, pageSize, container, blockBytes: exportDefaults.blockSizeBytes, concurrency: workers });
    const seconds = (performance.now() - started) / 1000;
    const peaks = memory.stop();
    bytes = checkTotals('baseline', expected, [...totals].map(([type, t]) => ({ type, count: t.count, sizeBytes: t.bytes })), bytes);
    baselineRps.push(total / seconds);
    log(`baseline ${run}: ${Math.round(total / seconds)}/s (${seconds.toFixed(2)} s), peak RSS ${mib(peaks.rss)} MiB, heap +${mib(peaks.heapAboveBase)} MiB`);
    await container.deleteIfExists();
  };
  const delays: Array<{ what: string; seconds: number; seenAfter: number; polls: number }> = [];
  const runEngine = async (run: number): Promise<void> => {
    const container = `bench-export-${run}`;
    const memory = sampleMemory();
    const { seconds, view, seenAfterSeconds, polls } = await runExport(engine, container);
    delays.push({ what: `everything, run ${run}`, seconds, seenAfter: seenAfterSeconds, polls });
    const peaks = memory.stop();
    bytes = checkTotals('export', expected, view.output, bytes);
    files = view.output.length;
    exportRps.push(total / seconds);
    peakRss = Math.max(peakRss, peaks.rss);
    peakHeap = Math.max(peakHeap, peaks.heapAboveBase);
    heapAfterGc = peaks.heapAfterGc;
    log(`export ${run}: ${Math.round(total / seconds)}/s (${seconds.toFixed(2)} s, ${view.output.length} files), peak RSS ${mib(peaks.rss)} MiB, heap +${mib(peaks.heapAboveBase)} MiB`);
    await blobService.getContainerClient(container).deleteIfExists();
  };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      await runBaseline(round);
      await runEngine(round);
    } else {
      await runEngine(round);
      await runBaseline(round);
    }
  }
  // Shorter jobs, as most clients run them: one per resource type, for the delay between a job's end and a client
  // that honours Retry-After seeing it.
  for (const type of types) {
    const run = await runExport(engine, 'bench-pacing', [type]);
    delays.push({ what: type, seconds: run.seconds, seenAfter: run.seenAfterSeconds, polls: run.polls });
  }
  await blobService.getContainerClient('bench-pacing').deleteIfExists();
  await engine.pool.stop(1000);
  cosmos.dispose();
  const short = delays.filter((d) => d.seconds < 30);

  const exportMedian = median(exportRps);
  const baselineMedian = median(baselineRps);
  const summary = {
    bench: 'export',
    resources: total,
    export_rps: Math.round(exportMedian),
    baseline_rps: Math.round(baselineMedian),
    ratio: Math.round((exportMedian / baselineMedian) * 1000) / 1000,
    peak_rss_mb: mib(peakRss),
    manifest_delay_median_s: short.length > 0 ? Math.round(median(short.map((d) => d.seenAfter)) * 100) / 100 : null,
  };
  process.stdout.write(
    `${total} resources (${mib(bytes)} MiB, ${types.length} types; export: ${files} files), ${rounds} run(s) each, page ${pageSize}, ${workers} in flight\n` +
      `baseline (pages → blocks → one blob per type): median ${summary.baseline_rps}/s of [${baselineRps.map(Math.round).join(', ')}]\n` +
      `export (engine, system level): median ${summary.export_rps}/s of [${exportRps.map(Math.round).join(', ')}] — ratio ${summary.ratio}\n` +
      `a client honouring Retry-After saw jobs under 30 s a median ${summary.manifest_delay_median_s} s after their end: ${short.map((d) => `${d.what} ${d.seconds.toFixed(1)} s +${d.seenAfter.toFixed(1)} s (${d.polls} polls)`).join('; ')}\n` +
      `export peak RSS ${summary.peak_rss_mb} MiB; peak ${heapAfterGc ? 'live ' : ''}heap above start ${mib(peakHeap)} MiB; storage tokens issued: ${entra.stats().byAppId[appId.toLowerCase()]?.issued ?? 0}\n` +
      `${JSON.stringify(summary)}\n`,
  );
} finally {
  await opened.close();
  await azurite.stop();
  await entra.stop();
}
