/**
 * Time windows: an export holds the state of the store at its transactionTime
 * (or at `_until`, inclusive, when earlier); `_since` keeps the versions written
 * after it (exclusive, as the IG says: "later than"), and with `_since`
 * deletions in the window are listed as Bundle lines in `deleted`.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { setTimeout as sleep } from 'node:timers/promises';
import { loud } from '../support/hooks.ts';
import { caller, exactlyOnce, exportRequest, it, linesOf, startExportFixture, storeJson, waitForEnd, type ExportFixture } from './support/fixture.ts';

let fx: ExportFixture;
let lastOfFirstWave = '';
let secondWaveStart = '';

const observation = (id: string, wave: number) => ({ resourceType: 'Observation', id, status: 'final', code: { text: `wave ${wave}` }, subject: { reference: 'Patient/w1' } });

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    await fx.store.bulkUpsert(Array.from({ length: 120 }, (_, i) => observation(`first-${i}`, 1)));
    const first = await storeJson(fx.store, 'Observation');
    lastOfFirstWave = [...first.values()].map((json) => JSON.parse(json).meta.lastUpdated as string).sort().at(-1)!;
    await sleep(20);
    secondWaveStart = new Date().toISOString();
    await sleep(5);
    await fx.store.bulkUpsert(Array.from({ length: 80 }, (_, i) => observation(`second-${i}`, 2)));
    await sleep(5);
    for (const id of ['first-3', 'second-7']) await fx.store.delete('Observation', id);
  }),
);
test.after(async () => {
  await fx?.stop();
});

const secondWave = async () => new Map([...(await storeJson(fx.store, 'Observation')).entries()].filter(([id]) => id.startsWith('second-')));

it('_since exports what changed after it, and lists deletions in the window as DELETE Bundles', async () => {
  const engine = await fx.engine();
  const { id } = await engine.start(exportRequest({ types: ['Observation'], since: secondWaveStart }), caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Observation'), await secondWave(), '_since');
  assert.equal(view.deleted.map((f) => [f.type, f.fileName]), [['Bundle', 'Observation-deleted-1.ndjson']]);
  const deleted = (await linesOf(fx.blobs, 'exports', view, 'Bundle', 'deleted')).map((line) => JSON.parse(line));
  assert.equal(deleted.map((bundle) => bundle.entry[0].request.url).sort(), ['Observation/first-3', 'Observation/second-7']);
  for (const bundle of deleted) {
    assert.is(bundle.resourceType, 'Bundle');
    assert.is(bundle.type, 'transaction');
    assert.is(bundle.entry[0].request.method, 'DELETE');
  }
});

it('_until (inclusive) exports the state at that instant, resources deleted since included, and no deletions without _since', async () => {
  const engine = await fx.engine();
  const { id } = await engine.start(exportRequest({ types: ['Observation'], until: lastOfFirstWave }), caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  const firstWave = await storeJson(fx.store, 'Observation', { asOfMs: Date.parse(lastOfFirstWave) });
  assert.is(firstWave.size, 120, 'first-3 was alive at _until, though deleted now');
  assert.ok([...firstWave.keys()].every((id) => id.startsWith('first-')));
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Observation'), firstWave, '_until');
  assert.equal(view.deleted, []);
});

it('resources created after the transactionTime are not exported, even when the workers start later', async () => {
  const engine = await fx.engine({}, { startWorkers: false });
  const { id, transactionTime } = await engine.start(exportRequest({ types: ['Observation', 'Patient'] }), caller);
  const before = await storeJson(fx.store, 'Observation');
  await sleep(5);
  await fx.store.bulkUpsert(Array.from({ length: 30 }, (_, i) => observation(`late-${i}`, 3)));
  await fx.store.create({ resourceType: 'Patient', id: 'late-patient' });
  assert.ok(Date.parse(transactionTime) < Date.now());
  engine.pool.start();
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Observation'), before, 'transactionTime');
  assert.equal(view.output.filter((f) => f.type === 'Patient'), []);
  assert.is((await storeJson(fx.store, 'Observation')).size, before.size + 30);
});

test.run();
