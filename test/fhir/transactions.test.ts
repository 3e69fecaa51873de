/**
 * All-or-nothing transactions in the store: a failing op leaves every document
 * as it was, whether it fails in the checks, in the middle of the writes, or
 * because the process dies (then recovery rolls the journal back).
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FhirError } from '../../fhir-server/fhir/errors.ts';
import type { CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { startTransactionRecovery } from '../../fhir-server/store/recovery.ts';
import type { RecoveryReport, WriteOp } from '../../fhir-server/store/resource-store.ts';
import { rejectsWith } from './support/assert-fhir.ts';
import { freshStore, snapshot, startCosmosFixture } from './support/cosmos.ts';
import type { CosmosFixture } from './support/cosmos.ts';

let fixture: CosmosFixture;
test.before(async () => {
  fixture = await startCosmosFixture();
});
test.after(async () => {
  await fixture?.stop();
});

/** Seeds three patients (p2 at version 2) and returns five ops over them and two new resources. */
async function seeded(store: CosmosResourceStore): Promise<WriteOp[]> {
  for (const id of ['p1', 'p2', 'p3']) await store.create({ resourceType: 'Patient', id, gender: 'unknown' });
  await store.update({ resourceType: 'Patient', id: 'p2', gender: 'female' });
  return [
    { op: 'update', resource: { resourceType: 'Patient', id: 'p1', gender: 'male' } },
    { op: 'create', resource: { resourceType: 'Observation', id: 'o1', status: 'final', subject: { reference: 'Patient/p1' } } },
    { op: 'update', resource: { resourceType: 'Patient', id: 'p2', gender: 'other' }, ifMatch: 2 },
    { op: 'delete', resourceType: 'Patient', id: 'p3' },
    { op: 'create', resource: { resourceType: 'Encounter', id: 'e1', status: 'finished', subject: { reference: 'Patient/p2' } } },
  ];
}

async function journals(store: CosmosResourceStore): Promise<{ state: string }[]> {
  const system = store.container.database.container('system');
  const { resources } = await system.items.query<{ state: string }>("SELECT c.state FROM c WHERE c.kind = 'transaction'").fetchAll();
  return resources;
}

async function beforeImages(store: CosmosResourceStore): Promise<number> {
  const { resources } = await store.container.database.container('system').items.query<number>("SELECT VALUE COUNT(1) FROM c WHERE c.kind = 'before-image'").fetchAll();
  return resources[0] ?? 0;
}

test('a transaction applies every op and commits its journal', async () => {
  const store = await freshStore(fixture);
  const ops = await seeded(store);
  const results = await store.transaction(ops);
  assert.equal(results.map((r) => r.outcome), ['updated', 'created', 'updated', 'deleted', 'created']);
  assert.equal(results.map((r) => r.versionId), [2, 1, 3, 2, 1]);
  assert.is(new Set(results.map((r) => r.lastUpdated)).size, 1, 'one transaction time');
  assert.ok((await store.read('Patient', 'p3'))?.deleted);
  assert.equal(await journals(store), [{ state: 'committed' }]);
  assert.is(await beforeImages(store), 0, 'before-images are dropped on commit');
});

test('an If-Match conflict on op 3 of 5 fails before any write: store exactly as before', async () => {
  const store = await freshStore(fixture);
  const ops = await seeded(store);
  ops[2] = { op: 'update', resource: { resourceType: 'Patient', id: 'p2', gender: 'other' }, ifMatch: 1 };
  const before = await snapshot(store);
  const error = await rejectsWith(store.transaction(ops), 'precondition-failed');
  assert.is(error.index, 2);
  assert.equal(await snapshot(store), before);
  assert.equal(await journals(store), []);
});

test('a failure in the middle of the writes rolls back what was written: store exactly as before', async () => {
  let written: unknown[] = [];
  const failing = await freshStore(fixture, {
    concurrency: 1,
    hooks: {
      async beforeWrite(index) {
        if (index !== 2) return;
        written = [await failing.read('Patient', 'p1'), await failing.read('Observation', 'o1')];
        throw new FhirError('unavailable', 'connection lost (injected)');
      },
    },
  });
  const ops = await seeded(failing);
  const before = await snapshot(failing);
  const error = await rejectsWith(failing.transaction(ops), 'unavailable');
  assert.is(error.index, 2);
  assert.equal(written.map((r) => (r as { versionId: number }).versionId), [2, 1], 'ops 1 and 2 had been written');
  assert.equal(await snapshot(failing), before);
  assert.equal(await journals(failing), [{ state: 'rolled-back' }]);
  assert.is(await beforeImages(failing), 0);
});

test('a concurrent write that beats op 3 makes the transaction roll back; the other write stays', async () => {
  let racer: CosmosResourceStore | undefined;
  const store = await freshStore(fixture, {
    concurrency: 1,
    hooks: {
      async beforeWrite(index) {
        if (index === 2) await racer!.update({ resourceType: 'Patient', id: 'p2', gender: 'male' });
      },
    },
  });
  racer = store;
  const ops = await seeded(store);
  const before = await snapshot(store);
  const error = await rejectsWith(store.transaction(ops), 'conflict');
  assert.is(error.index, 2);
  const after = await snapshot(store);
  const p2 = after.find((d) => d.id === 'p2')!;
  assert.is(p2.versionId, 3);
  assert.is(p2.resource?.gender, 'male');
  assert.equal(after.filter((d) => d.rid !== 'p2'), before.filter((d) => d.rid !== 'p2'));
});

function crashChild(databaseId: string, ops: WriteOp[], crashAt: number, timeoutMs?: number): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fhir/support/crash-child.ts'], {
      env: {
        ...process.env,
        COSMOS_ENDPOINT: fixture.cosmos.endpoint,
        COSMOS_KEY: fixture.cosmos.key,
        COSMOS_CA: fixture.caPem,
        DATABASE_ID: databaseId,
        CRASH_AT: String(crashAt),
        OPS: JSON.stringify(ops),
        ...(timeoutMs ? { TIMEOUT_MS: String(timeoutMs) } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

test('a process that dies mid-transaction leaves a journal that recovery rolls back', async () => {
  const store = await freshStore(fixture);
  const ops = await seeded(store);
  const before = await snapshot(store);
  const databaseId = store.container.database.id;
  const child = await crashChild(databaseId, ops, 3);
  assert.is(child.signal, 'SIGKILL', child.output);
  assert.not.equal(await snapshot(store), before, 'the dead process had written ops 1-3');
  assert.ok((await store.read('Observation', 'o1')) !== undefined);
  assert.equal(await journals(store), [{ state: 'applying' }]);

  const early = await store.recoverTransactions();
  assert.equal(early, { rolledBack: 0, inProgress: 1, skipped: 0 }, 'a journal within its deadline may belong to a live process');
  const report = await store.recoverTransactions({ now: Date.now() + 10 * 60_000 });
  assert.equal(report, { rolledBack: 1, inProgress: 0, skipped: 0 });
  assert.equal(await snapshot(store), before);
  assert.equal(await journals(store), [{ state: 'rolled-back' }]);
  assert.is(await beforeImages(store), 0);
});

test('recovery leaves alone a document a later write replaced, and restores the rest', async () => {
  const store = await freshStore(fixture);
  const ops = await seeded(store);
  const before = await snapshot(store);
  const child = await crashChild(store.container.database.id, ops, 3);
  assert.is(child.signal, 'SIGKILL', child.output);
  await store.update({ resourceType: 'Patient', id: 'p1', gender: 'female' });
  const report = await store.recoverTransactions({ now: Date.now() + 10 * 60_000 });
  assert.equal(report, { rolledBack: 1, inProgress: 0, skipped: 1 });
  const after = await snapshot(store);
  const p1 = after.find((d) => d.id === 'p1')!;
  assert.is(p1.resource?.gender, 'female');
  assert.is(p1.versionId, 3);
  assert.equal(after.filter((d) => d.rid !== 'p1'), before.filter((d) => d.rid !== 'p1'));
});

test('the start-up recovery pass rolls back a dead transaction once its deadline has passed', async () => {
  const store = await freshStore(fixture);
  const ops = await seeded(store);
  const before = await snapshot(store);
  const child = await crashChild(store.container.database.id, ops, 2, 300);
  assert.is(child.signal, 'SIGKILL', child.output);
  await sleep(400);
  const reports: RecoveryReport[] = [];
  const loop = startTransactionRecovery(store, { intervalMs: 0, onReport: (r) => reports.push(r) });
  assert.equal(await loop.first, { rolledBack: 1, inProgress: 0, skipped: 0 });
  loop.stop();
  assert.is(reports.length, 1);
  assert.equal(await snapshot(store), before);
});

test('the same target twice in one transaction is refused before anything is written', async () => {
  const store = await freshStore(fixture);
  await seeded(store);
  const before = await snapshot(store);
  const error = await rejectsWith(
    store.transaction([
      { op: 'update', resource: { resourceType: 'Patient', id: 'p1', gender: 'male' } },
      { op: 'delete', resourceType: 'Patient', id: 'p1' },
    ]),
    'invalid',
  );
  assert.is(error.index, 1);
  assert.equal(await snapshot(store), before);
});

test.run();
