/**
 * Partition pruning in the Cosmos DB stand-in: a query whose WHERE clause pins the
 * partition key (`c.pk = v`, `c.pk IN (...)`) or whose request names a partition
 * only reads those partitions, and returns exactly what reading every document
 * returns. Driven by the real `@azure/cosmos` SDK; expectations are computed in JS
 * from a model of the container, and every pruned query is also compared with the
 * same query made unprunable by a top-level `OR false`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import type { Container, CosmosClient, FeedOptions, SqlParameter } from '@azure/cosmos';
import { ensureLocalTls } from '../../dev/certs.ts';
import { startCosmos } from '../../dev/cosmos/server.ts';
import type { RunningCosmos } from '../../dev/cosmos/server.ts';
import { insertMany } from '../../dev/cosmos/load.ts';
import { createCosmosClient, ensureContainer } from '../../common/cosmos.ts';
import { loud } from '../support/hooks.ts';
import { buildModel, type Doc, type Model } from './cosmos-pruning-model.ts';

const require = createRequire(import.meta.url);
const parse = (require('@zeit/cosmosdb-query') as { default: (sql: string) => { ast: unknown } }).default;
const { partitionValuesOf } = require('@vercel/cosmosdb-server/lib/account/partition-filter.js') as {
  partitionValuesOf(ast: unknown, pathKeys: string[], parameters?: SqlParameter[]): unknown[] | null;
};

let cosmos: RunningCosmos;
let client: CosmosClient;
let container: Container;
let model: Model;

type Row = { id: string };

/** Every row of a query, page by page (`maxItemCount` 37), failing on a repeated id. */
async function rows(query: string, parameters: SqlParameter[] = [], options: FeedOptions = {}): Promise<string[]> {
  const iterator = container.items.query<Row>({ query, parameters }, { maxItemCount: 37, ...options });
  const ids: string[] = [];
  try {
    while (iterator.hasMoreResults()) ids.push(...(await iterator.fetchNext()).resources.map((r) => r.id));
  } catch (err) {
    const e = err as { code?: unknown; message?: string };
    throw new Error(`query failed (${String(e.code)}): ${e.message} — ${query}`);
  }
  assert.is(new Set(ids).size, ids.length, `no id twice: ${query}`);
  return ids;
}

/** Runs `SELECT <select> FROM c WHERE <where> <orderBy>` pruned and unpruned and checks both against `expected`. */
async function check(
  where: string,
  parameters: SqlParameter[],
  matches: (d: Doc) => boolean,
  { orderBy = '', order }: { orderBy?: string; order?: (a: Doc, b: Doc) => number } = {},
): Promise<void> {
  const pruned = await rows(`SELECT c.id FROM c WHERE ${where} ${orderBy}`, parameters);
  const unpruned = await rows(`SELECT c.id FROM c WHERE (${where}) OR false ${orderBy}`, parameters);
  assert.equal(pruned, unpruned, `same rows, same order, pruned or not: ${where}`);
  const expected = model.docs().filter(matches);
  if (order) assert.equal(pruned, expected.sort(order).map((d) => d.id), `rows in order: ${where}`);
  else assert.equal([...pruned].sort(), expected.map((d) => d.id).sort(), `rows: ${where}`);
}

const byN = (a: Doc, b: Doc): number => a.n - b.n;

test.before(
  loud('before', async () => {
    const tls = await ensureLocalTls();
    cosmos = await startCosmos({ tls });
    client = createCosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, caPem: tls.caPem });
    container = await ensureContainer(client, 'pruning-test', 'docs', '/pk', {
      indexingPolicy: { compositeIndexes: [[{ path: '/m', order: 'ascending' }, { path: '/id', order: 'ascending' }]] },
    });
    model = await buildModel(container, insertMany);
  }),
);

test.after(async () => {
  client?.dispose();
  await cosmos?.stop();
});

test('the analysis pins the partition for =, IN and AND; not for OR, NOT, joins, missing or object parameters', () => {
  const values = (sql: string, parameters: SqlParameter[] = []) => partitionValuesOf(parse(sql).ast, ['pk'], parameters);
  assert.equal(values("SELECT * FROM c WHERE c.pk = 'a'"), ['a']);
  assert.equal(values("SELECT * FROM c WHERE 7 = c.pk AND c.n > 1"), [7]);
  assert.equal(values('SELECT * FROM c WHERE c.pk IN (@a, @b, null) AND c.x = 1', [{ name: '@a', value: 'A' }, { name: '@b', value: 'B' }]), ['A', 'B', null]);
  assert.equal(values("SELECT * FROM root r WHERE r['pk'] IN ('a', 'b') AND r.pk = 'b'"), ['b']);
  assert.equal(values("SELECT * FROM c WHERE c.pk = 'a' AND c.pk = 'b'"), []);
  assert.is(values("SELECT * FROM c WHERE c.pk = 'a' OR c.n = 1"), null);
  assert.is(values("SELECT * FROM c WHERE NOT (c.pk = 'a')"), null);
  assert.is(values("SELECT * FROM c JOIN t IN c.tags WHERE c.pk = 'a'"), null);
  assert.is(values("SELECT * FROM c IN c.children WHERE c.pk = 'a'"), null);
  assert.is(values("SELECT * FROM c WHERE c.other = 'a'"), null);
  assert.is(values("SELECT * FROM c WHERE c.pk.inner = 'a'"), null);
  assert.is(values('SELECT * FROM c WHERE c.pk IN (@missing, "a")'), null);
  assert.is(values('SELECT * FROM c WHERE c.pk = @o', [{ name: '@o', value: { a: 1 } }]), null);
  assert.is(values('SELECT VALUE COUNT(1) FROM c'), null);
});

test('= with a parameter, a constant, reversed, and typed values (7 is not "7")', async () => {
  await check('c.pk = @pk', [{ name: '@pk', value: 'p3' }], (d) => d.pk === 'p3');
  await check("c.pk = 'p4' AND c.n >= 500", [], (d) => d.pk === 'p4' && d.n >= 500);
  await check("'p5' = c.pk", [], (d) => d.pk === 'p5');
  await check('c.pk = 7', [], (d) => d.pk === 7);
  await check("c.pk = '7'", [], (d) => d.pk === '7');
  await check('c.pk = null', [], (d) => d.pk === null);
  await check("c.pk = 'p1' AND c.pk = 'p2'", [], () => false);
  await check("c.pk = 'nowhere'", [], () => false);
});

test('IN with parameters and constants, with other conjuncts', async () => {
  const parameters = [{ name: '@a', value: 'p1' }, { name: '@b', value: 'p2' }, { name: '@min', value: 100 }];
  await check("c.pk IN (@a, @b, 'p9') AND c.n >= @min", parameters, (d) => ['p1', 'p2', 'p9'].includes(d.pk as string) && d.n >= 100);
  await check("c.pk IN ('p1', 7, null)", [], (d) => d.pk === 'p1' || d.pk === 7 || d.pk === null);
  // A missing parameter is `undefined` to the engine, which `IN` then matches: no pruning, same rows.
  await check("c.pk IN (@missing, 'p1')", [], (d) => d.pk === 'p1' || d.pk === undefined);
});

test('OR at the top level and cross-partition queries read every partition', async () => {
  await check("c.pk = 'p1' OR c.n < 40", [], (d) => d.pk === 'p1' || d.n < 40);
  await check('c.n < 300 AND c.m = 2', [], (d) => d.n < 300 && d.m === 2);
  await check('NOT IS_DEFINED(c.pk)', [], (d) => d.pk === undefined);
});

test('ORDER BY pages with continuation tokens; a token resumes in a new iterator', async () => {
  const parameters = [{ name: '@a', value: 'p1' }, { name: '@b', value: 'p6' }];
  const inAB = (d: Doc) => d.pk === 'p1' || d.pk === 'p6';
  await check('c.pk IN (@a, @b)', parameters, inAB, { orderBy: 'ORDER BY c.n DESC', order: (a, b) => b.n - a.n });
  await check('c.pk IN (@a, @b)', parameters, inAB, { orderBy: 'ORDER BY c.m, c.id', order: (a, b) => a.m - b.m || (a.id < b.id ? -1 : 1) });
  const query = { query: 'SELECT c.id FROM c WHERE c.pk IN (@a, @b) ORDER BY c.n', parameters };
  const first = await container.items.query<Row>(query, { maxItemCount: 11 }).fetchNext();
  assert.ok(first.continuationToken);
  const rest = await rows(query.query, parameters, { continuationToken: first.continuationToken, maxItemCount: 11 });
  assert.equal([...first.resources.map((r) => r.id), ...rest], model.docs().filter(inAB).sort(byN).map((d) => d.id));
});

test('keyset pages with TOP, as an export scan reads them', async () => {
  const pks = ['p2', 'p3', 'p7'];
  const expected = model.docs().filter((d) => pks.includes(d.pk as string) && !d.deleted).sort((a, b) => a.m - b.m || (a.id < b.id ? -1 : 1));
  const seen: string[] = [];
  let after: Doc | undefined;
  for (;;) {
    const parameters: SqlParameter[] = [...pks.map((value, i) => ({ name: `@pk${i}`, value })), { name: '@top', value: 25 }];
    let keyset = '';
    if (after) {
      keyset = ' AND (c.m > @afterM OR (c.m = @afterM AND c.id > @afterId))';
      parameters.push({ name: '@afterM', value: after.m }, { name: '@afterId', value: after.id });
    }
    const query = `SELECT TOP @top c.id FROM c WHERE c.pk IN (@pk0, @pk1, @pk2) AND c.deleted = false${keyset} ORDER BY c.m, c.id`;
    const page = await rows(query, parameters);
    seen.push(...page);
    if (page.length < 25) break;
    after = model.get(page.at(-1)!);
  }
  assert.equal(seen, expected.map((d) => d.id));
});

test('a request that names its partition reads only that partition', async () => {
  const all = (partitionKey: string | number, where = 'true') => rows(`SELECT c.id FROM c WHERE ${where}`, [], { partitionKey });
  assert.equal((await all('p8')).sort(), model.docs().filter((d) => d.pk === 'p8').map((d) => d.id).sort());
  assert.equal((await all(7)).sort(), model.docs().filter((d) => d.pk === 7).map((d) => d.id).sort());
  assert.equal(await all('p8', "c.pk = 'p9'"), []);
  const { resources: counts } = await container.items.query<number>('SELECT VALUE COUNT(1) FROM c', { partitionKey: 'p8' }).fetchAll();
  assert.equal(counts, [model.docs().filter((d) => d.pk === 'p8').length]);
});

test('writes keep the partitions current: create, replace, upsert, delete', async () => {
  await model.write(container);
  await check("c.pk IN ('p0', 'p1', 'p11')", [], (d) => ['p0', 'p1', 'p11'].includes(d.pk as string));
  await check("c.pk = 'fresh'", [], (d) => d.pk === 'fresh');
  const { resources: counts } = await container.items.query<number>("SELECT VALUE COUNT(1) FROM c WHERE c.pk = 'p0'").fetchAll();
  assert.equal(counts, [model.docs().filter((d) => d.pk === 'p0').length]);
});

test.run();
