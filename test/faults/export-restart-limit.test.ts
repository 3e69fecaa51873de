/**
 * Past `maxJobRestartCount` a killed worker's job is not taken over again: the
 * takeover that would exceed the limit fails the job, the status answer is an
 * OperationOutcome naming why (no secrets), no lease is left and no file is listed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { kickoff, pollToEnd } from './support/export-checks.ts';
import { seedObservations, startExportMesh, type ExportMesh } from './support/export-mesh.ts';
import { startServerProcess, type ServerProcess, type ServerSeams } from './support/export-process.ts';

const limit = 2;
let mesh: ExportMesh;
const processes: ServerProcess[] = [];
const seams: ServerSeams = { pageDelayMs: 50, exportOptions: { jobHeartbeatTimeoutThresholdSeconds: 2 } };

test.before(loud('before', async () => {
  mesh = await startExportMesh('restart-limit', {
    FHIR_EXPORT_MAXIMUM_NUMBER_OF_RESOURCES_PER_QUERY: '20',
    FHIR_EXPORT_NUMBER_OF_PAGES_PER_COMMIT: '2',
    FHIR_EXPORT_MAX_JOB_RESTART_COUNT: String(limit),
  });
  await seedObservations(mesh.store, 1000);
}));
test.after(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await mesh?.stop();
});

async function start(): Promise<ServerProcess> {
  const p = await startServerProcess(mesh.env, seams);
  processes.push(p);
  return p;
}

test(`a job whose worker process is killed ${limit + 1} times with maxJobRestartCount ${limit} fails, naming why`, async () => {
  const token = await mesh.bearer();
  let current = await start();
  const started = await kickoff(current.baseUrl, '/$export?_type=Observation', mesh.ca, token);
  assert.is(started.status, 202, started.body);
  const statusUrl = String(started.headers['content-location']);
  const jobId = statusUrl.split('/').pop()!;
  for (let kill = 1; kill <= limit + 1; kill++) {
    await current.waitFor(new RegExp(`^checkpoint ${jobId} `), { limitMs: 45_000 });
    current.child.kill('SIGKILL');
    await current.exited;
    current = await start();
  }
  const end = await pollToEnd(statusUrl, mesh.ca, token, { limitMs: 30_000, base: () => current.baseUrl });
  assert.is(end.status, 500, end.body.slice(0, 400));
  const outcome = JSON.parse(end.body) as { resourceType: string; issue: { severity: string; code: string; diagnostics: string }[] };
  assert.is(outcome.resourceType, 'OperationOutcome');
  assert.is(outcome.issue[0]!.code, 'exception');
  assert.match(outcome.issue[0]!.diagnostics, new RegExp(`restarted ${limit + 1} times \\(limit ${limit}\\)`));
  assert.not.match(end.body, /eyJ|sig=|output/);
  assert.not.ok(end.body.includes(mesh.account.refreshToken));
  const record = (await mesh.jobs.read(jobId))!;
  assert.is(record.status, 'failed');
  assert.is(record.restartCount, limit + 1);
  assert.ok(record.items.every((item) => !item.lease), 'no lease is left behind');
  // The committed files of the failed job are not served.
  const file = await https(`${current.baseUrl}/_export/${jobId}/files/Observation-1.ndjson`, { ca: mesh.ca, token });
  assert.is(file.status, 404);
});

test.run();
