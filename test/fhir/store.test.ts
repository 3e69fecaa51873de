/**
 * The Cosmos resource store through the real SDK against the stand-in:
 * versions, If-Match, tombstones, document layout, compartments, bulk load.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bucketOf, partitionKeyOf } from '../../fhir-server/store/document.ts';
import type { ResourceDocument } from '../../fhir-server/store/document.ts';
import { fnv1a32 } from '../../fhir-server/store/fnv1a.ts';
import { rejectsWith } from './support/assert-fhir.ts';
import { countDocuments, freshStore, startCosmosFixture } from './support/cosmos.ts';
import type { CosmosFixture } from './support/cosmos.ts';

let fixture: CosmosFixture;
test.before(async () => {
  fixture = await startCosmosFixture();
});
test.after(async () => {
  await fixture?.stop();
});

test('fnv1a32 matches the reference vectors and buckets ids into 0..4095, written with four digits', () => {
  assert.is(fnv1a32(''), 0x811c9dc5);
  assert.is(fnv1a32('a'), 0xe40c292c);
  assert.is(fnv1a32('foobar'), 0xbf9cf968);
  assert.is(bucketOf('foobar'), 0xbf9cf968 % 4096);
  assert.is(partitionKeyOf('Patient', 'foobar'), `Patient|${String(0xbf9cf968 % 4096).padStart(4, '0')}`);
  assert.is(partitionKeyOf('Patient', 'a'), `Patient|${String(0xe40c292c % 4096).padStart(4, '0')}`);
});

test('create, read, update and delete keep versions, meta and a tombstone', async () => {
  const store = await freshStore(fixture);
  const created = await store.create({ resourceType: 'Patient', id: 'p1', meta: { versionId: '99', profile: ['http://x/p'] }, gender: 'female' });
  assert.is(created.outcome, 'created');
  assert.is(created.versionId, 1);
  assert.equal(created.resource!.meta, { versionId: '1', lastUpdated: created.lastUpdated, profile: ['http://x/p'] });
  assert.match(created.lastUpdated!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const read = await store.read('Patient', 'p1');
  assert.ok(read && !read.deleted);
  assert.equal(read.resource, created.resource);

  const updated = await store.update({ resourceType: 'Patient', id: 'p1', gender: 'male' }, { ifMatch: 1 });
  assert.is(updated.outcome, 'updated');
  assert.is(updated.versionId, 2);
  assert.ok(updated.lastUpdatedMs! > created.lastUpdatedMs!);

  const deleted = await store.delete('Patient', 'p1');
  assert.is(deleted.outcome, 'deleted');
  assert.is(deleted.versionId, 3);
  const gone = await store.read('Patient', 'p1');
  assert.ok(gone?.deleted);
  assert.is(gone.versionId, 3);
  assert.is((await store.delete('Patient', 'p1')).outcome, 'absent');

  const again = await store.update({ resourceType: 'Patient', id: 'p1', gender: 'other' });
  assert.is(again.outcome, 'created');
  assert.is(again.versionId, 4);
  assert.is(await store.read('Patient', 'nope'), undefined);

  // Every version stays readable, the deletion as a deletion.
  const v1 = await store.readVersion('Patient', 'p1', 1);
  assert.ok(v1 && !v1.deleted);
  assert.equal(v1.resource, created.resource);
  const v2 = await store.readVersion('Patient', 'p1', 2);
  assert.ok(v2 && !v2.deleted && v2.resource.gender === 'male');
  assert.is((await store.readVersion('Patient', 'p1', 3))?.deleted, true);
  assert.is((await store.readVersion('Patient', 'p1', 4))?.versionId, 4);
  assert.is(await store.readVersion('Patient', 'p1', 5), undefined);
  assert.is(await store.readVersion('Patient', 'p1', 0), undefined);
  const { entries } = await store.history({ resourceType: 'Patient', id: 'p1', count: 10 });
  assert.equal(entries.map((e) => [e.versionId, e.deleted]), [[4, false], [3, true], [2, false], [1, false]]);
  assert.is(await countDocuments(store), 4, 'one current document and three history copies');
});

test('If-Match on a stale version, create of an existing id: 412 and 409, nothing written', async () => {
  const store = await freshStore(fixture);
  await store.create({ resourceType: 'Observation', id: 'o1', status: 'final' });
  await store.update({ resourceType: 'Observation', id: 'o1', status: 'amended' });
  const before = await store.read('Observation', 'o1');
  await rejectsWith(store.update({ resourceType: 'Observation', id: 'o1', status: 'x' }, { ifMatch: 1 }), 'precondition-failed');
  await rejectsWith(store.delete('Observation', 'o1', { ifMatch: 1 }), 'precondition-failed');
  await rejectsWith(store.update({ resourceType: 'Observation', id: 'o2', status: 'x' }, { ifMatch: 1 }), 'precondition-failed');
  await rejectsWith(store.create({ resourceType: 'Observation', id: 'o1', status: 'x' }), 'conflict');
  const kept = await store.create({ resourceType: 'Observation', id: 'o1', status: 'x' }, { ifExists: 'keep' });
  assert.is(kept.outcome, 'kept');
  assert.is(kept.versionId, 2);
  assert.equal(await store.read('Observation', 'o1'), before);
  assert.is(await countDocuments(store), 2, 'version 2 and the history copy of version 1');
});

test('the document carries pk, bucket, compartments and the resource exactly as read', async () => {
  const store = await freshStore(fixture);
  await store.create({
    resourceType: 'Observation',
    id: 'obs-1',
    status: 'final',
    subject: { reference: 'Patient/p1' },
    performer: [{ reference: 'Practitioner/dr' }, { reference: 'Patient/p2' }],
  });
  await store.create({ resourceType: 'Patient', id: 'p1', link: [{ other: { reference: 'Patient/p0' }, type: 'seealso' }] });
  await store.create({ resourceType: 'Group', id: 'g1', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/p1' } }, { entity: { reference: 'Patient/p2' }, inactive: true }] });
  const { resource: doc } = await store.container.item('obs-1', partitionKeyOf('Observation', 'obs-1')).read<ResourceDocument>();
  assert.ok(doc);
  assert.is(doc.pk, `Observation|${String(bucketOf('obs-1')).padStart(4, '0')}`);
  assert.is(doc.rid, 'obs-1');
  assert.is(doc.layout, 2);
  assert.is(doc.bucket, bucketOf('obs-1'));
  assert.is(doc.resourceType, 'Observation');
  assert.is(doc.versionId, 1);
  assert.is(doc.deleted, false);
  assert.is(doc.lastUpdatedMs, Date.parse(doc.lastUpdated));
  assert.equal(doc.compartments, ['Patient/p1', 'Patient/p2']);
  const read = await store.read('Observation', 'obs-1');
  assert.equal(doc.resource, read && !read.deleted ? read.resource : undefined);

  const { resource: patient } = await store.container.item('p1', partitionKeyOf('Patient', 'p1')).read<ResourceDocument>();
  assert.equal(patient?.compartments, ['Patient/p0', 'Patient/p1']);
  assert.equal(await store.getGroupMembers('g1'), ['Patient/p1']);
  assert.is(await store.getGroupMembers('nope'), undefined);
  assert.equal(await store.listResourceTypes(), ['Group', 'Observation', 'Patient']);

  await store.delete('Observation', 'obs-1');
  const { resource: tomb } = await store.container.item('obs-1', partitionKeyOf('Observation', 'obs-1')).read<ResourceDocument>();
  assert.is(tomb?.deleted, true);
  assert.is(tomb?.resource, undefined);
  assert.equal(tomb?.deletedResource, doc.resource, 'a deletion keeps the version it deleted');
  assert.equal(tomb?.compartments, ['Patient/p1', 'Patient/p2']);
  const { resource: copy } = await store.container.item('obs-1@1', partitionKeyOf('Observation', 'obs-1')).read<ResourceDocument>();
  assert.equal(copy?.resource, doc.resource);
  assert.is(copy?.endMs, tomb?.lastUpdatedMs, 'the history copy ends when the deletion was written');
});

test('findByIdentifier and findTypesOfIds see live resources only', async () => {
  const store = await freshStore(fixture);
  await store.create({ resourceType: 'Organization', id: 'org1', identifier: [{ system: 'urn:s', value: 'v1' }] });
  await store.create({ resourceType: 'Organization', id: 'org2', identifier: [{ system: 'urn:t', value: 'v1' }] });
  await store.create({ resourceType: 'Practitioner', id: 'pr1', identifier: [{ system: 'urn:s', value: 'v1' }] });
  assert.equal(await store.findByIdentifier('Organization', 'urn:s', 'v1'), ['org1']);
  assert.equal(await store.findByIdentifier('Organization', undefined, 'v1'), ['org1', 'org2']);
  await store.delete('Organization', 'org2');
  assert.equal(await store.findByIdentifier('Organization', undefined, 'v1'), ['org1']);
  const types = await store.findTypesOfIds(['org1', 'org2', 'pr1', 'zz']);
  assert.equal([...types].sort(), [['org1', 'Organization'], ['pr1', 'Practitioner']]);
});

test('bulkUpsert creates new ids as version 1 and versions existing ones', async () => {
  const store = await freshStore(fixture);
  await store.create({ resourceType: 'Patient', id: 'b5', gender: 'male' });
  const resources = Array.from({ length: 250 }, (_, i) => ({ resourceType: 'Patient', id: `b${i}`, gender: 'female' }));
  const progress: number[] = [];
  const result = await store.bulkUpsert(resources, { concurrency: 3, onProgress: (n) => progress.push(n) });
  assert.equal(result, { created: 249, updated: 1, failed: [] });
  assert.is(progress.at(-1), 250);
  assert.is(await countDocuments(store), 251, '250 current versions and the history copy of b5 version 1');
  const b5 = await store.read('Patient', 'b5');
  assert.ok(b5 && !b5.deleted);
  assert.is(b5.versionId, 2);
  assert.is(b5.resource.gender, 'female');
  const b7 = await store.read('Patient', 'b7');
  assert.is(b7?.versionId, 1);
});

test.run();
