/**
 * Measures query paging on the Cosmos DB stand-in: for each collection size N, the
 * time to page through every document with `maxItemCount` 100, and the mean time
 * per page of the first and last ten pages.
 *
 *   node --import tsx dev/cosmos/measure-paging.ts [N ...]   (default 5000 10000 20000)
 */
import { ensureLocalTls } from '../certs.ts';
import { createCosmosClient, ensureContainer } from '../../common/cosmos.ts';
import { startCosmos } from './server.ts';
import { insertMany, pageThrough } from './load.ts';

const sizes = process.argv.slice(2).map(Number);
const tls = await ensureLocalTls();
const cosmos = await startCosmos({ tls });
const client = createCosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, caPem: tls.caPem });
try {
  for (const n of sizes.length ? sizes : [5_000, 10_000, 20_000]) {
    const container = await ensureContainer(client, 'measure', `paging-${n}`, '/pk');
    const t0 = performance.now();
    await insertMany(container, n, (i) => ({ id: `doc-${i}`, pk: `p${i % 16}`, n: i }), (d) => d.pk);
    const insertMs = performance.now() - t0;
    const run = await pageThrough(container.items.query('SELECT * FROM c', { maxItemCount: 100 }));
    const first = mean(run.pageMs.slice(0, 10));
    const last = mean(run.pageMs.slice(-10));
    console.log(
      `N=${n}: insert ${ms(insertMs)}, ${run.pageMs.length} pages in ${ms(run.totalMs)}, ` +
        `first 10 pages ${ms(first)}/page, last 10 pages ${ms(last)}/page, ${run.ids.size} distinct ids`,
    );
  }
} finally {
  client.dispose();
  await cosmos.stop();
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`;
}
