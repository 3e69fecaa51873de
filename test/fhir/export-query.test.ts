/**
 * Export scans: pages in (lastUpdatedMs, id) order, resumed from a saved keyset
 * position without duplicates or gaps (also in a new process-like store instance),
 * split by bucket, time window and Patient compartment, and counted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import type { CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import type { ExportFilter, ExportItem, ExportPosition, ExportQuery } from '../../fhir-server/store/resource-store.ts';
import { createCosmosClient } from '../../common/cosmos.ts';
import { splitBuckets } from '../../fhir-server/store/layout.ts';
import { freshStore, startCosmosFixture } from './support/cosmos.ts';
import type { CosmosFixture } from './support/cosmos.ts';

let fixture: CosmosFixture;
let store: CosmosResourceStore;
const N = 240;
let midMs = 0;

test.before(async () => {
  fixture = await startCosmosFixture();
  store = await freshStore(fixture);
  // Observations written in waves, so many share a millisecond (ties broken by id) and the waves span time.
  for (let wave = 0; wave < 6; wave++) {
    const resources = Array.from({ length: N / 6 }, (_, i) => {
      const n = wave * (N / 6) + i;
      return { resourceType: 'Observation', id: `obs-${String(n).padStart(4, '0')}`, status: 'final', code: { text: `c${n % 7}` }, subject: { reference: `Patient/p${n % 5}` } };
    });
    await store.bulkUpsert(resources, { concurrency: 4 });
    if (wave === 2) midMs = Date.now() + 1;
    await sleep(5);
  }
  for (let i = 0; i < 5; i++) await store.create({ resourceType: 'Patient', id: `p${i}` });
  for (const id of ['obs-0003', 'obs-0100', 'obs-0200']) await store.delete('Observation', id);
});
test.after(async () => {
  await fixture?.stop();
});

async function scan(target: CosmosResourceStore, filter: ExportFilter, pageSize: number, from?: ExportPosition): Promise<{ items: ExportItem[]; pages: number }> {
  const items: ExportItem[] = [];
  let continuation = from;
  let pages = 0;
  do {
    const query: ExportQuery = { ...filter, pageSize };
    if (continuation) query.continuation = continuation;
    const page = await target.queryForExport(query);
    items.push(...page.items);
    continuation = page.continuation;
    pages += 1;
  } while (continuation);
  return { items, pages };
}

const key = (item: ExportItem): string => `${String(item.lastUpdatedMs).padStart(15, '0')}|${item.id}`;

function assertOrderedAndDistinct(items: ExportItem[]): void {
  const keys = items.map(key);
  assert.equal(keys, [...keys].sort(), 'ordered by (lastUpdatedMs, id)');
  assert.is(new Set(items.map((i) => i.id)).size, items.length, 'no duplicates');
}

test('paging returns every live resource once, in order, and agrees with count()', async () => {
  const { items, pages } = await scan(store, { resourceType: 'Observation' }, 17);
  assert.is(items.length, N - 3);
  assertOrderedAndDistinct(items);
  assert.ok(pages >= Math.ceil((N - 3) / 17));
  assert.ok(items.some((a, i) => i > 0 && a.lastUpdatedMs === items[i - 1]!.lastUpdatedMs), 'the data has ties on lastUpdatedMs');
  assert.is(await store.count({ resourceType: 'Observation' }), N - 3);
  assert.is(await store.count({ resourceType: 'Patient' }), 5);
});

test('each item is the JSON GET returns; resources[] are the live items', async () => {
  const page = await store.queryForExport({ resourceType: 'Observation', pageSize: 10 });
  for (const item of page.items) {
    const read = await store.read('Observation', item.id);
    assert.ok(read && !read.deleted);
    assert.is(item.json, JSON.stringify(read.resource));
    assert.is(item.versionId, read.versionId);
  }
  assert.equal(page.resources, page.items.map((i) => i.json));
});

test('a position saved mid-scan resumes in another store instance with no duplicate and no gap', async () => {
  const full = (await scan(store, { resourceType: 'Observation' }, 23)).items;
  let position: ExportPosition | undefined;
  const firstPart: ExportItem[] = [];
  for (let i = 0; i < 3; i++) {
    const page = await store.queryForExport({ resourceType: 'Observation', pageSize: 23, ...(position ? { continuation: position } : {}) });
    firstPart.push(...page.items);
    position = page.continuation;
  }
  const saved = JSON.stringify(position);
  const client = createCosmosClient({ endpoint: fixture.cosmos.endpoint, key: fixture.cosmos.key, caPem: fixture.caPem });
  const other = await openCosmosResourceStore(client, { databaseId: store.container.database.id });
  const rest = (await scan(other, { resourceType: 'Observation' }, 31, JSON.parse(saved) as ExportPosition)).items;
  client.dispose();
  assert.equal([...firstPart, ...rest].map((i) => i.id), full.map((i) => i.id));
});

test('buckets split a type into disjoint parts that together are the whole', async () => {
  const all = new Set((await scan(store, { resourceType: 'Observation' }, 100)).items.map((i) => i.id));
  const seen = new Set<string>();
  let counted = 0;
  for (const buckets of splitBuckets(4)) {
    const part = (await scan(store, { resourceType: 'Observation', buckets }, 13)).items;
    assertOrderedAndDistinct(part);
    for (const item of part) {
      assert.not.ok(seen.has(item.id), `${item.id} in two bucket groups`);
      seen.add(item.id);
    }
    counted += await store.count({ resourceType: 'Observation', buckets });
  }
  assert.equal([...seen].sort(), [...all].sort());
  assert.is(counted, all.size);
});

test('the state at an instant, and the changes after it, split at that instant; deletions are listed when asked for', async () => {
  const before = (await scan(store, { resourceType: 'Observation', asOfMs: midMs - 1 }, 50)).items;
  const after = (await scan(store, { resourceType: 'Observation', afterMs: midMs - 1 }, 50)).items;
  assert.ok(before.every((i) => i.lastUpdatedMs < midMs) && after.every((i) => i.lastUpdatedMs >= midMs));
  // The state before the midpoint still holds obs-0003 and obs-0100, deleted since; the changes after it are the rest, live now.
  assert.is(before.length, N / 2);
  assert.ok(before.some((i) => i.id === 'obs-0003') && before.some((i) => i.id === 'obs-0100'));
  assert.is(after.length, N / 2 - 1);
  assert.not.ok(after.some((i) => i.id === 'obs-0200'));
  const withDeleted = (await scan(store, { resourceType: 'Observation', includeDeleted: true }, 50)).items;
  const tombstones = withDeleted.filter((i) => i.deleted);
  assert.equal(tombstones.map((i) => i.id).sort(), ['obs-0003', 'obs-0100', 'obs-0200']);
  assert.ok(tombstones.every((i) => i.json === undefined));
  assert.equal(withDeleted.slice(-3).map((i) => i.id), ['obs-0003', 'obs-0100', 'obs-0200'], 'deletions are the latest changes');
});

test('a compartment filter selects the resources of those patients only', async () => {
  const items = (await scan(store, { resourceType: 'Observation', compartments: ['Patient/p1', 'Patient/p3'] }, 20)).items;
  const expected = Array.from({ length: N }, (_, n) => n).filter((n) => n % 5 === 1 || n % 5 === 3).filter((n) => ![3, 100, 200].includes(n));
  assert.equal(items.map((i) => i.id).sort(), expected.map((n) => `obs-${String(n).padStart(4, '0')}`));
  for (const item of items) assert.match(JSON.parse(item.json!).subject.reference, /^Patient\/p[13]$/);
  assert.is(await store.count({ resourceType: 'Observation', compartments: ['Patient/p1', 'Patient/p3'] }), expected.length);
  assert.is(await store.count({ resourceType: 'Patient', compartments: ['Patient/p4'] }), 1);
  assert.equal(await store.listResourceTypes(), ['Observation', 'Patient']);
});

test.run();
