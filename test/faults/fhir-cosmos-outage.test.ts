/**
 * The fhir-server's own Cosmos DB (account database: resources, export jobs)
 * out of reach for ~10 s in the middle of an export, through a proxy that
 * refuses connections (first test) or resets them (second): REST requests meanwhile get
 * 503 + Retry-After with an OperationOutcome (never 500), `/health` stays 200
 * (it checks no dependency), the job does not fail, and after the proxy
 * forwards again the export completes in the same process with every resource
 * exactly once, byte-equal to store reads.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { proxyFor, type CutMode, type FaultProxy } from '../../dev/fault-proxy.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { checkExactlyOnce, kickoff, pollToEnd, storeJson, type Manifest } from './support/export-checks.ts';
import { seedObservations, startExportMesh, type ExportMesh } from './support/export-mesh.ts';
import { startServerProcess, type ServerProcess } from './support/export-process.ts';
import { expectUnavailable } from './support/fhir-outage.ts';

const resources = 400;
const outageMs = 10_000;
let mesh: ExportMesh;
let cosmos: FaultProxy;
let server: ServerProcess;

test.before(loud('before', async () => {
  mesh = await startExportMesh('cosmos-outage', { FHIR_EXPORT_MAXIMUM_NUMBER_OF_RESOURCES_PER_QUERY: '20', FHIR_EXPORT_NUMBER_OF_PAGES_PER_COMMIT: '2' });
  await seedObservations(mesh.store, resources);
  cosmos = await proxyFor(mesh.env.FHIR_COSMOS_ENDPOINT!);
  // The default heartbeat threshold (60 s) is far longer than the outage: a lease left behind would show as a stall.
  server = await startServerProcess({ ...mesh.env, FHIR_COSMOS_ENDPOINT: cosmos.url('/') }, { pageDelayMs: 20, exportOptions: { blockSizeBytes: 4 * 1024, rollingFileSizeBytes: 24 * 1024 } });
}));
test.after(async () => {
  server?.child.kill('SIGKILL');
  await cosmos?.stop();
  await mesh?.stop();
});

async function exportThroughOutage(mode: CutMode): Promise<void> {
  const token = await mesh.bearer();
  const started = await kickoff(server.baseUrl, '/$export?_type=Observation', mesh.ca, token);
  assert.is(started.status, 202, started.body);
  const statusUrl = String(started.headers['content-location']);
  const jobId = statusUrl.split('/').pop()!;
  const from = server.lines.length;
  await server.waitFor(new RegExp(`^checkpoint ${jobId} `), { from, limitMs: 45_000 });
  server.send('hold');
  await server.waitFor(new RegExp(`^held ${jobId} `), { from, limitMs: 30_000 });

  await cosmos.cut(mode);
  const cutAt = Date.now();
  server.send('release'); // the worker meets the outage at its next store call
  const seen: string[] = [];
  try {
    // Together: with resets the SDK retries each request for ~10 s before giving up.
    const [read, poll, again, create] = await Promise.all([
      https(`${server.baseUrl}/Observation/obs-1`, { ca: mesh.ca, token }),
      https(statusUrl, { ca: mesh.ca, token }),
      kickoff(server.baseUrl, '/$export?_type=Patient', mesh.ca, token),
      https(`${server.baseUrl}/Patient`, { method: 'POST', ca: mesh.ca, token, body: { resourceType: 'Patient', active: true } }),
    ]);
    seen.push(`read: ${expectUnavailable(read, 'read')}`, `status: ${expectUnavailable(poll, 'status poll')}`);
    seen.push(`kick-off: ${expectUnavailable(again, 'kick-off')}`, `create: ${expectUnavailable(create, 'create')}`);
    const health = await https(`${server.baseUrl}/health`, { ca: mesh.ca });
    assert.is(health.status, 200, `health checks no dependency: ${health.body}`);
    await sleep(Math.max(0, outageMs - (Date.now() - cutAt)));
  } finally {
    await cosmos.restore();
  }
  const restoredAt = Date.now();
  const end = await pollToEnd(statusUrl, mesh.ca, token, { limitMs: 50_000 });
  assert.is(end.status, 200, end.body.slice(0, 400));
  const expected = await storeJson(mesh.store, 'Observation');
  assert.is(await checkExactlyOnce(JSON.parse(end.body) as Manifest, 'Observation', expected, mesh.ca, token), resources);
  const record = (await mesh.jobs.read(jobId))!;
  assert.is(record.status, 'completed');
  for (const line of seen) console.log(`  ${mode}: ${line}`);
  process.stdout.write(`MEASURED mode=${mode} outageMs=${restoredAt - cutAt} completedAfterRestoreMs=${Date.now() - restoredAt} restartCount=${record.restartCount} proxy=${JSON.stringify(cosmos.stats())}\n`);
}

test('Cosmos DB refusing connections for ~10 s mid-export: 503s meanwhile, then the export completes exactly once', () => exportThroughOutage('refuse'));
test('Cosmos DB resetting connections for ~10 s mid-export: 503s meanwhile, then the export completes exactly once', () => exportThroughOutage('reset'));

test.run();
