/**
 * Measures partition-pinned queries on the Cosmos DB stand-in: N documents in
 * `types` × 16 partitions (`"<type>|<bucket>"`, as the FHIR store lays them out),
 * then the median wall time (of 5) of export-shaped queries for one type:
 *  - the first page: `SELECT TOP 1000 … WHERE c.pk IN (16 buckets) AND c.deleted = false ORDER BY c.lastUpdatedMs, c.id`;
 *  - a page halfway through (same, with the keyset predicate);
 *  - one bucket: `… WHERE c.pk = @pk`;
 *  - the type's count, and a cross-partition page for comparison.
 *
 *   node --import tsx dev/cosmos/measure-pruning.ts [N] [types]   (default 200000 10; 2 types: one holds half)
 */
import type { SqlParameter, SqlQuerySpec } from '@azure/cosmos';
import { ensureLocalTls } from '../certs.ts';
import { createCosmosClient, ensureContainer } from '../../common/cosmos.ts';
import { startCosmos } from './server.ts';
import { insertMany } from './load.ts';

const n = Number(process.argv[2] ?? 200_000);
const typeCount = Number(process.argv[3] ?? 10);
const tls = await ensureLocalTls();
const cosmos = await startCosmos({ tls });
const client = createCosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, caPem: tls.caPem });
try {
  const container = await ensureContainer(client, 'measure', `pruning-${n}`, '/pk', {
    indexingPolicy: { compositeIndexes: [[{ path: '/lastUpdatedMs', order: 'ascending' }, { path: '/id', order: 'ascending' }]] },
  });
  const t0 = performance.now();
  const make = (i: number) => ({
    id: `r${i}`,
    pk: `T${i % typeCount}|${Math.floor(i / typeCount) % 16}`,
    lastUpdatedMs: 1_700_000_000_000 + ((i * 7919) % n), // not in insertion order
    deleted: false,
    resource: { resourceType: `T${i % typeCount}`, id: `r${i}`, value: i },
  });
  await insertMany(container, n, make, (d) => d.pk);
  console.log(`inserted ${n} documents (${typeCount} types × 16 partitions) in ${ms(performance.now() - t0)}`);

  const pks = Array.from({ length: 16 }, (_, b) => `T0|${b}`);
  const inParams: SqlParameter[] = pks.map((value, i) => ({ name: `@pk${i}`, value }));
  const inList = pks.map((_, i) => `@pk${i}`).join(', ');
  const page = (keyset: boolean): SqlQuerySpec => ({
    query:
      `SELECT TOP 1000 c.id, c.lastUpdatedMs, c.resource FROM c WHERE c.pk IN (${inList}) AND c.deleted = false` +
      `${keyset ? ' AND (c.lastUpdatedMs > @afterMs OR (c.lastUpdatedMs = @afterMs AND c.id > @afterId))' : ''} ORDER BY c.lastUpdatedMs, c.id`,
    parameters: keyset ? [...inParams, { name: '@afterMs', value: 1_700_000_000_000 + n / 2 }, { name: '@afterId', value: '' }] : inParams,
  });
  const cases: [string, SqlQuerySpec][] = [
    ['first export page of one type (IN 16 partitions, TOP 1000, ORDER BY)', page(false)],
    ['export page halfway through the type (keyset)', page(true)],
    ['one partition (c.pk = @pk)', { query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: 'T0|3' }] }],
    ['count of one type (IN 16 partitions)', { query: `SELECT VALUE COUNT(1) FROM c WHERE c.pk IN (${inList})`, parameters: inParams }],
    ['cross-partition page (no partition filter)', { query: 'SELECT TOP 1000 c.id FROM c WHERE c.deleted = false ORDER BY c.lastUpdatedMs, c.id' }],
  ];
  for (const [label, spec] of cases) {
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < 5; i += 1) {
      const t = performance.now();
      rows = (await container.items.query(spec).fetchAll()).resources.length;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(`${label}: median ${ms(times[2]!)} (min ${ms(times[0]!)}, max ${ms(times[4]!)}), ${rows} rows`);
  }
} finally {
  client.dispose();
  await cosmos.stop();
}

function ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`;
}
