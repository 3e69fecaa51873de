/**
 * Two instances share one export: each leases items of the same job from the
 * shared job store and runs at most `maximumNumberOfConcurrentJobsAllowed` at
 * once, and together they write every resource exactly once.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExportEngine } from '../../fhir-server/export/engine/export-engine.ts';
import { loud } from '../support/hooks.ts';
import { caller, exactlyOnce, exportRequest, it, linesOf, startExportFixture, storeJson, waitForEnd, type ExportFixture } from './support/fixture.ts';

let fx: ExportFixture;

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    const subject = (i: number) => ({ reference: `Patient/p${i % 30}` });
    await fx.store.bulkUpsert(Array.from({ length: 800 }, (_, i) => ({ resourceType: 'Observation', id: `o-${i}`, status: 'final', code: { text: `n${i}` }, subject: subject(i) })));
    await fx.store.bulkUpsert(Array.from({ length: 400 }, (_, i) => ({ resourceType: 'Encounter', id: `e-${i}`, status: 'finished', subject: subject(i) })));
  }),
);
test.after(async () => {
  await fx?.stop();
});

it('two instances run the items of one export in parallel, each within its limit, and write each resource once', async () => {
  const seen = [{ pages: 0, maxActive: 0 }, { pages: 0, maxActive: 0 }];
  const engines: ExportEngine[] = [];
  const options = { maximumNumberOfConcurrentJobsAllowed: 2, itemSplitThreshold: 100, maximumNumberOfResourcesPerQuery: 20 };
  const hooksFor = (n: number) => ({
    afterPage: async () => {
      seen[n]!.pages += 1;
      seen[n]!.maxActive = Math.max(seen[n]!.maxActive, engines[n]!.pool.active);
      await sleep(20);
    },
  });
  engines.push(await fx.engine(options, { hooks: hooksFor(0), startWorkers: false }));
  engines.push(await fx.engine(options, { hooks: hooksFor(1), startWorkers: false, jobsContainerId: fx.jobsOf(engines[0]!).container.id }));
  const { id } = await engines[0]!.start(exportRequest({ types: ['Observation', 'Encounter'] }), caller);
  engines[0]!.pool.start();
  engines[1]!.pool.start();
  const view = await waitForEnd(engines[1]!, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  const record = (await fx.jobsOf(engines[0]!).read(id))!;
  const expectedItems = Math.ceil((await fx.store.count({ resourceType: 'Observation' })) / 100) + Math.ceil((await fx.store.count({ resourceType: 'Encounter' })) / 100);
  assert.is(record.items.length, expectedItems, 'one item per bucket range of about itemSplitThreshold resources');
  assert.ok(seen[0]!.pages > 0 && seen[1]!.pages > 0, `pages per instance: ${seen.map((s) => s.pages).join(', ')}`);
  assert.ok(seen.every((s) => s.maxActive <= 2), `most items at once: ${seen.map((s) => s.maxActive).join(', ')}`);
  assert.is(record.restartCount, 0);
  for (const type of ['Observation', 'Encounter']) exactlyOnce(await linesOf(fx.blobs, 'exports', view, type), await storeJson(fx.store, type), type);
});

test.run();
