/**
 * `includeAssociatedData=RelevantProvenanceResources` / `LatestProvenanceResources`:
 * the Provenance resources whose `target` names a resource the export writes go to
 * `Provenance-N.ndjson` files, each once (also when it targets resources of several
 * items or pages, and when `_type` exports Provenance itself); Latest keeps the most
 * recent per resource; targets the export does not write (another type, another
 * patient, filtered out) bring nothing; versioned and absolute targets count; the
 * state is the job's instant. Requests go through the kick-off parser, so its
 * comma-separated and repeated forms are what the engine runs.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { parametersFromQuery } from '../../fhir-server/export/facade/kickoff-input.ts';
import { parseKickoff } from '../../fhir-server/export/facade/kickoff-parse.ts';
import { facadeOptions, serverAssociatedData } from '../../fhir-server/export/facade/options.ts';
import type { ExportEngine } from '../../fhir-server/export/engine/export-engine.ts';
import type { ExportJobView, ExportLevel, ExportRequest } from '../../fhir-server/export/ports.ts';
import { loud } from '../support/hooks.ts';
import { caller, exportRequest, it, linesOf, startExportFixture, waitForEnd, type ExportFixture } from './support/fixture.ts';

let fx: ExportFixture;

const provenance = (id: string, recorded: string, ...targets: string[]) => ({
  resourceType: 'Provenance',
  id,
  recorded,
  target: targets.map((reference) => ({ reference })),
  agent: [{ who: { reference: 'Practitioner/dr1' } }],
});

// Small pages and items of two resources: a Provenance's targets fall on different pages and items.
const small = { maximumNumberOfResourcesPerQuery: 2, itemSplitThreshold: 2 };

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    for (const id of ['p1', 'p2', 'p3']) await fx.store.create({ resourceType: 'Patient', id, gender: 'female' });
    await fx.store.create({ resourceType: 'Practitioner', id: 'dr1' });
    for (const [id, patient, status] of [['o1', 'p1', 'final'], ['o2', 'p2', 'final'], ['o3', 'p3', 'preliminary'], ['o4', 'p1', 'final'], ['o5', 'p2', 'final']] as const) {
      await fx.store.create({ resourceType: 'Observation', id, status, code: { text: id }, subject: { reference: `Patient/${patient}` } });
    }
    await fx.store.create(provenance('a', '2024-01-01T00:00:00Z', 'Patient/p1'));
    await fx.store.create(provenance('b', '2024-03-01T00:00:00Z', 'Patient/p1'));
    // Versioned target, and a second target on another type: written once.
    await fx.store.create(provenance('c', '2024-02-01T00:00:00Z', 'Patient/p2', 'Observation/o1/_history/1'));
    await fx.store.create(provenance('d', '2024-05-01T00:00:00+02:00', 'Patient/p2'));
    await fx.store.create(provenance('e', '2024-01-01T00:00:00Z', 'Practitioner/dr1'));
    await fx.store.create(provenance('f', '2024-01-01T00:00:00Z', 'https://fhir.example/Observation/o2'));
    await fx.store.create(provenance('g', '2024-01-01T00:00:00Z', 'Observation/o3'));
    await fx.store.create(provenance('h', '2024-01-01T00:00:00Z', 'Patient/nobody'));
    // Targets of one type on different pages and items: written by the first.
    await fx.store.create(provenance('i', '2024-06-01T00:00:00Z', 'Observation/o5', 'Observation/o4', 'Observation/o2'));
  }),
);
test.after(async () => {
  await fx?.stop();
});

/** The request the kick-off parser makes of `query` (lenient: unknown values are notes). */
function kickoff(query: string, level: ExportLevel = 'system', patients: string[] = []): ExportRequest {
  const options = facadeOptions({ features: { includeAssociatedData: serverAssociatedData } });
  const path = level === 'system' ? '' : '/Patient';
  const { request } = parseKickoff({ level, form: 'query', parameters: parametersFromQuery(query), prefer: 'respond-async, handling=lenient', requestUrl: `https://fhir.example${path}/$export?${query}` }, options);
  return exportRequest({ ...request, patients });
}

async function run(engine: ExportEngine, request: ExportRequest): Promise<ExportJobView> {
  const { id } = await engine.start(request, caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  return view;
}

/** Ids of the Provenance lines of `view`, sorted; throws when one is written twice. */
async function provenanceIds(view: ExportJobView): Promise<string[]> {
  const ids = (await linesOf(fx.blobs, 'exports', view, 'Provenance')).map((line) => (JSON.parse(line) as { id: string }).id);
  const twice = ids.filter((id, at) => ids.indexOf(id) !== at);
  assert.equal(twice, [], `written twice: ${twice.join(', ')}`);
  return ids.sort();
}

it('RelevantProvenanceResources writes every Provenance targeting an exported resource, once, in Provenance-N.ndjson files', async () => {
  const engine = await fx.engine(small, { startWorkers: false });
  const { id } = await engine.start(kickoff('_type=Patient,Observation&includeAssociatedData=RelevantProvenanceResources'), caller);
  // Written after the job's instant: not part of it.
  await fx.store.create(provenance('late', '2024-07-01T00:00:00Z', 'Patient/p1'));
  engine.pool.start();
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  // e targets a Practitioner (not exported), h a resource that does not exist.
  assert.equal(await provenanceIds(view), ['a', 'b', 'c', 'd', 'f', 'g', 'i']);
  const files = view.output.filter((file) => file.type === 'Provenance');
  assert.ok(files.length > 0 && files.every((file) => /^Provenance-\d+\.ndjson$/.test(file.fileName)), JSON.stringify(files));
  assert.is(new Set(view.output.map((file) => file.fileName)).size, view.output.length, 'file names are unique');
  await fx.store.delete('Provenance', 'late');
});

it('LatestProvenanceResources keeps, per exported resource, the Provenance recorded last', async () => {
  const engine = await fx.engine(small);
  const view = await run(engine, kickoff('_type=Patient,Observation&includeAssociatedData=LatestProvenanceResources'));
  // p1: b (March) over a; p2: d (May, +02:00) over c; o1: c; o2: i (June) over f; o3: g; o4, o5: i.
  assert.equal(await provenanceIds(view), ['b', 'c', 'd', 'g', 'i']);
});

it('comma-separated and repeated includeAssociatedData give the same export; with both codes Relevant (the superset) wins', async () => {
  const engine = await fx.engine(small);
  const comma = kickoff('_type=Patient,Observation&includeAssociatedData=LatestProvenanceResources,RelevantProvenanceResources');
  const repeated = kickoff('_type=Patient,Observation&includeAssociatedData=LatestProvenanceResources&includeAssociatedData=RelevantProvenanceResources');
  assert.equal(comma.includeAssociatedData, ['LatestProvenanceResources', 'RelevantProvenanceResources']);
  assert.equal(repeated.includeAssociatedData, comma.includeAssociatedData);
  for (const request of [comma, repeated]) assert.equal(await provenanceIds(await run(engine, request)), ['a', 'b', 'c', 'd', 'f', 'g', 'i']);
});

it('Provenance of resources the export leaves out (_type, _typeFilter) are not written', async () => {
  const engine = await fx.engine(small);
  const patients = await run(engine, kickoff('_type=Patient&includeAssociatedData=RelevantProvenanceResources'));
  assert.equal(await provenanceIds(patients), ['a', 'b', 'c', 'd']);
  const filtered = await run(engine, kickoff(`_type=Observation&_typeFilter=${encodeURIComponent('Observation?status=final')}&includeAssociatedData=RelevantProvenanceResources`));
  assert.equal(await provenanceIds(filtered), ['c', 'f', 'i'], 'o3 (preliminary) is filtered out, so g is not written');
});

it('a Patient export with a patient list writes only the Provenance of that patient’s exported resources', async () => {
  const engine = await fx.engine(small);
  const view = await run(engine, kickoff('_type=Patient,Observation&includeAssociatedData=RelevantProvenanceResources', 'patient', ['Patient/p1']));
  // p1 and its Observations o1, o4: a, b (p1), c (o1), i (o4; its other targets are not exported).
  assert.equal(await provenanceIds(view), ['a', 'b', 'c', 'i']);
  const latest = await run(engine, kickoff('_type=Patient,Observation&includeAssociatedData=LatestProvenanceResources', 'patient', ['Patient/p1']));
  assert.equal(await provenanceIds(latest), ['b', 'c', 'i']);
});

it('with _type including Provenance, no Provenance is written twice', async () => {
  const engine = await fx.engine(small);
  const all = await run(engine, kickoff('_type=Patient,Observation,Provenance&includeAssociatedData=RelevantProvenanceResources'));
  assert.equal(await provenanceIds(all), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], 'every stored Provenance, each once');
  // The Provenance item exports those recorded from mid-February on; the associated ones add the others that target exported resources.
  const filter = encodeURIComponent('Provenance?recorded=ge2024-02-15');
  const some = await run(engine, kickoff(`_type=Patient,Observation,Provenance&_typeFilter=${filter}&includeAssociatedData=RelevantProvenanceResources`));
  assert.equal(await provenanceIds(some), ['a', 'b', 'c', 'd', 'f', 'g', 'i']);
  // A Patient export covers Provenance as a compartment type: its target p1 puts a, b in p1's compartment.
  const patient = await run(engine, kickoff('includeAssociatedData=RelevantProvenanceResources', 'patient', ['Patient/p1']));
  assert.equal(await provenanceIds(patient), ['a', 'b', 'c', 'i']);
});

it('without includeAssociatedData no Provenance is written', async () => {
  const engine = await fx.engine(small);
  const view = await run(engine, kickoff('_type=Patient,Observation'));
  assert.equal(await provenanceIds(view), []);
});

// Last: it adds resources and Provenance the tests above do not expect.
it('an item given back after a checkpoint and resumed by another engine writes each Provenance once', async () => {
  for (let i = 0; i < 30; i++) {
    await fx.store.create({ resourceType: 'Condition', id: `cond-${i}`, subject: { reference: 'Patient/p3' }, code: { text: `c${i}` } });
    await fx.store.create(provenance(`rp-${i}`, '2024-01-01T00:00:00Z', `Condition/cond-${i}`));
  }
  await fx.store.create(provenance('rp-multi', '2024-01-01T00:00:00Z', 'Condition/cond-28', 'Condition/cond-3', 'Condition/cond-17'));
  const options = { maximumNumberOfResourcesPerQuery: 3, numberOfPagesPerCommit: 2, blockSizeBytes: 600 };
  const jobsContainerId = 'jobs-provenance-resume';
  let givenBack: Promise<boolean> | undefined;
  const first: ExportEngine = await fx.engine(options, { jobsContainerId, hooks: { afterCheckpoint: () => void (givenBack ??= first.pool.stop(5_000)) } });
  const { id } = await first.start(kickoff('_type=Condition&includeAssociatedData=RelevantProvenanceResources'), caller);
  for (let waited = 0; !givenBack && waited < 30_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(givenBack, 'the first engine reached a checkpoint');
  assert.ok(await givenBack, 'the first engine gave its item back');
  const handedOver = (await fx.jobsOf(first).read(id))!;
  assert.is(handedOver.status, 'running');
  assert.ok(handedOver.items[0]!.checkpoint.provenance?.through, 'the Provenance stream was checkpointed');
  const second = await fx.engine(options, { jobsContainerId });
  const view = await waitForEnd(second, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  assert.equal(await provenanceIds(view), [...Array.from({ length: 30 }, (_, i) => `rp-${i}`), 'rp-multi'].sort());
  assert.is((await linesOf(fx.blobs, 'exports', view, 'Condition')).length, 30);
});

test.run();
