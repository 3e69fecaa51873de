/**
 * Exports over versions: `includeAssociatedData=_history` writes every earlier
 * version (as of the job's instant) in files of its own, `_deleted` the last
 * version of each resource deleted by then, both named in the manifest beside
 * the resources as of the instant; a retention pass purges replaced versions
 * but never those a queued export needs, and `_history` over purged versions is
 * refused under strict handling and noted under lenient.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExportError } from '../../fhir-server/export/ports.ts';
import { loud } from '../support/hooks.ts';
import { caller, exportRequest, it, linesOf, readBlob, startExportFixture, waitForEnd, type ExportFixture } from './support/fixture.ts';

let fx: ExportFixture;
const patient = (id: string, gender: string) => ({ resourceType: 'Patient', id, gender });

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    for (let i = 0; i < 12; i++) await fx.store.create(patient(`v${i}`, 'female'));
    for (let i = 0; i < 12; i += 2) await fx.store.update(patient(`v${i}`, 'male')); // version 2 of the even ones
    for (let i = 0; i < 12; i += 4) await fx.store.update(patient(`v${i}`, 'other')); // version 3 of every fourth
    for (const id of ['v1', 'v4']) await fx.store.delete('Patient', id);
  }),
);
test.after(async () => {
  await fx?.stop();
});

const versionsOf = (lines: string[]) => lines.map((l) => JSON.parse(l) as { id: string; gender: string; meta: { versionId: string } }).map((p) => `${p.id}@${p.meta.versionId}:${p.gender}`).sort();
const filesNamed = (view: { output: { fileName: string }[] }, pattern: RegExp) => view.output.filter((f) => pattern.test(f.fileName)).map((f) => f.fileName);

it('_history and _deleted write earlier versions and deleted resources in files of their own, as of the job instant', async () => {
  const engine = await fx.engine();
  const { id } = await engine.start(exportRequest({ types: ['Patient'], includeAssociatedData: ['_history', '_deleted'] }), caller);
  await sleep(5);
  await fx.store.update(patient('v2', 'unknown')); // after the instant: neither the new version nor the replaced one is history of this export
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  assert.equal(filesNamed(view, /^Patient-\d+\.ndjson$/), ['Patient-1.ndjson']);
  assert.equal(filesNamed(view, /^Patient-history-/), ['Patient-history-1.ndjson']);
  assert.equal(filesNamed(view, /^Patient-softdeleted-/), ['Patient-softdeleted-1.ndjson']);
  const read = async (fileName: string) => (await readBlob(fx.blobs, 'exports', `${id}/${fileName}`)).split('\n').filter(Boolean);
  const current = versionsOf(await read('Patient-1.ndjson'));
  assert.equal(current, ['v0@3:other', 'v10@2:male', 'v11@1:female', 'v2@2:male', 'v3@1:female', 'v5@1:female', 'v6@2:male', 'v7@1:female', 'v8@3:other', 'v9@1:female']);
  const history = versionsOf(await read('Patient-history-1.ndjson'));
  // Every version that was no longer current at the instant, the versions that deletions replaced among them.
  assert.equal(history, ['v0@1:female', 'v0@2:male', 'v10@1:female', 'v1@1:female', 'v2@1:female', 'v4@1:female', 'v4@2:male', 'v4@3:other', 'v6@1:female', 'v8@1:female', 'v8@2:male']);
  const deleted = versionsOf(await read('Patient-softdeleted-1.ndjson'));
  assert.equal(deleted, ['v1@1:female', 'v4@3:other'], 'the version each deletion removed');
  assert.is((await linesOf(fx.blobs, 'exports', view, 'Patient')).length, current.length + history.length + deleted.length, 'all three kinds are Patient output');
});

it('_history with _since holds only the versions replaced after it', async () => {
  const since = new Date().toISOString();
  await sleep(5);
  await fx.store.update(patient('v3', 'male'));
  await fx.store.update(patient('v3', 'other'));
  const engine = await fx.engine();
  const { id } = await engine.start(exportRequest({ types: ['Patient'], since, includeAssociatedData: ['_history'] }), caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  const history = versionsOf((await readBlob(fx.blobs, 'exports', `${id}/Patient-history-1.ndjson`)).split('\n').filter(Boolean));
  assert.equal(history, ['v3@2:male'], 'v3@1 was written before _since');
});

it('retention purges replaced versions but keeps those a queued export needs; _history over purged versions: strict refuses, lenient notes', async () => {
  const engine = await fx.engine({}, { startWorkers: false });
  const held = await engine.start(exportRequest({ types: ['Patient'], includeAssociatedData: ['_history'] }), caller);
  const before = await fx.store.history({ resourceType: 'Patient', count: 1000 });
  // Everything is older than "now + 1 day", but the queued job needs all history: nothing may go.
  const blocked = await fx.store.purgeHistory(Math.min(Date.now() + 86_400_000, await engine.historyNeededSince()), () => engine.historyNeededSince());
  assert.is(blocked.deleted, 0);
  assert.is((await fx.store.history({ resourceType: 'Patient', count: 1000 })).entries.length, before.entries.length);
  engine.pool.start();
  const view = await waitForEnd(engine, held.id);
  assert.is(view.status, 'completed');
  assert.is(await engine.historyNeededSince(), Infinity, 'no job needs history any more');
  const purged = await fx.store.purgeHistory(Date.now(), () => engine.historyNeededSince());
  assert.ok(purged.deleted > 0, 'replaced versions purged');
  const after = (await fx.store.history({ resourceType: 'Patient', count: 1000 })).entries;
  const currents = await Promise.all(after.map((e) => fx.store.read('Patient', e.id)));
  assert.ok(after.every((e, i) => currents[i]!.versionId === e.versionId), 'only current versions (deletions included) remain');
  assert.ok(await fx.store.purgedHistoryThrough() > 0);
  try {
    await engine.start(exportRequest({ types: ['Patient'], includeAssociatedData: ['_history'], handling: 'strict' }), caller);
    assert.unreachable('strict _history over purged versions must be refused');
  } catch (error) {
    assert.ok(error instanceof ExportError && error.kind === 'invalid', String(error));
    assert.match((error as Error).message, /purged by the history retention policy/);
  }
  const lenient = await engine.start(exportRequest({ types: ['Patient'], includeAssociatedData: ['_history'], handling: 'lenient' }), caller);
  const done = await waitForEnd(engine, lenient.id);
  assert.is(done.status, 'completed');
  const notes = (await linesOf(fx.blobs, 'exports', done, 'OperationOutcome', 'errors')).join('\n');
  assert.match(notes, /purged by the history retention policy/);
  const recent = await engine.start(exportRequest({ types: ['Patient'], since: new Date().toISOString(), includeAssociatedData: ['_history'], handling: 'strict' }), caller);
  assert.is((await waitForEnd(engine, recent.id)).status, 'completed', 'a _since after the purge needs nothing purged');
});

test.run();
