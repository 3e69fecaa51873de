/**
 * Documents for the partition pruning test, kept in a JS model alongside the
 * container: string partitions p0..p11, the number 7 next to the string "7", null,
 * and documents without a partition key value.
 */
import type { Container, JSONObject } from '@azure/cosmos';
import type { insertMany } from '../../dev/cosmos/load.ts';

/** One test document. */
export type Doc = JSONObject & {
  id: string;
  pk?: string | number | null;
  n: number;
  m: number;
  deleted: boolean;
};

/** The container's documents as the test expects them. */
export interface Model {
  /** Every document, in no particular order. */
  docs(): Doc[];
  /** The document with `id`. */
  get(id: string): Doc | undefined;
  /** Creates, replaces, upserts and deletes documents in the container and the model alike. */
  write(container: Container): Promise<void>;
}

const COUNT = 2_400;

function partitionOf(i: number): Doc['pk'] {
  const r = i % 40;
  if (r === 36) return 7;
  if (r === 37) return '7';
  if (r === 38) return null;
  if (r === 39) return undefined;
  return `p${i % 12}`;
}

function makeDoc(i: number): Doc {
  const doc: Doc = { id: `d${String(i).padStart(5, '0')}`, n: i, m: (i * 7) % 13, deleted: i % 9 === 0 };
  const pk = partitionOf(i);
  if (pk !== undefined) doc.pk = pk;
  return doc;
}

const keyOf = (d: Doc): string | number | null => (d.pk === undefined ? null : d.pk);

/** Fills `container` with the test documents (bulk for string partitions, one by one for the rest) and returns their model. */
export async function buildModel(container: Container, insert: typeof insertMany): Promise<Model> {
  const byId = new Map<string, Doc>();
  const all = Array.from({ length: COUNT }, (_, i) => makeDoc(i));
  const plain = all.filter((d) => typeof d.pk === 'string' && d.pk.startsWith('p'));
  await insert(container, plain.length, (i) => plain[i]!, (d) => d.pk as string);
  for (const doc of all.filter((d) => !plain.includes(d))) await container.items.create(doc);
  for (const doc of all) byId.set(doc.id, doc);
  return {
    docs: () => [...byId.values()],
    get: (id) => byId.get(id),
    async write(c) {
      const ids = [...byId.keys()];
      for (const id of ids.filter((_, i) => i % 47 === 1)) {
        const doc = { ...byId.get(id)!, n: byId.get(id)!.n + 10_000, deleted: !byId.get(id)!.deleted };
        await c.item(id, keyOf(doc) ?? undefined).replace(doc);
        byId.set(id, doc);
      }
      for (const id of ids.filter((_, i) => i % 53 === 2)) {
        const doc = byId.get(id)!;
        if (doc.pk === undefined || doc.pk === null) continue;
        await c.item(id, doc.pk).delete();
        byId.delete(id);
      }
      for (const id of ids.filter((_, i) => i % 61 === 3)) {
        const doc = { ...byId.get(id)!, m: 99 };
        await c.items.upsert(doc);
        byId.set(id, doc);
      }
      for (let i = 0; i < 30; i += 1) {
        const doc: Doc = { id: `new${i}`, pk: i % 2 ? 'fresh' : 'p0', n: 20_000 + i, m: i % 13, deleted: false };
        if (i % 3) await c.items.upsert(doc);
        else await c.items.create(doc);
        byId.set(doc.id, doc);
      }
    },
  };
}
