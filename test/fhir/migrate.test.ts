/**
 * Data written by an earlier release (layout 1: container `resources`, 16
 * buckets, current versions and deletions only): the store refuses to open it
 * and names the command; `npm run migrate-store` (run as a process) copies it
 * into layout 2 with versions, instants and resources unchanged; the store then
 * opens, reads, writes new versions on top and exports it; a second run changes
 * nothing.
 */
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fnv1a32 } from '../../fhir-server/store/fnv1a.ts';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { LegacyLayoutError } from '../../fhir-server/store/legacy.ts';
import { startCosmosFixture } from './support/cosmos.ts';
import type { CosmosFixture } from './support/cosmos.ts';

let fixture: CosmosFixture;
test.before(async () => {
  fixture = await startCosmosFixture();
});
test.after(async () => {
  await fixture?.stop();
});

/** A layout-1 document as the previous release wrote it (document.ts before layout 2). */
function legacyDocument(resourceType: string, id: string, versionId: number, lastUpdatedMs: number, body?: Record<string, unknown>) {
  const lastUpdated = new Date(lastUpdatedMs).toISOString();
  const resource = body ? { resourceType, id, meta: { versionId: String(versionId), lastUpdated }, ...body } : undefined;
  return {
    id,
    pk: `${resourceType}|${fnv1a32(id) % 16}`,
    resourceType,
    bucket: fnv1a32(id) % 16,
    versionId,
    lastUpdated,
    lastUpdatedMs,
    deleted: !body,
    compartments: resourceType === 'Patient' ? [`Patient/${id}`] : body?.subject ? [String((body.subject as { reference: string }).reference)] : [],
    identifiers: [],
    ...(resource ? { resource } : {}),
  };
}

function migrate(databaseId: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'fhir-server/store/migrate-main.ts', '--database', databaseId], {
      env: { ...process.env, FHIR_COSMOS_ENDPOINT: fixture.cosmos.endpoint, FHIR_COSMOS_KEY: fixture.cosmos.key, FHIR_TRUST_CA_FILE: fixture.caFile },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('a layout-1 store is refused until migrated, then reads, versions and exports as before', async () => {
  const databaseId = 'legacy-store';
  await fixture.client.databases.createIfNotExists({ id: databaseId });
  const { container } = await fixture.client.database(databaseId).containers.createIfNotExists({ id: 'resources', partitionKey: { paths: ['/pk'] } });
  const t0 = Date.parse('2025-03-01T10:00:00.000Z');
  const legacy = [
    ...Array.from({ length: 40 }, (_, i) => legacyDocument('Patient', `lp${i}`, 1 + (i % 3), t0 + i * 1000, { gender: i % 2 ? 'male' : 'female' })),
    ...Array.from({ length: 60 }, (_, i) => legacyDocument('Observation', `lo${i}`, 1, t0 + i * 500, { status: 'final', code: { text: `o${i}` }, subject: { reference: `Patient/lp${i % 40}` } })),
    legacyDocument('Observation', 'gone', 2, t0 + 99_000),
  ];
  for (const doc of legacy) await container.items.create(doc);

  const refusal = await openCosmosResourceStore(fixture.client, { databaseId }).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(refusal instanceof LegacyLayoutError, String(refusal));
  assert.match((refusal as Error).message, /101 documents .*npm run migrate-store/);

  const run = await migrate(databaseId);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, /migrated 100 resources and 1 deletions/);

  const store = await openCosmosResourceStore(fixture.client, { databaseId });
  for (const doc of legacy.filter((d) => !d.deleted)) {
    const read = await store.read(doc.resourceType, doc.id);
    assert.ok(read && !read.deleted, `${doc.resourceType}/${doc.id}`);
    assert.is(read.versionId, doc.versionId);
    assert.is(read.lastUpdatedMs, doc.lastUpdatedMs);
    assert.equal(read.resource, doc.resource, 'the resource byte for byte, meta included');
  }
  assert.is((await store.read('Observation', 'gone'))?.deleted, true);
  assert.is(await store.count({ resourceType: 'Observation', compartments: ['Patient/lp3'] }), 2, 'compartments computed anew');
  const updated = await store.update({ resourceType: 'Patient', id: 'lp2', gender: 'other' });
  assert.is(updated.versionId, 4, 'new versions follow the migrated one');
  assert.is((await store.readVersion('Patient', 'lp2', 3))?.versionId, 3, 'the migrated version is history now');
  const exported = await store.queryForExport({ resourceType: 'Patient', pageSize: 100, asOfMs: t0 + 10 * 1000 });
  assert.is(exported.items.length, 11, 'the state at an instant before the migration is what layout 1 held then');

  const again = await migrate(databaseId);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /migrated already/);
  assert.is((await store.read('Patient', 'lp2'))?.versionId, 4, 'a second run changes nothing');
});

test('the migration refuses while export jobs are queued or running', async () => {
  const databaseId = 'legacy-busy';
  await fixture.client.databases.createIfNotExists({ id: databaseId });
  const { container } = await fixture.client.database(databaseId).containers.createIfNotExists({ id: 'resources', partitionKey: { paths: ['/pk'] } });
  await container.items.create(legacyDocument('Patient', 'x', 1, Date.now(), { gender: 'male' }));
  const { container: jobs } = await fixture.client.database(databaseId).containers.createIfNotExists({ id: 'exportJobs', partitionKey: { paths: ['/id'] } });
  await jobs.items.create({ id: 'job-1', docType: 'export-job', status: 'running' });
  const run = await migrate(databaseId);
  assert.is(run.code, 1);
  assert.match(run.stderr, /1 export jobs are queued or running/);
});

test.run();
