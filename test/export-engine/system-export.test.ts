/**
 * System exports of seeded data into Azurite with a real ClientSecretCredential:
 * every resource exactly once and byte for byte what GET returns, files rolled
 * at the rolling size, large types split into bucket items, `_elements` and
 * `_typeFilter` applied.
 */
import * as assert from 'uvu/assert';
import { bucketCount } from '../../fhir-server/store/layout.ts';
import { test } from 'uvu';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { subsettedTag } from '../../fhir-server/export/engine/elements.ts';
import { exportBlockers } from '../../fhir-server/fhir/validation/stored-resource.ts';
import { loud } from '../support/hooks.ts';
import { caller, exactlyOnce, exportRequest, it, linesOf, startExportFixture, storeJson, waitForEnd, type ExportFixture } from './support/fixture.ts';

let fx: ExportFixture;
let types: string[] = [];

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    await seedSynthetic(fx.store, { patients: 30, seed: 'system-export' });
    types = await fx.store.listResourceTypes();
  }),
);
test.after(async () => {
  await fx?.stop();
});

it('a system export writes every resource of every type exactly once, byte for byte as the store serves it', async () => {
  const engine = await fx.engine();
  const started = await engine.start(exportRequest(), caller);
  assert.is(started.status, 'queued');
  const view = await waitForEnd(engine, started.id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  assert.ok(types.length >= 6, `seeded types: ${types.join(', ')}`);
  let total = 0;
  for (const type of types) {
    const expected = await storeJson(fx.store, type);
    exactlyOnce(await linesOf(fx.blobs, 'exports', view, type), expected, type);
    total += expected.size;
    assert.equal(view.output.filter((f) => f.type === type).map((f) => f.fileName), [`${type}-1.ndjson`]);
  }
  assert.equal(view.progress, { exported: total, total });
  assert.equal(view.errors, []);
  assert.equal(view.deleted, []);
  assert.ok(view.endTime && view.expireTime && Date.parse(view.expireTime) > Date.parse(view.endTime));
});

it('files roll at the rolling size, each made of several staged blocks, and together hold each resource once', async () => {
  const rolling = 48 * 1024;
  const engine = await fx.engine({ rollingFileSizeBytes: rolling, blockSizeBytes: 8 * 1024 });
  const { id } = await engine.start(exportRequest({ types: ['Observation', 'Patient'] }), caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  const files = view.output.filter((f) => f.type === 'Observation');
  assert.ok(files.length >= 3, `expected several Observation files, got ${files.length}`);
  assert.equal(files.map((f) => f.fileName), files.map((_, i) => `Observation-${i + 1}.ndjson`));
  for (const file of files.slice(0, -1)) assert.ok(file.sizeBytes >= rolling && file.sizeBytes < rolling + 8 * 1024, `${file.fileName}: ${file.sizeBytes} bytes`);
  const blob = fx.blobs.getContainerClient('exports').getBlockBlobClient(`${id}/${files[0]!.fileName}`);
  const blocks = await blob.getBlockList('all');
  assert.ok((blocks.committedBlocks ?? []).length >= 5, `committed blocks: ${blocks.committedBlocks?.length}`);
  assert.is((blocks.uncommittedBlocks ?? []).length, 0);
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Observation'), await storeJson(fx.store, 'Observation'), 'Observation');
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Patient'), await storeJson(fx.store, 'Patient'), 'Patient');
});

it('a large type is split into bucket-range items that lease separately, with centrally numbered files that never collide', async () => {
  const engine = await fx.engine({ itemSplitThreshold: 100, rollingFileSizeBytes: 32 * 1024, blockSizeBytes: 8 * 1024 });
  const { id } = await engine.start(exportRequest({ types: ['Observation', 'Encounter'] }), caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  const record = await fx.jobsOf(engine).read(id);
  const observationItems = record!.items.filter((item) => item.resourceType === 'Observation');
  assert.ok(observationItems.length >= 2, `${observationItems.length} Observation items`);
  const ranges = observationItems.map((item) => item.buckets!).sort((a, b) => a.first - b.first);
  assert.is(ranges[0]!.first, 0);
  assert.is(ranges.at(-1)!.end, bucketCount);
  ranges.slice(1).forEach((range, i) => assert.is(range.first, ranges[i]!.end, 'bucket ranges are contiguous and disjoint'));
  const names = view.output.map((f) => f.fileName);
  assert.is(new Set(names).size, names.length);
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Observation'), await storeJson(fx.store, 'Observation'), 'Observation');
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Encounter'), await storeJson(fx.store, 'Encounter'), 'Encounter');
  assert.is(view.progress.exported, view.progress.total);
});

it('_typeFilter keeps matching resources only; _elements keeps id, meta, resourceType and the listed elements, tagged SUBSETTED', async () => {
  const engine = await fx.engine();
  const request = exportRequest({
    types: ['MedicationRequest', 'Patient', 'Observation'],
    typeFilters: ['MedicationRequest?status=active', 'Observation?code=http://loinc.org|8867-4,http://loinc.org|29463-7'],
    elements: ['Patient.birthDate', 'Patient.gender'],
    notes: ['includeAssociatedData=LatestProvenanceResources is not supported and was ignored'],
  });
  const { id } = await engine.start(request, caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  const meds = [...(await storeJson(fx.store, 'MedicationRequest')).entries()].filter(([, json]) => JSON.parse(json).status === 'active');
  assert.ok(meds.length > 0);
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'MedicationRequest'), new Map(meds), 'MedicationRequest');
  const codes = ['8867-4', '29463-7'];
  const observations = [...(await storeJson(fx.store, 'Observation')).entries()].filter(([, json]) => codes.includes(JSON.parse(json).code.coding[0].code));
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Observation'), new Map(observations), 'Observation');
  const patients = await linesOf(fx.blobs, 'exports', view, 'Patient');
  assert.is(patients.length, (await storeJson(fx.store, 'Patient')).size);
  for (const line of patients) {
    const patient = JSON.parse(line);
    assert.equal(Object.keys(patient).sort(), ['birthDate', 'gender', 'id', 'meta', 'resourceType']);
    assert.equal(patient.meta.tag.filter((t: { code: string }) => t.code === subsettedTag.code), [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' }]);
    assert.ok(patient.meta.versionId && patient.meta.lastUpdated);
  }
  assert.is(view.errors.length, 1);
  const outcome = JSON.parse((await linesOf(fx.blobs, 'exports', view, 'OperationOutcome', 'errors'))[0]!);
  assert.match(outcome.issue[0].diagnostics, /includeAssociatedData/);
});

it('resources stored without validation (older versions) that break their datatypes are withheld and named in an error file; the others go out as stored', async () => {
  // bulkUpsert writes as older versions did: no R4 validation.
  await fx.store.bulkUpsert([
    { resourceType: 'Device', id: 'legacy-ok', status: 'active', distinctIdentifier: 'A-1' },
    { resourceType: 'Device', id: 'legacy-bad', status: 'weird', manufactureDate: 'yesterday', lotNumber: 7 },
    { resourceType: 'Device', id: 'legacy-invariant', extension: [{ url: 'http://example.org/empty' }] },
  ]);
  const engine = await fx.engine();
  const { id } = await engine.start(exportRequest({ types: ['Device'] }), caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  const stored = await storeJson(fx.store, 'Device');
  exactlyOnce(await linesOf(fx.blobs, 'exports', view, 'Device'), new Map([...stored].filter(([key]) => key !== 'legacy-bad')), 'Device');
  for (const line of await linesOf(fx.blobs, 'exports', view, 'Device')) assert.equal(exportBlockers(JSON.parse(line)), [], line);
  assert.equal(view.errors.map((f) => f.fileName), ['OperationOutcome-Device-1.ndjson']);
  const errors = (await linesOf(fx.blobs, 'exports', view, 'OperationOutcome', 'errors')).map((line) => JSON.parse(line));
  assert.is(errors.length, 1);
  assert.match(errors[0].issue[0].diagnostics, /^Device\/legacy-bad \(version 1\) was not exported/);
  assert.equal(
    errors[0].issue.slice(1).map((i: { severity: string; expression: string[] }) => [i.severity, i.expression[0]]),
    [['error', 'Device.status'], ['error', 'Device.manufactureDate'], ['error', 'Device.lotNumber']],
  );
});

test.run();
