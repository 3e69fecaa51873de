/**
 * The Cosmos DB stand-in driven by the real `@azure/cosmos` SDK through
 * `createCosmosClient`: containers, item CRUD, optimistic concurrency, the queries
 * a FHIR store needs, and paging through more than 20,000 documents.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Container, CosmosClient, ErrorResponse, JSONObject } from '@azure/cosmos';
import { ensureLocalTls } from '../../dev/certs.ts';
import { startCosmos } from '../../dev/cosmos/server.ts';
import type { RunningCosmos } from '../../dev/cosmos/server.ts';
import { insertMany, pageThrough } from '../../dev/cosmos/load.ts';
import { createCosmosClient, ensureContainer } from '../../common/cosmos.ts';

const DB = 'stand-in-test';
const LARGE = 21_000;
const SMALL = 2_100;
const PAGE = 100;

let cosmos: RunningCosmos;
let client: CosmosClient;
let resources: Container;
let large: Container;
let small: Container;
let pagingIsQuadratic = false;

interface Doc extends JSONObject {
  id: string;
  pk: string;
  n: number;
}

const makeDoc = (i: number): Doc => ({ id: `doc-${String(i).padStart(6, '0')}`, pk: `p${i % 32}`, n: i });

async function statusOf(call: Promise<unknown>): Promise<number | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    return (err as ErrorResponse).code as number | undefined;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Times the first `pages` pages of `SELECT * FROM c` (after one warm-up page); returns the median ms per page. */
async function medianPageMs(container: Container, pages: number): Promise<number> {
  const iterator = container.items.query<Doc>('SELECT * FROM c', { maxItemCount: PAGE });
  await iterator.fetchNext();
  const times: number[] = [];
  for (let i = 0; i < pages && iterator.hasMoreResults(); i += 1) {
    const t = performance.now();
    await iterator.fetchNext();
    times.push(performance.now() - t);
  }
  return median(times);
}

test.before(async () => {
  const tls = await ensureLocalTls();
  cosmos = await startCosmos({ tls });
  client = createCosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, caPem: tls.caPem });
});

test.after(async () => {
  client?.dispose();
  await cosmos?.stop();
});

test('serves HTTPS on loopback with the emulator key', () => {
  assert.match(cosmos.endpoint, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  assert.is(cosmos.key.length, 88);
});

test('creates a database and a partitioned container, idempotently', async () => {
  resources = await ensureContainer(client, DB, 'resources', '/pk');
  const again = await ensureContainer(client, DB, 'resources', '/pk');
  const { resource } = await again.read();
  assert.equal(resource?.partitionKey?.paths, ['/pk']);
  const { resources: dbs } = await client.databases.readAll().fetchAll();
  assert.ok(dbs.some((d) => d.id === DB));
});

test('item CRUD: create, read, replace, upsert, delete, read missing', async () => {
  const created = await resources.items.create({ id: 'a', pk: 'P1', resourceType: 'Patient', v: 1 });
  assert.is(created.statusCode, 201);
  assert.type(created.resource?._etag, 'string');
  assert.type(created.resource?._ts, 'number');

  const read = await resources.item('a', 'P1').read();
  assert.is(read.statusCode, 200);
  assert.is(read.resource.v, 1);
  assert.is(read.etag, created.resource?._etag);

  const replaced = await resources.item('a', 'P1').replace({ ...read.resource, v: 2 });
  assert.is(replaced.statusCode, 200);
  assert.is(replaced.resource?.v, 2);
  assert.is.not(replaced.resource?._etag, created.resource?._etag, 'etag changes on every write');

  const upsertExisting = await resources.items.upsert({ id: 'a', pk: 'P1', resourceType: 'Patient', v: 3 });
  assert.is(upsertExisting.statusCode, 200);
  assert.is.not(upsertExisting.resource?._etag, replaced.resource?._etag);
  const upsertNew = await resources.items.upsert({ id: 'b', pk: 'P1', v: 1 });
  assert.is(upsertNew.statusCode, 201);

  assert.is(await statusOf(resources.items.create({ id: 'a', pk: 'P1' })), 409, 'duplicate id in a partition');

  const deleted = await resources.item('b', 'P1').delete();
  assert.is(deleted.statusCode, 204);
  const gone = await resources.item('b', 'P1').read();
  assert.is(gone.statusCode, 404);
  assert.is(gone.resource, undefined);
  const missing = await resources.item('never-there', 'P1').read();
  assert.is(missing.statusCode, 404);
});

test('a write with a stale etag is rejected with 412; with the current one it succeeds', async () => {
  const { resource: first } = await resources.items.create({ id: 'lease', pk: 'jobs', owner: null });
  const stale = first!._etag;
  const won = await resources
    .item('lease', 'jobs')
    .replace({ id: 'lease', pk: 'jobs', owner: 'w1' }, { accessCondition: { type: 'IfMatch', condition: stale } });
  assert.is(won.statusCode, 200);
  const lost = resources
    .item('lease', 'jobs')
    .replace({ id: 'lease', pk: 'jobs', owner: 'w2' }, { accessCondition: { type: 'IfMatch', condition: stale } });
  assert.is(await statusOf(lost), 412);
  assert.is(await statusOf(resources.item('lease', 'jobs').delete({ accessCondition: { type: 'IfMatch', condition: stale } })), 412);
  const { resource: now } = await resources.item('lease', 'jobs').read();
  assert.is(now.owner, 'w1');
});

test('parameterised query', async () => {
  const { resources: rows } = await resources.items
    .query<{ id: string }>({
      query: 'SELECT c.id FROM c WHERE c.pk = @pk AND c.v >= @min',
      parameters: [
        { name: '@pk', value: 'P1' },
        { name: '@min', value: 3 },
      ],
    })
    .fetchAll();
  assert.equal(rows, [{ id: 'a' }]);
});

test('FHIR store queries: type + _ts ORDER BY with continuation, ARRAY_CONTAINS, IS_DEFINED', async () => {
  const fhir = await ensureContainer(client, DB, 'fhir', '/pk');
  const types = ['Patient', 'Observation', 'Encounter'];
  for (let i = 0; i < 30; i += 1) {
    await fhir.items.create({
      id: `r${i}`,
      pk: `Patient/p${i % 3}`,
      resourceType: types[i % 3]!,
      seq: i,
      compartments: [`Patient/p${i % 3}`, `Practitioner/d${i % 2}`],
      ...(i % 5 === 0 ? { deleted: true } : {}),
    });
  }
  const all = async (query: string, parameters: { name: string; value: string | number }[] = []) => {
    const run = await pageThrough(fhir.items.query<{ id: string }>({ query, parameters }, { maxItemCount: 4 }));
    return [...run.ids.keys()];
  };
  const { resource: r0 } = await fhir.item('r0', 'Patient/p0').read();
  const byType = await all('SELECT * FROM c WHERE c.resourceType = @t AND c._ts >= @x ORDER BY c._ts', [
    { name: '@t', value: 'Observation' },
    { name: '@x', value: r0._ts },
  ]);
  assert.equal(byType.sort(), ['r1', 'r10', 'r13', 'r16', 'r19', 'r22', 'r25', 'r28', 'r4', 'r7']);
  const desc = await all('SELECT * FROM c WHERE c.resourceType = @t ORDER BY c.seq DESC', [{ name: '@t', value: 'Patient' }]);
  assert.equal(desc, ['r27', 'r24', 'r21', 'r18', 'r15', 'r12', 'r9', 'r6', 'r3', 'r0']);
  const inCompartment = await all('SELECT * FROM c WHERE ARRAY_CONTAINS(c.compartments, @p) AND c.seq < 10', [
    { name: '@p', value: 'Patient/p1' },
  ]);
  assert.equal(inCompartment, ['r1', 'r4', 'r7']);
  assert.equal(await all('SELECT * FROM c WHERE IS_DEFINED(c.deleted) AND c.seq < 12'), ['r0', 'r5', 'r10']);
  assert.is((await all('SELECT * FROM c WHERE NOT IS_DEFINED(c.deleted)')).length, 24);

  // A continuation token handed out with one page resumes in a new iterator.
  const first = await fhir.items.query('SELECT * FROM c ORDER BY c.seq', { maxItemCount: 7 }).fetchNext();
  assert.ok(first.continuationToken);
  const rest = await pageThrough(
    fhir.items.query<{ id: string }>('SELECT * FROM c ORDER BY c.seq', { maxItemCount: 7, continuationToken: first.continuationToken }),
  );
  assert.is(first.resources.length + rest.count, 30);
  assert.is(rest.ids.has('r0'), false);
});

test(`bulk-inserts ${LARGE} and ${SMALL} documents`, async () => {
  large = await ensureContainer(client, DB, 'paging-large', '/pk');
  small = await ensureContainer(client, DB, 'paging-small', '/pk');
  await insertMany(large, LARGE, makeDoc, (d) => d.pk);
  await insertMany(small, SMALL, makeDoc, (d) => d.pk);
  const { resources: counts } = await large.items.query<number>('SELECT VALUE COUNT(1) FROM c').fetchAll();
  assert.equal(counts, [LARGE]);
});

test('ORDER BY _ts pages correctly through many equal timestamps', async () => {
  const run = await pageThrough(small.items.query<Doc>('SELECT * FROM c ORDER BY c._ts', { maxItemCount: PAGE }));
  assert.is(run.count, SMALL);
  assert.is(run.ids.size, SMALL);
});

test('time per page grows about linearly with the container, not with its square', async () => {
  // Every page re-runs the query over the whole container, so a page costs O(N)
  // at best. With the query engine copying an array per document it costs O(N²):
  // 10x the documents then makes pages about 100x slower instead of about 10x.
  const smallMs = await medianPageMs(small, 10);
  const largeMs = await medianPageMs(large, 10);
  const ratio = largeMs / Math.max(smallMs, 1);
  pagingIsQuadratic = ratio >= 30;
  assert.ok(
    !pagingIsQuadratic,
    `per-page time ${smallMs.toFixed(1)} ms at ${SMALL} documents, ${largeMs.toFixed(1)} ms at ${LARGE} (${ratio.toFixed(1)}x for ${LARGE / SMALL}x the documents)`,
  );
});

test(`pages through ${LARGE} documents with maxItemCount ${PAGE}: every id exactly once`, async () => {
  assert.ok(!pagingIsQuadratic, 'not walking the whole container: paging is quadratic (see the previous test)');
  const run = await pageThrough(large.items.query<Doc>('SELECT * FROM c', { maxItemCount: PAGE }));
  assert.is(run.count, LARGE);
  assert.is(run.ids.size, LARGE);
  const repeated = [...run.ids].filter(([, seen]) => seen !== 1);
  assert.equal(repeated, [], 'ids seen more than once');
  for (let i = 0; i < LARGE; i += 1) if (!run.ids.has(makeDoc(i).id)) assert.unreachable(`missing ${makeDoc(i).id}`);
  assert.is(run.pageMs.length, LARGE / PAGE);
  // Late pages must not cost more than early ones (no per-position rescans).
  const early = median(run.pageMs.slice(1, 11));
  const late = median(run.pageMs.slice(-10));
  assert.ok(late / early < 5, `first pages ${early.toFixed(1)} ms, last pages ${late.toFixed(1)} ms`);
});

test.run();
