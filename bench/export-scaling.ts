/**
 * npm run bench:export-scaling — does export throughput stay flat as the account
 * grows? One run, one Cosmos stand-in (its own process), one engine with the
 * default settings: seed a small data set (default 50,000 resources), time
 * system exports of it; grow the same store to a large one (default 1,000,000),
 * time exports of that. Each export is checked (every resource once, per type).
 * The ratio large/small is the figure (target ≥ 0.8); the peak RSS of this
 * process (the export worker) is reported too (target < 300 MB). Azurite, the
 * Cosmos stand-in and the seeding (`npm run seed`) run in processes of their
 * own, so this process holds only the engine (and the small Entra ID stand-in):
 * its RSS is the worker's.
 *
 * Run: node --expose-gc --import tsx bench/export-scaling.ts --small 50000 --large 1000000
 */
import { ClientSecretCredential } from '@azure/identity';
import { Command } from 'commander';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { trustCa } from '../common/azure-tls.ts';
import { createBlobServiceClient } from '../common/blob.ts';
import { createCosmosClient } from '../common/cosmos.ts';
import { createLogger } from '../common/logging.ts';
import { startAzurite } from '../dev/azurite/server.ts';
import { ensureLocalTls } from '../dev/certs.ts';
import { startEntra } from '../dev/entra/index.ts';
import { openExportEngine } from '../fhir-server/export/engine/open.ts';
import { openStore } from '../dev/seed/connection.ts';
import { entryArgs } from '../dev/node-entry.ts';
import { patientsFor } from './export-data.ts';
import { sampleMemory } from './export-memory.ts';
import { checkTotals, median, runExport } from './export-run.ts';
import { positiveInt } from './cli-args.ts';

const cli = new Command('bench:export-scaling')
  .option('--small <n>', 'resources in the small data set', positiveInt, 50_000)
  .option('--large <n>', 'resources in the large data set (the small one grown)', positiveInt, 1_000_000)
  .option('--rounds <n>', 'exports of each size', positiveInt, 2)
  .option('--item-size <n>', 'export.itemSplitThreshold (default: the engine default)', positiveInt)
  .parse();
const { small, large, rounds, itemSize } = cli.opts<{ small: number; large: number; rounds: number; itemSize?: number }>();
const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
const log = (line: string): boolean => process.stderr.write(`${line}\n`);

/** Seeds `patients` synthetic patients through `npm run seed` in a process of its own; resolves with its last report line. */
function seedInChild(patients: number, seed: string, store: { endpoint: string; key: string; caFile?: string }): Promise<string> {
  const args = [...entryArgs('../dev/seed/main', import.meta.url), '--patients', String(patients), '--seed', seed, '--endpoint', store.endpoint, '--key', store.key];
  if (store.caFile) args.push('--ca-file', store.caFile);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let last = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split(/[\r\n]+/)) if (/^seeded /.test(line)) last = line;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(last) : reject(new Error(`seeding exited with ${code}`))));
  });
}

const tls = await ensureLocalTls();
const [entra, azurite, opened] = await Promise.all([startEntra({ tls }), startAzurite({ tls }), openStore({})]);
try {
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
    logger: createLogger('bench-export-scaling', 'warn'),
    options: { storageAccountUri: azurite.blobUrl, jobPollingFrequencySeconds: 0.2, ...(itemSize ? { itemSplitThreshold: itemSize } : {}) },
  });
  engine.pool.start();
  log(`engine: page ${engine.options.maximumNumberOfResourcesPerQuery}, ${engine.options.maximumNumberOfConcurrentJobsAllowed} items in flight, items of ${engine.options.itemSplitThreshold} resources`);

  log(`export worker before the first export: RSS ${mib(process.memoryUsage().rss)} MiB`);
  let peakRss = 0;
  const measure = async (label: string): Promise<{ total: number; rps: number[] }> => {
    const types = await opened.store.listResourceTypes();
    const expected = new Map<string, number>();
    for (const resourceType of types) expected.set(resourceType, await opened.store.count({ resourceType }));
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    const rps: number[] = [];
    let bytes = 0;
    for (let round = 0; round < rounds; round++) {
      const container = `scaling-${label}-${round}`;
      const memory = sampleMemory();
      const { seconds, view } = await runExport(engine, container);
      const peaks = memory.stop();
      peakRss = Math.max(peakRss, peaks.rss);
      bytes = checkTotals(`${label} export`, expected, view.output, bytes);
      rps.push(total / seconds);
      log(`${label} (${total} resources) export ${round}: ${Math.round(total / seconds)}/s (${seconds.toFixed(1)} s, ${view.output.length} files), peak RSS ${mib(peaks.rss)} MiB`);
      await blobService.getContainerClient(container).deleteIfExists();
    }
    return { total, rps };
  };

  const smallSet = patientsFor(small, 'bench-scaling-a');
  log(await seedInChild(smallSet.patients, 'bench-scaling-a', opened));
  const smallRun = await measure('small');
  const more = patientsFor(Math.max(1, large - smallRun.total), 'bench-scaling-b');
  log(await seedInChild(more.patients, 'bench-scaling-b', opened));
  const largeRun = await measure('large');
  await engine.pool.stop(1000);
  cosmos.dispose();

  const summary = {
    bench: 'export-scaling',
    small_resources: smallRun.total,
    large_resources: largeRun.total,
    small_rps: Math.round(median(smallRun.rps)),
    large_rps: Math.round(median(largeRun.rps)),
    ratio: Math.round((median(largeRun.rps) / median(smallRun.rps)) * 1000) / 1000,
    peak_rss_mb: mib(peakRss),
    item_size: engine.options.itemSplitThreshold,
  };
  process.stdout.write(
    `export of ${summary.small_resources}: median ${summary.small_rps}/s; of ${summary.large_resources}: median ${summary.large_rps}/s — ratio ${summary.ratio} (target ≥ 0.8); ` +
      `peak RSS ${summary.peak_rss_mb} MiB (target < 300)\n${JSON.stringify(summary)}\n`,
  );
} finally {
  await opened.close();
  await azurite.stop();
  await entra.stop();
}
