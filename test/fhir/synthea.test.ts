/**
 * Synthea round trip: a Synthea R4 folder (hospital and practitioner bundles,
 * patient transaction bundles referring to them by urn:uuid, a Group of the
 * patients) loads, and every resource reads back with the same content apart
 * from server meta and urn:uuid references rewritten to Type/id.
 *
 * The real data is read from ../shared/data/synthea-r4 (relative to the
 * repository); without it those tests are skipped (uvu reports them as skipped)
 * and only the miniature folder built here runs.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from '../../dev/certs.ts';
import { FhirService } from '../../fhir-server/fhir/fhir-service.ts';
import { patientCompartmentsOf } from '../../fhir-server/fhir/compartments.ts';
import { loadFiles } from '../../fhir-server/seed/load-files.ts';
import type { CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { countDocuments, freshStore, startCosmosFixture } from './support/cosmos.ts';
import type { CosmosFixture } from './support/cosmos.ts';
import { expectedResources, readInLoadOrder, withoutServerMeta } from './support/synthea.ts';

const dataDir = join(repoRoot, '..', 'shared', 'data', 'synthea-r4');
const haveData = existsSync(dataDir);
if (!haveData) process.stdout.write(`SKIPPING the Synthea data tests: ${dataDir} is absent\n`);
const dataTest = haveData ? test : test.skip;

let fixture: CosmosFixture;
test.before(async () => {
  fixture = await startCosmosFixture();
});
test.after(async () => {
  await fixture?.stop();
});

/** Reads every expected resource back and compares it without server meta; returns how many were compared. */
async function compareAll(store: CosmosResourceStore, expected: ReturnType<typeof expectedResources>): Promise<number> {
  let compared = 0;
  for (const [key, resource] of expected) {
    const [type, id] = key.split('/') as [string, string];
    const read = await store.read(type, id);
    assert.ok(read && !read.deleted, `${key} reads back`);
    assert.equal(withoutServerMeta(read.resource), resource, key);
    assert.is(read.resource.meta?.versionId, '1', `${key} was written once`);
    compared += 1;
  }
  return compared;
}

test('a miniature Synthea folder: the hospital version of a shared Organization wins, references resolve across files', async () => {
  const store = await freshStore(fixture);
  const dir = await mkdtemp(join(tmpdir(), 'synthea-mini-'));
  const org = '11111111-1111-3111-8111-111111111111';
  const patient = '22222222-2222-4222-8222-222222222222';
  const encounter = '33333333-3333-4333-8333-333333333333';
  const orgBody = { resourceType: 'Organization', id: org, identifier: [{ system: 'https://github.com/synthetichealth/synthea', value: org }], name: 'MINI HOSPITAL' };
  const post = (uuid: string, resource: Record<string, unknown>) => ({ fullUrl: `urn:uuid:${uuid}`, resource, request: { method: 'POST', url: resource.resourceType } });
  try {
    await writeFile(join(dir, 'hospitalInformation1.json'), JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [post(org, { ...orgBody, extension: [{ url: 'http://synthetichealth.github.io/synthea/utilization-encounters-extension', valueInteger: 3 }] })] }));
    await writeFile(join(dir, 'Ann_Lee_x.json'), JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [
      post(patient, { resourceType: 'Patient', id: patient, name: [{ family: 'Lee', given: ['Ann'] }] }),
      post(org, orgBody),
      post(encounter, { resourceType: 'Encounter', id: encounter, status: 'finished', class: { code: 'AMB' }, subject: { reference: `urn:uuid:${patient}` }, serviceProvider: { reference: `urn:uuid:${org}`, display: 'MINI HOSPITAL' } }),
    ] }));
    await writeFile(join(dir, 'groupInformation1.json'), JSON.stringify({ resourceType: 'Group', id: '44444444-4444-4444-8444-444444444444', type: 'person', actual: true, member: [{ entity: { reference: `urn:uuid:${patient}` } }] }));
    const report = await loadFiles([dir], { store, service: new FhirService(store) });
    assert.equal(report.failures, []);
    const expected = expectedResources(await readInLoadOrder((await readdir(dir)).map((n) => join(dir, n))));
    assert.is(expected.size, 4);
    assert.ok((expected.get(`Organization/${org}`)!.extension as unknown[]).length === 1, 'the expectation takes the hospital version');
    assert.is(await compareAll(store, expected), 4);
    const stored = await store.read('Encounter', encounter);
    assert.is(stored && !stored.deleted ? (stored.resource.serviceProvider as { reference: string }).reference : undefined, `Organization/${org}`);
    assert.equal(await store.getGroupMembers('44444444-4444-4444-8444-444444444444'), [`Patient/${patient}`]);
    assert.is(await countDocuments(store), 4);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

let synthea: CosmosResourceStore | undefined;
let expected: ReturnType<typeof expectedResources> = new Map();

dataTest('the Synthea folder loads: 15 files, 1,961 entries, no failure, 1,909 distinct resources', async () => {
  synthea = await freshStore(fixture);
  const files = (await readdir(dataDir)).filter((n) => n.endsWith('.json')).map((n) => join(dataDir, n));
  expected = expectedResources(await readInLoadOrder(files));
  const report = await loadFiles([dataDir], { store: synthea, service: new FhirService(synthea) });
  assert.equal(report.failures, []);
  assert.is(report.files, 15);
  assert.is(report.resources, 1961);
  assert.is(expected.size, 1909);
  assert.is(await countDocuments(synthea), expected.size);
});

dataTest('every Synthea resource reads back with its content, references rewritten to Type/id', async () => {
  assert.ok(synthea, 'loaded by the previous test');
  assert.is(await compareAll(synthea, expected), 1909);
  const anyUrn = [...expected.values()].some((r) => JSON.stringify(r).includes('"reference":"urn:uuid:'));
  assert.not.ok(anyUrn, 'no urn:uuid reference is left');
});

dataTest("the Group's members resolve to the 12 patients", async () => {
  assert.ok(synthea);
  const groupId = [...expected.keys()].find((k) => k.startsWith('Group/'))!.split('/')[1]!;
  const members = await synthea.getGroupMembers(groupId);
  const patients = [...expected.keys()].filter((k) => k.startsWith('Patient/'));
  assert.is(members?.length, 12);
  assert.equal([...members!].sort(), patients.sort());
  for (const member of members!) assert.is((await synthea.read('Patient', member.split('/')[1]!))?.deleted, false);
});

dataTest('Patient compartments hold each patient record; export paging lists every Observation once', async () => {
  assert.ok(synthea);
  const perPatient = new Map<string, number>();
  for (const resource of expected.values()) {
    if (resource.resourceType !== 'Observation') continue;
    for (const ref of patientCompartmentsOf(resource)) perPatient.set(ref, (perPatient.get(ref) ?? 0) + 1);
  }
  assert.is(perPatient.size, 12);
  for (const [ref, n] of perPatient) assert.is(await synthea.count({ resourceType: 'Observation', compartments: [ref] }), n, ref);
  const ids: string[] = [];
  let continuation;
  do {
    const page = await synthea.queryForExport({ resourceType: 'Observation', pageSize: 100, ...(continuation ? { continuation } : {}) });
    ids.push(...page.items.map((i) => i.id));
    continuation = page.continuation;
  } while (continuation);
  assert.is(ids.length, 862);
  assert.is(new Set(ids).size, 862);
});

test.run();
