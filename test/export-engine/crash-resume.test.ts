/**
 * A worker process killed (SIGKILL) after its first checkpoint: its leases go
 * stale, another worker takes the items over from their checkpoints (counting
 * a restart), and the finished files hold every resource exactly once —
 * whatever the dead worker had staged past its checkpoint is left out.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExportEngineOptions } from '../../fhir-server/export/engine/options.ts';
import { loud } from '../support/hooks.ts';
import { caller, exactlyOnce, exportRequest, it, linesOf, startExportFixture, storeJson, waitForEnd, type ExportFixture } from './support/fixture.ts';

let fx: ExportFixture;
const childPath = fileURLToPath(new URL('./support/worker-child.ts', import.meta.url));

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    const subject = (i: number) => ({ reference: `Patient/p${i % 40}` });
    // Waves of writes with deletions between them, so tombstones are spread through the scan order.
    for (let wave = 0; wave < 16; wave++) {
      const ids = Array.from({ length: 100 }, (_, i) => wave * 100 + i);
      await fx.store.bulkUpsert(ids.map((i) => ({ resourceType: 'Observation', id: `obs-${i}`, status: 'final', code: { text: `value ${i}` }, subject: subject(i) })));
      for (const i of [ids[7]!, ids[61]!]) await fx.store.delete('Observation', `obs-${i}`);
    }
  }),
);
test.after(async () => {
  await fx?.stop();
});

const options: Partial<ExportEngineOptions> = {
  maximumNumberOfResourcesPerQuery: 20,
  numberOfPagesPerCommit: 3,
  blockSizeBytes: 3 * 1024,
  rollingFileSizeBytes: 20 * 1024,
  itemSplitThreshold: 500,
  jobHeartbeatTimeoutThresholdSeconds: 2,
};

/** Starts the worker process and resolves with it once it printed its first checkpoint line. */
function workerUntilFirstCheckpoint(jobsContainerId: string, extra: Partial<ExportEngineOptions> = {}) {
  const { standIns } = fx;
  const env = {
    ...process.env,
    EXPORT_CHILD: JSON.stringify({
      cosmosEndpoint: standIns.cosmos.endpoint,
      cosmosKey: standIns.cosmos.key,
      caFile: standIns.tls.caFile,
      databaseId: fx.databaseId,
      jobsContainerId,
      tenantId: standIns.entra.tenantId,
      authorityHost: standIns.entra.authorityHost,
      appId: fx.writer.appId,
      secret: fx.writer.secret,
      options: { ...options, ...extra, jobPollingFrequencySeconds: 0.2, storageAccountUri: standIns.blob.blobUrl },
      pageDelayMs: 40,
    }),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', childPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const checkpointed = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = /^checkpoint .*$/m.exec(out);
      if (line) resolve(line[0]);
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before a checkpoint: ${stderr.slice(-2000)}`)));
  });
  return { child, exited, checkpointed };
}

it('a worker killed after its first checkpoint is resumed by another worker with nothing lost or duplicated', async () => {
  const engine = await fx.engine(options, { startWorkers: false });
  const jobs = fx.jobsOf(engine);
  const { id } = await engine.start(exportRequest({ types: ['Observation'], since: '2000-01-01T00:00:00Z' }), caller);
  const worker = workerUntilFirstCheckpoint(jobs.container.id);
  const line = await worker.checkpointed;
  worker.child.kill('SIGKILL');
  assert.is(await worker.exited, 'SIGKILL');
  assert.match(line, new RegExp(`^checkpoint ${id} \\d+$`));

  const atDeath = (await jobs.read(id))!;
  assert.is(atDeath.status, 'running');
  const leased = atDeath.items.filter((item) => item.status === 'leased');
  assert.ok(leased.length > 0 && leased.every((item) => item.lease!.owner === `child-${worker.child.pid}`), 'the dead worker still holds leases');
  assert.ok(atDeath.items.some((item) => item.checkpoint.resources.through), 'a checkpoint was stored');
  assert.ok(atDeath.items.some((item) => item.status !== 'done'), 'the job was not finished when the worker died');

  engine.pool.start();
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  const done = (await jobs.read(id))!;
  assert.ok(done.restartCount >= 1, `restartCount ${done.restartCount}`);
  assert.ok(done.items.every((item) => item.status === 'done'));
  const names = view.output.map((f) => f.fileName);
  assert.is(new Set(names).size, names.length);
  assert.ok(names.length >= 4, `files: ${names.join(', ')}`);
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Observation'), await storeJson(fx.store, 'Observation'), 'after the crash');
  assert.equal(view.progress, { exported: 1568, total: 1568 });
  const deleted = (await linesOf(fx.blobs, 'exports', view, 'Bundle', 'deleted')).map((l) => JSON.parse(l).entry[0].request.url as string);
  const expectedDeleted = Array.from({ length: 16 }, (_, w) => [`Observation/obs-${w * 100 + 7}`, `Observation/obs-${w * 100 + 61}`]).flat();
  assert.equal(deleted.sort(), expectedDeleted.sort(), 'each deletion listed once');
});

it('past maxJobRestartCount a takeover fails the job, naming why', async () => {
  const engine = await fx.engine({ ...options, maxJobRestartCount: 0 }, { startWorkers: false });
  const { id } = await engine.start(exportRequest({ types: ['Observation'] }), caller);
  const worker = workerUntilFirstCheckpoint(fx.jobsOf(engine).container.id, { maxJobRestartCount: 0 });
  await worker.checkpointed;
  worker.child.kill('SIGKILL');
  await worker.exited;
  engine.pool.start();
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'failed');
  assert.equal({ code: view.failure?.code, httpStatus: view.failure?.httpStatus }, { code: 'exception', httpStatus: 500 });
  assert.match(view.failure!.message, /restarted 1 times \(limit 0\)/);
  assert.ok((await fx.jobsOf(engine).read(id))!.items.every((item) => !item.lease), 'no lease is left behind');
});

test.run();
