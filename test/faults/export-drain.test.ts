/**
 * SIGTERM during an export: the fhir-server process stops taking requests
 * (503 + Retry-After, /health not ready), its worker checkpoints and gives its
 * item back, and the process exits; another process resumes the job from that
 * checkpoint without a restart and completes it exactly once. A worker that
 * cannot stop within shutdownGraceSeconds does not hold the exit up: its lease
 * times out and the next process takes the item over.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { checkExactlyOnce, kickoff, pollToEnd, storeJson, type Manifest } from './support/export-checks.ts';
import { seedObservations, startExportMesh, type ExportMesh } from './support/export-mesh.ts';
import { startServerProcess, type ServerProcess, type ServerSeams } from './support/export-process.ts';

const resources = 600;
let mesh: ExportMesh;
const processes: ServerProcess[] = [];
const seams: ServerSeams = { pageDelayMs: 40, exportOptions: { jobHeartbeatTimeoutThresholdSeconds: 2, blockSizeBytes: 4 * 1024, rollingFileSizeBytes: 32 * 1024 } };

test.before(loud('before', async () => {
  mesh = await startExportMesh('drain', { FHIR_EXPORT_MAXIMUM_NUMBER_OF_RESOURCES_PER_QUERY: '20', FHIR_EXPORT_NUMBER_OF_PAGES_PER_COMMIT: '2' });
  await seedObservations(mesh.store, resources);
}));
test.after(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await mesh?.stop();
});

async function start(graceSeconds: number): Promise<ServerProcess> {
  const p = await startServerProcess({ ...mesh.env, FHIR_SHUTDOWN_GRACE_SECONDS: String(graceSeconds) }, seams);
  processes.push(p);
  return p;
}

/** Kicks off an Observation export at `p` and parks its item after a checkpoint. */
async function exportHeldAt(p: ServerProcess, token: string): Promise<{ statusUrl: string; jobId: string }> {
  const started = await kickoff(p.baseUrl, '/$export?_type=Observation', mesh.ca, token);
  assert.is(started.status, 202, started.body);
  const statusUrl = String(started.headers['content-location']);
  const jobId = statusUrl.split('/').pop()!;
  await p.waitFor(new RegExp(`^checkpoint ${jobId} `));
  const from = p.lines.length;
  p.send('hold');
  await p.waitFor(new RegExp(`^held ${jobId} `), { from });
  return { statusUrl, jobId };
}

function stoppedReport(p: ServerProcess): { workersStopped: boolean; ms: number } {
  const line = p.lines.find((l) => l.startsWith('stopped '));
  assert.ok(line, 'the process reported its stop');
  return JSON.parse(line!.slice('stopped '.length)) as { workersStopped: boolean; ms: number };
}

test('SIGTERM: 503 + Retry-After while draining, the worker checkpoints and exits, another process resumes without a restart', async () => {
  const token = await mesh.bearer();
  const first = await start(30);
  assert.is((await https(`${first.baseUrl}/health`, { ca: mesh.ca })).status, 200);
  const { statusUrl, jobId } = await exportHeldAt(first, token);
  const from = first.lines.length;
  const signalled = Date.now();
  first.child.kill('SIGTERM');
  await first.waitFor(/^draining$/, { from });
  // The worker is parked mid-item, so the process is still draining: everything new is turned away.
  const health = await https(`${first.baseUrl}/health`, { ca: mesh.ca });
  assert.is(health.status, 503);
  assert.equal(JSON.parse(health.body), { status: 'draining' });
  for (const [url, method] of [[statusUrl, 'GET'], [`${first.baseUrl}/metadata`, 'GET'], [`${first.baseUrl}/$export`, 'GET'], [`${first.baseUrl}/Patient/p1`, 'GET']] as const) {
    const res = await https(url, { ca: mesh.ca, token, method, headers: { prefer: 'respond-async' } });
    assert.is(res.status, 503, `${url}: ${res.status}`);
    assert.ok(Number(res.headers['retry-after']) > 0, 'Retry-After');
    assert.match(res.body, /transient/);
  }
  const released = Date.now();
  first.send('release');
  const exit = await first.exited;
  const exitedAt = Date.now();
  assert.equal(exit, { code: 0, signal: null });
  const report = stoppedReport(first);
  assert.is(report.workersStopped, true, 'the item was given back within the grace time');
  const record = (await mesh.jobs.read(jobId))!;
  assert.is(record.status, 'running');
  const item = record.items[0]!;
  assert.is(item.status, 'pending');
  assert.not.ok(item.lease, 'the lease was given back');
  assert.ok(item.checkpoint.resources.through, 'a checkpoint was stored');
  assert.is(record.restartCount, 0);

  const second = await start(30);
  const end = await pollToEnd(statusUrl, mesh.ca, token, { base: () => second.baseUrl });
  assert.is(end.status, 200, end.body.slice(0, 300));
  const expected = await storeJson(mesh.store, 'Observation');
  assert.is(await checkExactlyOnce(JSON.parse(end.body) as Manifest, 'Observation', expected, mesh.ca, token, second.baseUrl), resources);
  assert.is((await mesh.jobs.read(jobId))!.restartCount, 0, 'a drained item is resumed, not taken over');
  process.stdout.write(`MEASURED drain: SIGTERM->exit ${exitedAt - signalled} ms, release->exit ${exitedAt - released} ms, stop report ${report.ms} ms; resumed at ${item.checkpoint.resources.exported}/${resources}\n`);
  second.child.kill('SIGTERM');
  assert.is((await second.exited).code, 0);
});

test('a worker that cannot stop within shutdownGraceSeconds does not hold the exit; its item is taken over and completes once', async () => {
  const token = await mesh.bearer();
  const graceSeconds = 2;
  const first = await start(graceSeconds);
  const { statusUrl, jobId } = await exportHeldAt(first, token);
  const signalled = Date.now();
  first.child.kill('SIGTERM'); // the item stays parked: it never reaches a page boundary
  const exit = await first.exited;
  const exitedAt = Date.now();
  assert.equal(exit, { code: 0, signal: null });
  const report = stoppedReport(first);
  assert.is(report.workersStopped, false);
  assert.ok(report.ms >= graceSeconds * 1000, `the stop waited for the grace time (${report.ms} ms)`);
  const second = await start(graceSeconds);
  const end = await pollToEnd(statusUrl, mesh.ca, token, { base: () => second.baseUrl });
  assert.is(end.status, 200, end.body.slice(0, 300));
  const expected = await storeJson(mesh.store, 'Observation');
  assert.is(await checkExactlyOnce(JSON.parse(end.body) as Manifest, 'Observation', expected, mesh.ca, token, second.baseUrl), resources);
  assert.is((await mesh.jobs.read(jobId))!.restartCount, 1, 'the stale lease was taken over once');
  process.stdout.write(`MEASURED grace ${graceSeconds} s: SIGTERM->exit ${exitedAt - signalled} ms, stop report ${report.ms} ms\n`);
});

test.run();
