/**
 * A job's life as the front doors see it: visible only to its owner, cancel
 * stops its workers and hides it, the account's limit of queued + running jobs
 * refuses more (and one client's limit keeps room for others), a destination
 * that keeps failing fails the job past its limit, committed files stream back (and get read SAS URLs), and a
 * stopping instance hands its items to another without restarting them.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { get } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { RestError } from '@azure/core-rest-pipeline';
import { createLogger } from '../../common/logging.ts';
import { openCosmosJobStore } from '../../fhir-server/export/engine/cosmos-job-store.ts';
import type { DestinationResolver } from '../../fhir-server/export/engine/destinations.ts';
import { ExportEngine } from '../../fhir-server/export/engine/export-engine.ts';
import { calling } from '../../fhir-server/export/engine/failures.ts';
import { ExportError } from '../../fhir-server/export/ports.ts';
import { loud } from '../support/hooks.ts';
import { caller, exactlyOnce, exportRequest, fastOptions, it, linesOf, readBlob, startExportFixture, storeJson, waitForEnd, type ExportFixture } from './support/fixture.ts';

let fx: ExportFixture;
const other = { principal: 'client-b' };

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    await fx.store.bulkUpsert(Array.from({ length: 400 }, (_, i) => ({ resourceType: 'Observation', id: `o-${i}`, status: 'final', code: { text: `n${i}` } })));
    await fx.store.bulkUpsert(Array.from({ length: 20 }, (_, i) => ({ resourceType: 'Patient', id: `p-${i}`, gender: i % 2 ? 'male' : 'female' })));
  }),
);
test.after(async () => {
  await fx?.stop();
});

const slow = (ms: number) => ({ hooks: { afterPage: () => sleep(ms) } });

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca: fx.standIns.tls.caPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

async function until(what: string, check: () => Promise<boolean> | boolean, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(50);
  }
}

it('a job is visible to its owner only; its files stream back and get a read SAS URL', async () => {
  const engine = await fx.engine({ fileSasMinutes: 5 });
  const { id } = await engine.start(exportRequest({ types: ['Patient'] }), caller);
  assert.is(await engine.get(id, other), undefined);
  assert.is(await engine.cancel(id, other), undefined);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  const stored = await readBlob(fx.blobs, 'exports', `${id}/Patient-1.ndjson`);
  const opened = await engine.openFile(id, 'Patient-1.ndjson', caller);
  assert.ok(opened);
  assert.is(opened.sizeBytes, Buffer.byteLength(stored));
  assert.is(await text(opened.stream), stored);
  assert.is(await engine.openFile(id, 'Patient-1.ndjson', other), undefined);
  assert.is(await engine.openFile(id, 'Observation-1.ndjson', caller), undefined);
  const url = await engine.fileSasUrl(id, 'Patient-1.ndjson', caller);
  assert.ok(url && /[?&]sig=/.test(url));
  const fetched = await fetchText(url);
  assert.is(fetched.status, 200);
  assert.is(fetched.body, stored);
  assert.is(await engine.get('not-a-job', caller), undefined);
});

it('cancel stops the workers of the job promptly; afterwards the job is gone for its owner', async () => {
  const engine = await fx.engine({ maximumNumberOfResourcesPerQuery: 10 }, slow(100));
  const { id } = await engine.start(exportRequest({ types: ['Observation'] }), caller);
  await until('progress', async () => ((await engine.get(id, caller))?.progress.exported ?? 0) > 0 || engine.pool.active > 0);
  const cancelled = await engine.cancel(id, caller);
  assert.is(cancelled?.status, 'cancelled');
  assert.is(await engine.get(id, caller), undefined);
  assert.is(await engine.cancel(id, caller), undefined);
  await until('the workers to stop', () => engine.pool.active === 0);
  const record = await fx.jobsOf(engine).read(id);
  assert.is(record!.status, 'cancelled');
  assert.ok(record!.items.every((item) => !item.lease));
  assert.ok(record!.items.some((item) => item.status !== 'done'), 'the job was cancelled before it finished');
});

it('the account refuses more than maximumNumberOfConcurrentJobsAllowed queued or running jobs', async () => {
  const engine = await fx.engine({ maximumNumberOfConcurrentJobsAllowed: 2 }, { startWorkers: false });
  const first = await engine.start(exportRequest(), caller);
  await engine.start(exportRequest(), other);
  try {
    await engine.start(exportRequest(), caller);
    assert.unreachable('a third job was accepted');
  } catch (error) {
    assert.instance(error, ExportError);
    assert.is((error as ExportError).kind, 'too-many-jobs');
    assert.ok(((error as ExportError).retryAfterSeconds ?? 0) > 0);
  }
  await engine.cancel(first.id, caller);
  const third = await engine.start(exportRequest(), caller);
  assert.is(third.status, 'queued');
});

it('one client holds at most maximumNumberOfConcurrentJobsPerClient slots: the account keeps room for others', async () => {
  const engine = await fx.engine({ maximumNumberOfConcurrentJobsAllowed: 3, maximumNumberOfConcurrentJobsPerClient: 2 }, { startWorkers: false });
  const first = await engine.start(exportRequest(), caller);
  await engine.start(exportRequest(), caller);
  const refused = await engine.start(exportRequest(), caller).then(() => undefined, (error: unknown) => error);
  assert.instance(refused, ExportError);
  assert.is((refused as ExportError).kind, 'too-many-jobs');
  assert.match((refused as ExportError).message, /this client has 2 export jobs queued or running; the per-client limit is 2/);
  assert.is((await engine.start(exportRequest(), other)).status, 'queued', 'another client still gets the last slot');
  const full = await engine.start(exportRequest(), { principal: 'client-c' }).then(() => undefined, (error: unknown) => error);
  assert.match((full as ExportError).message, /3 export jobs are queued or running; the limit is 3/);
  await engine.cancel(first.id, caller);
  assert.is((await engine.start(exportRequest(), caller)).status, 'queued', "a slot freed by the client's own job is its again");
});

it('a destination that fails every request (answering, not hanging) fails the job once destinationTimeoutSeconds have passed since its first failure, across retries', async () => {
  // A port adapter standing in for Blob Storage answering 503 to every request, fast.
  let calls = 0;
  const busy: DestinationResolver = {
    open: () => calling('Blob Storage', async () => {
      calls += 1;
      throw new RestError('The server is busy', { statusCode: 503, code: 'ServerBusy' });
    }),
    release: async () => undefined,
  };
  const jobs = await openCosmosJobStore(fx.cosmos, { databaseId: fx.databaseId, containerId: 'jobs-busy-destination' });
  const engine = new ExportEngine({ jobs, store: fx.store, destinations: busy, options: { ...fastOptions, destinationTimeoutSeconds: 2, maxJobRestartCount: 1000 }, logger: createLogger('export-test', 'silent') });
  engine.pool.start();
  try {
    const { id } = await engine.start(exportRequest({ types: ['Patient'] }), caller);
    const waits: string[] = [];
    let view = await engine.get(id, caller);
    for (const deadline = Date.now() + 20_000; view?.status === 'running' || view?.status === 'queued'; view = await engine.get(id, caller)) {
      if (view.waiting) waits.push(view.waiting.cause);
      if (Date.now() > deadline) throw new Error('the job did not end');
      await sleep(100);
    }
    assert.is(view!.status, 'failed');
    assert.equal([view!.failure!.code, view!.failure!.httpStatus], ['timeout', 504]);
    assert.match(view!.failure!.message, /^Blob Storage has completed no request of this export for \d+ s \(limit export.destinationTimeoutSeconds: 2 s\); last: 503 ServerBusy$/);
    assert.ok(calls >= 2, `retried before failing (${calls} calls)`);
    assert.ok(waits.some((cause) => cause === 'Blob Storage (retrying: 503 ServerBusy)'), waits.join(' | '));
  } finally {
    await engine.pool.stop(2_000);
  }
});

it('an instance that stops checkpoints and gives its items back; another instance finishes them without a restart', async () => {
  const first = await fx.engine({ maximumNumberOfResourcesPerQuery: 10, rollingFileSizeBytes: 8 * 1024, blockSizeBytes: 2 * 1024, itemSplitThreshold: 100 }, slow(30));
  const { id } = await first.start(exportRequest({ types: ['Observation'] }), caller);
  await until('some progress', async () => ((await first.get(id, caller))?.progress.exported ?? 0) >= 40);
  await first.pool.stop(10_000);
  const handed = (await fx.jobsOf(first).read(id))!;
  assert.is(handed.status, 'running');
  assert.ok(handed.items.every((item) => item.status !== 'leased'), 'no item is still leased');
  assert.ok(handed.items.some((item) => item.status === 'pending' && item.checkpoint.resources.through), 'a pending item kept its checkpoint');
  const second = await fx.engine({ itemSplitThreshold: 100 }, { jobsContainerId: (fx.jobsOf(first).container.id) });
  const view = await waitForEnd(second, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Observation'), await storeJson(fx.store, 'Observation'), 'Observation');
  assert.is((await fx.jobsOf(second).read(id))!.restartCount, 0);
});

test.run();
