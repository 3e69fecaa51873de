/**
 * fhir-server processes SIGKILLed again and again during one export, a new one
 * started after each kill: every takeover resumes from the last checkpoint, the
 * export completes, each resource is in it exactly once and byte-equal to a
 * store read, and every kill counted as one restart.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loud } from '../support/hooks.ts';
import { checkExactlyOnce, kickoff, pollToEnd, storeJson, type Manifest } from './support/export-checks.ts';
import { seedObservations, startExportMesh, type ExportMesh } from './support/export-mesh.ts';
import { startServerProcess, type ServerProcess, type ServerSeams } from './support/export-process.ts';

const kills = 4;
const resources = 1200;
let mesh: ExportMesh;
const processes: ServerProcess[] = [];

const env = {
  FHIR_EXPORT_MAXIMUM_NUMBER_OF_RESOURCES_PER_QUERY: '20',
  FHIR_EXPORT_NUMBER_OF_PAGES_PER_COMMIT: '2',
  FHIR_EXPORT_MAX_JOB_RESTART_COUNT: String(kills + 2),
};
// Small blocks and files, so kills land between staged blocks and between rolled files; a dead
// worker's lease is taken over after 2 s (the configuration allows 5 s at least).
const seams: ServerSeams = { pageDelayMs: 50, exportOptions: { blockSizeBytes: 4 * 1024, rollingFileSizeBytes: 24 * 1024, jobHeartbeatTimeoutThresholdSeconds: 2 } };

test.before(loud('before', async () => {
  mesh = await startExportMesh('kills', env);
  await seedObservations(mesh.store, resources);
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

test(`an export survives ${kills} SIGKILLs of its worker process and lists every resource exactly once`, async () => {
  const token = await mesh.bearer();
  let current = await start();
  const started = await kickoff(current.baseUrl, '/$export?_type=Observation', mesh.ca, token);
  assert.is(started.status, 202, started.body);
  const statusUrl = String(started.headers['content-location']);
  const jobId = statusUrl.split('/').pop()!;
  const checkpointsAtKill: number[] = [];
  for (let kill = 1; kill <= kills; kill++) {
    // Kill after 1, 2 or 3 checkpoints of this process: different points in the stream.
    const wanted = 1 + (kill % 3);
    for (let n = 0, from = 0; n < wanted; n++) {
      const line = await current.waitFor(new RegExp(`^checkpoint ${jobId} `), { from, limitMs: 45_000 });
      from = current.lines.indexOf(line, from) + 1;
    }
    current.child.kill('SIGKILL');
    assert.is((await current.exited).signal, 'SIGKILL');
    const record = (await mesh.jobs.read(jobId))!;
    assert.is(record.status, 'running', `still running at kill ${kill}`);
    checkpointsAtKill.push(record.items[0]!.checkpoint.resources.exported);
    current = await start();
  }
  const end = await pollToEnd(statusUrl, mesh.ca, token, { limitMs: 60_000, base: () => current.baseUrl });
  assert.is(end.status, 200, end.body.slice(0, 400));
  const manifest = JSON.parse(end.body) as Manifest;
  assert.ok(manifest.output.length >= 3, `several files: ${manifest.output.length}`);
  const expected = await storeJson(mesh.store, 'Observation');
  assert.is(expected.size, resources);
  assert.is(await checkExactlyOnce(manifest, 'Observation', expected, mesh.ca, token, current.baseUrl), resources);
  const record = (await mesh.jobs.read(jobId))!;
  assert.is(record.restartCount, kills, 'each kill is one takeover');
  assert.ok(checkpointsAtKill.every((n, i) => i === 0 || n >= checkpointsAtKill[i - 1]!), `durable progress never went back: ${checkpointsAtKill.join(', ')}`);
  process.stdout.write(`MEASURED kills=${kills} resources=${resources} files=${manifest.output.length} durableAtKills=${checkpointsAtKill.join('/')}\n`);
});

test.run();
