/**
 * Export throughput and memory: seeds synthetic patients into the Cosmos
 * stand-in (its own process), then measures (1) a bare scan of every type
 * through the store — the read ceiling — and (2) a system export of the same
 * data into Azurite with the engine's default settings and a real
 * ClientSecretCredential, sampling this process's heap and RSS. Checks that the
 * export wrote every resource once (by line counts); the last line is JSON.
 *
 * Run: node --expose-gc --import tsx bench/export.ts (without --expose-gc the heap peak includes garbage not yet collected)
 * Options (env): BENCH_PATIENTS (default 2000), BENCH_ROLLING_MB (64), BENCH_PAGE (1000), BENCH_WORKERS (4).
 */
import { ClientSecretCredential } from '@azure/identity';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { trustCa } from '../common/azure-tls.ts';
import { createCosmosClient } from '../common/cosmos.ts';
import { createLogger } from '../common/logging.ts';
import { startAzurite } from '../dev/azurite/server.ts';
import { ensureLocalTls } from '../dev/certs.ts';
import { startEntra } from '../dev/entra/index.ts';
import { openExportEngine } from '../fhir-server/export/engine/open.ts';
import { openStore } from '../fhir-server/seed/connection.ts';
import { seedSynthetic } from '../fhir-server/seed/seed-synthetic.ts';

const patients = Number(process.env.BENCH_PATIENTS ?? 2000);
const rollingMb = Number(process.env.BENCH_ROLLING_MB ?? 64);
const pageSize = Number(process.env.BENCH_PAGE ?? 1000);
const workers = Number(process.env.BENCH_WORKERS ?? 4);
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

const tls = await ensureLocalTls();
const [entra, azurite, opened] = await Promise.all([startEntra({ tls }), startAzurite({ tls }), openStore({})]);
try {
  const seeded = await seedSynthetic(opened.store, { patients, seed: 'bench-export' });
  process.stderr.write(`seeded ${seeded.resources} resources in ${seeded.ms} ms\n`);
  const types = await opened.store.listResourceTypes();

  // (1) The read ceiling: every type scanned through the store, nothing written.
  let scanned = 0;
  let scannedBytes = 0;
  const scanStart = performance.now();
  for (const resourceType of types) {
    let continuation;
    do {
      const page: Awaited<ReturnType<typeof opened.store.queryForExport>> = await opened.store.queryForExport({ resourceType, pageSize, ...(continuation ? { continuation } : {}) });
      scanned += page.resources.length;
      for (const json of page.resources) scannedBytes += Buffer.byteLength(json) + 1;
      continuation = page.continuation;
    } while (continuation);
  }
  const scanMs = performance.now() - scanStart;

  // (2) The export, with a real credential and the engine's defaults.
  const secret = randomBytes(18).toString('base64url');
  const { appId } = entra.registerApplication({ secrets: [secret] });
  const credential = new ClientSecretCredential(entra.tenantId, appId, secret, { authorityHost: entra.authorityHost, disableInstanceDiscovery: true, additionalPolicies: trustCa(tls.caPem) });
  const cosmos = createCosmosClient({ endpoint: opened.endpoint, key: opened.key, caPem: tls.caPem });
  const engine = await openExportEngine({
    cosmos,
    databaseId: 'fhir',
    jobsContainerId: `bench-jobs-${Date.now()}`,
    store: opened.store,
    credential,
    caPem: tls.caPem,
    logger: createLogger('bench-export', 'warn'),
    options: { storageAccountUri: azurite.blobUrl, rollingFileSizeInMb: rollingMb, maximumNumberOfResourcesPerQuery: pageSize, maximumNumberOfConcurrentJobsAllowed: workers, jobPollingFrequencySeconds: 0.2 },
  });
  // With --expose-gc each sample is taken after a collection: live memory, not garbage awaiting collection.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baseHeap = process.memoryUsage().heapUsed;
  let peakHeap = baseHeap;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    gc?.();
    const { heapUsed, rss } = process.memoryUsage();
    peakHeap = Math.max(peakHeap, heapUsed);
    peakRss = Math.max(peakRss, rss);
  }, gc ? 250 : 20);
  const caller = { principal: 'bench' };
  const exportStart = performance.now();
  engine.pool.start();
  const started = await engine.start(
    {
      level: 'system', types: [], typeFilters: [], elements: [], patients: [], includeAssociatedData: [], outputFormat: 'application/fhir+ndjson',
      handling: 'lenient', notes: [], destination: { kind: 'default', container: 'bench' }, requestUrl: 'https://fhir.example/$export',
    },
    caller,
  );
  let view = started;
  while (view.status === 'queued' || view.status === 'running') {
    await sleep(100);
    view = (await engine.get(started.id, caller))!;
  }
  const exportMs = performance.now() - exportStart;
  clearInterval(sampler);
  await engine.pool.stop(1000);
  cosmos.dispose();
  if (view.status !== 'completed') throw new Error(`export ${view.status}: ${JSON.stringify(view.failure)}`);
  const lines = view.output.reduce((sum, f) => sum + f.count, 0);
  const bytes = view.output.reduce((sum, f) => sum + f.sizeBytes, 0);
  if (lines !== scanned || bytes !== scannedBytes) throw new Error(`export wrote ${lines} lines / ${bytes} bytes, the store holds ${scanned} / ${scannedBytes}`);
  const result = {
    resources: scanned,
    mib: mib(bytes),
    types: types.length,
    files: view.output.length,
    scanPerSecond: Math.round(scanned / (scanMs / 1000)),
    exportPerSecond: Math.round(scanned / (exportMs / 1000)),
    exportMibPerSecond: mib(bytes / (exportMs / 1000)),
    exportMs: Math.round(exportMs),
    peakHeapAboveBaseMib: mib(peakHeap - baseHeap),
    heapMeasuredAfterGc: gc !== undefined,
    peakRssMib: mib(peakRss),
    tokenRequests: entra.stats().byAppId[appId.toLowerCase()]?.issued ?? 0,
    settings: { patients, rollingMb, pageSize, workers },
  };
  process.stdout.write(
    `${scanned} resources (${result.mib} MiB, ${types.length} types) → ${view.output.length} files\n` +
      `scan only: ${result.scanPerSecond}/s; export: ${result.exportPerSecond}/s (${result.exportMibPerSecond} MiB/s, ${result.exportMs} ms)\n` +
      `peak ${gc ? 'live ' : ''}heap above baseline: ${result.peakHeapAboveBaseMib} MiB; peak RSS ${result.peakRssMib} MiB; storage tokens issued: ${result.tokenRequests}\n` +
      `${JSON.stringify(result)}\n`,
  );
} finally {
  await opened.close();
  await azurite.stop();
  await entra.stop();
}
