/**
 * Patient and Group exports follow the Patient compartment: only compartment
 * types, only resources of the listed (or any) patients, each exactly once even
 * when it is in the compartments of several patients handled by different items.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { patientCompartmentsOf } from '../../fhir-server/fhir/compartments.ts';
import type { FhirResource } from '../../fhir-server/fhir/types.ts';
import { ExportError } from '../../fhir-server/export/ports.ts';
import { compartmentTypes } from '../../fhir-server/export/engine/plan.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { loud } from '../support/hooks.ts';
import { caller, exactlyOnce, exportRequest, it, linesOf, startExportFixture, storeJson, waitForEnd, type ExportFixture } from './support/fixture.ts';

let fx: ExportFixture;
let patients: string[] = [];
let types: string[] = [];

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    await seedSynthetic(fx.store, { patients: 12, seed: 'compartments' });
    patients = [...(await storeJson(fx.store, 'Patient')).keys()].sort();
    const [p1, p2, p3] = patients;
    // In the compartments of two patients at once (subject and performer).
    await fx.store.create({ resourceType: 'Observation', id: 'shared-obs', status: 'final', code: { text: 'shared' }, subject: { reference: `Patient/${p1}` }, performer: [{ reference: `Patient/${p3}` }] });
    // In no patient's compartment.
    await fx.store.create({ resourceType: 'Observation', id: 'group-obs', status: 'final', code: { text: 'about a group' }, subject: { reference: 'Group/cohort' } });
    await fx.store.create({
      resourceType: 'Group',
      id: 'cohort',
      type: 'person',
      actual: true,
      member: [{ entity: { reference: `Patient/${p1}` } }, { entity: { reference: `Patient/${p2}` } }, { entity: { reference: `Patient/${p3}` } }, { entity: { reference: 'Practitioner/x' } }],
    });
    types = await fx.store.listResourceTypes();
  }),
);
test.after(async () => {
  await fx?.stop();
});

/** Resources of `type` in the compartment of one of `refs` (any patient when undefined). */
async function expectedOf(type: string, refs?: string[]): Promise<Map<string, string>> {
  const all = await storeJson(fx.store, type);
  return new Map(
    [...all].filter(([, json]) => {
      const compartments = patientCompartmentsOf(JSON.parse(json) as FhirResource);
      return refs ? compartments.some((c) => refs.includes(c)) : compartments.length > 0;
    }),
  );
}

it('a Patient export covers the compartment types and every resource in some patient compartment, once', async () => {
  const engine = await fx.engine();
  const { id } = await engine.start(exportRequest({ level: 'patient', types: [] }), caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  const exportedTypes = [...new Set(view.output.map((f) => f.type))].sort();
  assert.equal(exportedTypes, types.filter((t) => compartmentTypes.has(t)).sort());
  assert.not.ok(exportedTypes.includes('Organization') || exportedTypes.includes('Practitioner'));
  for (const type of exportedTypes) exactlyOnce(await linesOf(fx.blobs, 'exports', view, type), await expectedOf(type), type);
  const observations = await linesOf(fx.blobs, 'exports', view, 'Observation');
  assert.not.ok(observations.some((line) => line.includes('"group-obs"')));
});

it('a Patient export with a patient list covers only those patients; types outside the compartment are noted', async () => {
  const engine = await fx.engine();
  const refs = [`Patient/${patients[4]}`, `Patient/${patients[5]}`];
  const { id } = await engine.start(exportRequest({ level: 'patient', types: ['Patient', 'Observation', 'Encounter', 'Organization'], patients: refs }), caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  for (const type of ['Patient', 'Observation', 'Encounter']) exactlyOnce(await linesOf(fx.blobs, 'exports', view, type), await expectedOf(type, refs), type);
  assert.equal(view.output.filter((f) => f.type === 'Organization'), []);
  // The manifest's error file notes it, saying what happened (accepted, no output).
  assert.equal(view.errors.map((f) => f.type), ['OperationOutcome']);
  const notes = (await linesOf(fx.blobs, 'exports', view, 'OperationOutcome', 'errors')).map((line) => JSON.parse(line).issue[0].diagnostics);
  assert.equal(notes, ['_type Organization: Organization is not in the Patient compartment, so this patient-level export has no Organization output']);
});

it('a Group export covers its patient members; with the list split across items a shared resource is still written once', async () => {
  const refs = patients.slice(0, 3).map((p) => `Patient/${p}`);
  for (const chunk of [500, 2]) {
    const engine = await fx.engine({ compartmentChunkSize: chunk });
    const { id } = await engine.start(exportRequest({ level: 'group', groupId: 'cohort', types: ['Patient', 'Observation', 'Condition', 'Practitioner'] }), caller);
    const view = await waitForEnd(engine, id);
    assert.is(view.status, 'completed', JSON.stringify(view.failure));
    const record = await fx.jobsOf(engine).read(id);
    assert.is(record!.items.length, chunk === 2 ? 6 : 3);
    assert.equal(view.output.filter((f) => f.type === 'Practitioner'), []);
    const notes = (await linesOf(fx.blobs, 'exports', view, 'OperationOutcome', 'errors')).map((line) => JSON.parse(line).issue[0].diagnostics);
    assert.equal(notes, ['_type Practitioner: Practitioner is not in the Patient compartment, so this group-level export has no Practitioner output']);
    for (const type of ['Patient', 'Observation', 'Condition']) exactlyOnce(await linesOf(fx.blobs, 'exports', view, type), await expectedOf(type, refs), `${type} (slices of ${chunk})`);
    const shared = (await linesOf(fx.blobs, 'exports', view, 'Observation')).filter((line) => line.includes('"shared-obs"'));
    assert.is(shared.length, 1);
  }
});

it('a Group export of a Group that does not exist is refused at kick-off', async () => {
  const engine = await fx.engine();
  try {
    await engine.start(exportRequest({ level: 'group', groupId: 'nope' }), caller);
    assert.unreachable('started');
  } catch (error) {
    assert.instance(error, ExportError);
    assert.is((error as ExportError).kind, 'not-found');
  }
});

test.run();
