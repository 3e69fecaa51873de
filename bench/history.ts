/**
 * npm run bench:history — what keeping every version costs, against the same
 * store with history off, measured in the same run on the Cosmos stand-in (its
 * own process):
 *  - write throughput of updates (each replaces a version: with history it is one
 *    transactional batch of the new version and the history copy of the old;
 *    without, one replace) and of a mix of creates, updates and deletes, in
 *    alternating rounds (with, without, without, with, ...);
 *  - storage per version: JSON bytes of current documents and of history copies.
 * The last line is one JSON object; the target is a ratio ≥ 0.7 for updates.
 *
 * Run: node --import tsx bench/history.ts --resources 4000 --writes 4000
 */
import { Command } from 'commander';
import { openCosmosResourceStore } from '../fhir-server/store/cosmos-resource-store.ts';
import type { CosmosResourceStore } from '../fhir-server/store/cosmos-resource-store.ts';
import type { ResourceDocument } from '../fhir-server/store/document.ts';
import { mapBounded } from '../fhir-server/store/pool.ts';
import type { IdentifiedResource } from '../fhir-server/store/resource-store.ts';
import { openStore } from '../dev/seed/connection.ts';
import { syntheticResources } from '../fhir-server/seed/synthetic.ts';
import { median } from './export-run.ts';
import { positiveInt } from './cli-args.ts';

const cli = new Command('bench:history')
  .option('--resources <n>', 'resources in each store', positiveInt, 4000)
  .option('--writes <n>', 'writes per round', positiveInt, 4000)
  .option('--rounds <n>', 'rounds of each (alternated)', positiveInt, 2)
  .option('--concurrency <n>', 'writes in flight', positiveInt, 16)
  .parse();
const { resources: wanted, writes, rounds, concurrency } = cli.opts<{ resources: number; writes: number; rounds: number; concurrency: number }>();
const log = (line: string): boolean => process.stderr.write(`${line}\n`);

function dataSet(): IdentifiedResource[] {
  const out: IdentifiedResource[] = [];
  for (const batch of syntheticResources({ patients: Math.ceil(wanted / 20), seed: 'bench-history' })) {
    for (const resource of batch) if (out.length < wanted) out.push(resource as IdentifiedResource);
  }
  return out;
}

/** A changed copy of `resource` (a new version with different content). */
function changed(resource: IdentifiedResource, round: number, i: number): IdentifiedResource {
  return { ...resource, meta: { tag: [{ system: 'urn:bench', code: `r${round}-${i}` }] } };
}

async function updates(store: CosmosResourceStore, data: IdentifiedResource[], round: number): Promise<number> {
  const started = performance.now();
  await mapBounded(
    Array.from({ length: writes }, (_, i) => i),
    concurrency,
    async (i) => void (await store.update(changed(data[i % data.length]!, round, i))),
  );
  return writes / ((performance.now() - started) / 1000);
}

async function mixed(store: CosmosResourceStore, data: IdentifiedResource[], round: number): Promise<number> {
  const started = performance.now();
  await mapBounded(
    Array.from({ length: writes }, (_, i) => i),
    concurrency,
    async (i) => {
      const resource = data[i % data.length]!;
      const roll = i % 10;
      if (roll < 3) await store.create({ ...resource, id: `new-${round}-${i}` });
      else if (roll < 9) await store.update(changed(resource, round, i));
      else await store.delete(resource.resourceType, resource.id);
    },
  );
  return writes / ((performance.now() - started) / 1000);
}

async function bytesPerDocument(store: CosmosResourceStore): Promise<{ current: number; history: number; currentCount: number; historyCount: number }> {
  const { resources } = await store.container.items.query<ResourceDocument>('SELECT * FROM c').fetchAll();
  const size = (docs: ResourceDocument[]) => docs.reduce((sum, d) => sum + Buffer.byteLength(JSON.stringify(d)), 0) / Math.max(docs.length, 1);
  const current = resources.filter((d) => d.id === d.rid);
  const history = resources.filter((d) => d.id !== d.rid);
  return { current: Math.round(size(current)), history: Math.round(size(history)), currentCount: current.length, historyCount: history.length };
}

const opened = await openStore({});
try {
  const client = opened.store.container.database.client;
  const withHistory = await openCosmosResourceStore(client, { databaseId: 'bench-history-on', keepHistory: true });
  const without = await openCosmosResourceStore(client, { databaseId: 'bench-history-off', keepHistory: false });
  const data = dataSet();
  for (const store of [withHistory, without]) {
    const result = await store.bulkUpsert(data, { concurrency });
    if (result.failed.length > 0) throw new Error(`${result.failed.length} resources not stored`);
  }
  log(`${data.length} resources in each store; ${writes} writes per round, ${concurrency} in flight`);
  const rps = { updatesOn: [] as number[], updatesOff: [] as number[], mixedOn: [] as number[], mixedOff: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const order: Array<[CosmosResourceStore, 'On' | 'Off']> = round % 2 === 0 ? [[withHistory, 'On'], [without, 'Off']] : [[without, 'Off'], [withHistory, 'On']];
    for (const [store, label] of order) {
      const u = await updates(store, data, round);
      rps[`updates${label}`].push(u);
      log(`round ${round} updates, history ${label.toLowerCase()}: ${Math.round(u)}/s`);
    }
    for (const [store, label] of order) {
      const m = await mixed(store, data, round);
      rps[`mixed${label}`].push(m);
      log(`round ${round} mixed writes, history ${label.toLowerCase()}: ${Math.round(m)}/s`);
    }
  }
  const sizes = await bytesPerDocument(withHistory);
  const summary = {
    bench: 'history',
    resources: data.length,
    update_rps_history: Math.round(median(rps.updatesOn)),
    update_rps_no_history: Math.round(median(rps.updatesOff)),
    update_ratio: Math.round((median(rps.updatesOn) / median(rps.updatesOff)) * 1000) / 1000,
    mixed_rps_history: Math.round(median(rps.mixedOn)),
    mixed_rps_no_history: Math.round(median(rps.mixedOff)),
    mixed_ratio: Math.round((median(rps.mixedOn) / median(rps.mixedOff)) * 1000) / 1000,
    bytes_per_current_version: sizes.current,
    bytes_per_history_version: sizes.history,
    history_versions: sizes.historyCount,
  };
  process.stdout.write(
    `updates: ${summary.update_rps_history}/s with history, ${summary.update_rps_no_history}/s without — ratio ${summary.update_ratio} (target ≥ 0.7)\n` +
      `mixed (30% create, 60% update, 10% delete): ${summary.mixed_rps_history}/s with, ${summary.mixed_rps_no_history}/s without — ratio ${summary.mixed_ratio}\n` +
      `storage: ${summary.bytes_per_current_version} B per current version, ${summary.bytes_per_history_version} B per history version (${summary.history_versions} kept)\n` +
      `${JSON.stringify(summary)}\n`,
  );
} finally {
  await opened.close();
}
