/**
 * Seeding: the same seed gives the same data (ids and content), the data is a
 * plausible clinical record with resolvable references, files load in reference
 * order, and the CLI loads into a given Cosmos account and reports its rate.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FhirService } from '../../fhir-server/fhir/fhir-service.ts';
import { parseReference } from '../../fhir-server/fhir/references.ts';
import { listReferences } from '../../fhir-server/fhir/references.ts';
import type { FhirResource } from '../../fhir-server/fhir/types.ts';
import { loadFiles } from '../../fhir-server/seed/load-files.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { syntheticResources } from '../../fhir-server/seed/synthetic.ts';
import type { CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { countDocuments, freshStore, snapshot, startCosmosFixture } from './support/cosmos.ts';
import type { CosmosFixture } from './support/cosmos.ts';

let fixture: CosmosFixture;
test.before(async () => {
  fixture = await startCosmosFixture();
});
test.after(async () => {
  await fixture?.stop();
});

/** Every live resource of the store without server meta, keyed by Type/id. */
async function contents(store: CosmosResourceStore): Promise<Map<string, FhirResource>> {
  const out = new Map<string, FhirResource>();
  for (const doc of await snapshot(store)) {
    if (doc.deleted || !doc.resource || doc.id !== doc.rid) continue; // current versions only
    const { meta, ...rest } = doc.resource;
    const { versionId: _v, lastUpdated: _l, ...clientMeta } = meta ?? {};
    out.set(`${doc.resourceType}/${doc.id}`, Object.keys(clientMeta).length ? { ...rest, meta: clientMeta } : rest);
  }
  return out;
}

test('the same seed twice gives the same resources; another seed gives others', async () => {
  const a = await freshStore(fixture);
  const b = await freshStore(fixture);
  const c = await freshStore(fixture);
  const reportA = await seedSynthetic(a, { patients: 40, seed: 'same' });
  await seedSynthetic(b, { patients: 40, seed: 'same', concurrency: 3, batchSize: 97 });
  await seedSynthetic(c, { patients: 40, seed: 'other' });
  const [ca, cb, cc] = await Promise.all([contents(a), contents(b), contents(c)]);
  assert.is(ca.size, reportA.resources);
  assert.equal([...ca.keys()].sort(), [...cb.keys()].sort());
  for (const [key, resource] of ca) assert.equal(cb.get(key), resource, key);
  assert.not.ok([...ca.keys()].some((key) => cc.has(key)), 'another seed, other ids');
});

test('the data set: 7-37 resources per patient, coded observations with units, references that resolve, one Group of all patients', () => {
  const batches = [...syntheticResources({ patients: 60, seed: 'shape' })];
  const all = batches.flat();
  const byRef = new Map(all.map((r) => [`${r.resourceType}/${r.id}`, r]));
  for (const record of batches.slice(1, -1)) {
    assert.ok(record.length >= 7 && record.length <= 37, `record of ${record.length}`);
    assert.is(record[0]!.resourceType, 'Patient');
  }
  const types = new Set(all.map((r) => r.resourceType));
  for (const t of ['Patient', 'Encounter', 'Observation', 'Condition', 'MedicationRequest', 'Procedure', 'Group', 'Organization', 'Practitioner']) assert.ok(types.has(t), t);
  for (const obs of all.filter((r) => r.resourceType === 'Observation')) {
    const code = (obs.code as { coding: { system: string; code: string }[] }).coding[0]!;
    assert.is(code.system, 'http://loinc.org');
    const quantities = obs.valueQuantity ? [obs.valueQuantity] : (obs.component as { valueQuantity: unknown }[]).map((c) => c.valueQuantity);
    for (const q of quantities as { value: number; unit: string; system: string }[]) {
      assert.type(q.value, 'number');
      assert.ok(q.unit && q.system === 'http://unitsofmeasure.org');
    }
  }
  for (const resource of all) {
    for (const reference of listReferences(resource)) {
      const parsed = parseReference(reference);
      assert.ok(parsed && byRef.has(`${parsed.type}/${parsed.id}`), `${resource.resourceType}/${resource.id} -> ${reference}`);
    }
  }
  const years = new Set(all.filter((r) => r.resourceType === 'Encounter').map((e) => (e.period as { start: string }).start.slice(0, 4)));
  assert.ok(years.size >= 8, `encounters over ${years.size} years`);
  const group = all.find((r) => r.resourceType === 'Group')!;
  assert.is((group.member as unknown[]).length, 60);
});

test('seeded Group members and compartments are indexed; seeding again makes new versions of the same content', async () => {
  const store = await freshStore(fixture);
  const first = await seedSynthetic(store, { patients: 15, seed: 'again' });
  const group = [...syntheticResources({ patients: 15, seed: 'again' })].at(-1)![0]!;
  const members = await store.getGroupMembers(group.id);
  assert.is(members?.length, 15);
  for (const member of members!) {
    assert.ok((await store.read('Patient', member.split('/')[1]!))?.deleted === false);
    const inCompartment = await store.count({ resourceType: 'Observation', compartments: [member] });
    assert.ok(inCompartment >= 3, `${member} has ${inCompartment} observations`);
  }
  const before = await contents(store);
  const second = await seedSynthetic(store, { patients: 15, seed: 'again' });
  assert.equal({ created: second.created, updated: second.updated }, { created: 0, updated: first.resources });
  assert.equal(await contents(store), before);
  assert.is((await store.read('Group', group.id))?.versionId, 2);
});

test('files: NDJSON through the bulk path, bad lines (JSON, R4) reported, a Bundle and a single resource with urn:uuid references', async () => {
  const store = await freshStore(fixture);
  const dir = await mkdtemp(join(tmpdir(), 'fhir-seed-'));
  try {
    await writeFile(
      join(dir, 'a.ndjson'),
      [
        JSON.stringify({ resourceType: 'Patient', id: 'nd-1', gender: 'female' }),
        '{"resourceType": "Patient", "id": ',
        JSON.stringify({ resourceType: 'Observation', id: 'nd-2', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/nd-1' } }),
        '',
        JSON.stringify({ resourceType: 'Patient', gender: 'male' }),
        JSON.stringify({ resourceType: 'Patient', id: 'nd-3', birthDate: 'not-a-date' }),
      ].join('\n'),
    );
    const pid = '12345678-aaaa-4bbb-8ccc-000000000001';
    await writeFile(join(dir, 'b-patients.json'), JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: `urn:uuid:${pid}`, resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }] }));
    await writeFile(join(dir, 'a-group.json'), JSON.stringify({ resourceType: 'Group', id: 'g-1', type: 'person', actual: true, member: [{ entity: { reference: `urn:uuid:${pid}` } }] }));
    const progress: number[] = [];
    const report = await loadFiles([dir], { store, service: new FhirService(store) }, { onProgress: (done) => progress.push(done) });
    assert.is(report.files, 3);
    assert.is(report.resources, 5);
    assert.is(report.failures.length, 2);
    assert.match(report.failures[0]!, /a\.ndjson: line 2/);
    assert.match(report.failures[1]!, /a\.ndjson: line 6: Patient is not valid: Patient\.birthDate: 'not-a-date' is not a valid date/, 'the bulk path validates as a write does');
    assert.equal(await store.getGroupMembers('g-1'), [`Patient/${pid}`], 'the Group loads after the Bundle that defines its member');
    assert.is(progress.at(-1), 7);
    assert.is(await countDocuments(store), 5);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the CLI seeds a given account and reports resources/s', async () => {
  const database = `seed-cli-${process.pid}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'dev/seed/main.ts', '--patients', '25', '--seed', 'cli', '--endpoint', fixture.cosmos.endpoint, '--key', fixture.cosmos.key, '--ca-file', fixture.caFile, '--database', database],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.is(code, 0, stderr);
  const match = /seeded (\d+) resources .* (\d+) resources\/s/.exec(stderr);
  assert.ok(match, stderr);
  const expected = [...syntheticResources({ patients: 25, seed: 'cli' })].flat().length;
  assert.is(Number(match[1]), expected);
  const { resources } = await fixture.client.database(database).container('resource-versions').items.query<number>('SELECT VALUE COUNT(1) FROM c').fetchAll();
  assert.is(resources[0], expected);
});

test.run();
