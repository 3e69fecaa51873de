/**
 * The Cosmos DB stand-in's transactional batch and partition-key range pruning,
 * through the real `@azure/cosmos` SDK: an atomic batch applies every operation
 * or none (as Azure's does, answering 207 with the failing operation's status and
 * 424 for the others), and range or prefix conditions on the partition key return
 * exactly the rows of a full scan.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Container, CosmosClient, OperationInput } from '@azure/cosmos';
import { ensureLocalTls } from '../../dev/certs.ts';
import { startCosmos } from '../../dev/cosmos/server.ts';
import type { RunningCosmos } from '../../dev/cosmos/server.ts';
import { createCosmosClient, ensureContainer } from '../../common/cosmos.ts';

let cosmos: RunningCosmos;
let client: CosmosClient;
let docs: Container;

test.before(async () => {
  const tls = await ensureLocalTls();
  cosmos = await startCosmos({ tls });
  client = createCosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, caPem: tls.caPem });
  docs = await ensureContainer(client, 'batch-test', 'docs', '/pk');
});

test.after(async () => {
  client?.dispose();
  await cosmos?.stop();
});

async function all(container: Container, pk: string): Promise<Array<{ id: string; n: number }>> {
  const { resources } = await container.items
    .query<{ id: string; n: number }>({ query: 'SELECT c.id, c.n FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: pk }] })
    .fetchAll();
  return resources.sort((a, b) => a.id.localeCompare(b.id));
}

test('an atomic batch whose last operation fails leaves every document as it was', async () => {
  const pk = 'atomic-1';
  const { resource: a } = await docs.items.create({ id: 'a', pk, n: 1 });
  await docs.items.create({ id: 'b', pk, n: 1 });
  const before = await all(docs, pk);
  const operations: OperationInput[] = [
    { operationType: 'Upsert', resourceBody: { id: 'h', pk, n: 9 } },
    { operationType: 'Replace', id: 'a', partitionKey: pk, resourceBody: { id: 'a', pk, n: 2 }, ifMatch: a!._etag },
    { operationType: 'Delete', id: 'b', partitionKey: pk },
    { operationType: 'Create', resourceBody: { id: 'a', pk, n: 3 } }, // 409: 'a' exists
  ];
  const response = await docs.items.batch(operations, pk);
  assert.is(response.code, 207);
  assert.equal(
    response.result!.map((r) => r.statusCode),
    [424, 424, 424, 409],
  );
  assert.equal(await all(docs, pk), before);
  const { resource: still } = await docs.item('a', pk).read();
  assert.is(still!._etag, a!._etag, 'the etag is the one from before the batch');
});

test('an atomic batch with a stale etag changes nothing, and with the current one applies everything', async () => {
  const pk = 'atomic-2';
  const { resource: current } = await docs.items.create({ id: 'r', pk, n: 1 });
  await docs.item('r', pk).replace({ id: 'r', pk, n: 2 }); // the etag read above is now stale
  const stale: OperationInput[] = [
    { operationType: 'Create', resourceBody: { id: 'r@1', pk, n: 1 } },
    { operationType: 'Replace', id: 'r', partitionKey: pk, resourceBody: { id: 'r', pk, n: 3 }, ifMatch: current!._etag },
  ];
  const refused = await docs.items.batch(stale, pk);
  assert.equal(
    refused.result!.map((r) => r.statusCode),
    [424, 412],
  );
  assert.equal(await all(docs, pk), [{ id: 'r', n: 2 }]);
  const { resource: now } = await docs.item('r', pk).read();
  const fresh: OperationInput[] = [
    { operationType: 'Create', resourceBody: { id: 'r@2', pk, n: 2 } },
    { operationType: 'Replace', id: 'r', partitionKey: pk, resourceBody: { id: 'r', pk, n: 3 }, ifMatch: now!._etag },
  ];
  const applied = await docs.items.batch(fresh, pk);
  assert.equal(
    applied.result!.map((r) => r.statusCode),
    [201, 200],
  );
  assert.equal(await all(docs, pk), [
    { id: 'r', n: 3 },
    { id: 'r@2', n: 2 },
  ]);
});

test('range and prefix conditions on the partition key return the rows of a full scan', async () => {
  const ranged = await ensureContainer(client, 'batch-test', 'ranged', '/pk');
  const pks = ['T|0000', 'T|0001', 'T|0010', 'T|0100', 'T|1000', 'U|0000', 'U|0500', 'Tz|0003'];
  await Promise.all(pks.flatMap((pk, i) => [0, 1, 2].map((j) => ranged.items.create({ id: `d${i}-${j}`, pk, n: i * 10 + j }))));
  await ranged.items.create({ id: 'numeric', pk: 7, n: -1 });
  const cases: Array<[string, Array<{ name: string; value: string }>]> = [
    ['c.pk >= @lo AND c.pk < @hi', [{ name: '@lo', value: 'T|0001' }, { name: '@hi', value: 'T|0100' }]],
    ['c.pk > @lo AND c.pk <= @hi', [{ name: '@lo', value: 'T|0001' }, { name: '@hi', value: 'T|1000' }]],
    ['@lo <= c.pk AND c.n >= 0', [{ name: '@lo', value: 'U' }]],
    ['STARTSWITH(c.pk, @prefix)', [{ name: '@prefix', value: 'T|' }]],
    ['STARTSWITH(c.pk, @prefix) AND c.pk < @hi', [{ name: '@prefix', value: 'T' }, { name: '@hi', value: 'T|0010' }]],
  ];
  for (const [where, parameters] of cases) {
    const pruned = await ranged.items.query<{ n: number }>({ query: `SELECT VALUE c.n FROM c WHERE ${where}`, parameters }).fetchAll();
    const full = await ranged.items.query<{ n: number }>({ query: `SELECT VALUE c.n FROM c WHERE (${where}) OR false`, parameters }).fetchAll();
    const sort = (xs: unknown[]) => [...xs].sort((a, b) => Number(a) - Number(b));
    assert.ok(full.resources.length > 0, `${where} matches something`);
    assert.equal(sort(pruned.resources), sort(full.resources), where);
  }
});

test.run();
