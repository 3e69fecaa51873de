/**
 * The Cosmos DB stand-in's query engine sorts with keys read once per row and,
 * under `TOP n`, selects the first n rows without sorting them all. Property test:
 * for random rows (ties, missing keys, mixed scalar types, repeated `_rid`s from
 * joins, arrays and objects as keys) and any `TOP`, the rows and their order are
 * those of the original stable full sort followed by `slice(0, n)`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { createRequire } from 'node:module';

type Row = { c: Record<string, unknown> };
type Order = [string[], boolean];
const require = createRequire(import.meta.url);
const helpers = require('@zeit/cosmosdb-query/lib/helpers.js') as {
  sort(rows: Row[], getRid: (r: Row) => unknown, compositeIndexes: unknown, ...orders: Order[]): Row[];
  sortTop(limit: unknown, rows: Row[], getRid: (r: Row) => unknown, compositeIndexes: unknown, ...orders: Order[]): Row[];
};
const parse = (require('@zeit/cosmosdb-query') as { default: (sql: string) => { code: string } }).default;

const TYPES = ['undefined', 'null', 'boolean', 'number', 'string', 'array', 'object'];
const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** The engine's comparator before the change (copied): type order first, then `<`. */
function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  const [ta, tb] = [typeOf(a), typeOf(b)];
  if (ta === tb) return ta === 'object' ? 0 : (a as number) < (b as number) ? -1 : 1;
  return TYPES.indexOf(ta) - TYPES.indexOf(tb) < 0 ? -1 : 1;
}

/** The engine's sort before the change (copied): stable full sort, then rows without a single ORDER BY key dropped. */
function reference(rows: Row[], orders: Order[]): Row[] {
  const get = (r: Row, keys: string[]) => keys.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), r);
  const sorted = rows.slice().sort((a, b) => {
    for (const [keys, desc] of orders) {
      const r = compare(get(a, keys), get(b, keys));
      if (r !== 0) return desc ? -r : r;
    }
    return compare(a.c._rid, b.c._rid);
  });
  return orders.length === 1 ? sorted.filter((r) => get(r, orders[0]![0]) !== undefined) : sorted;
}

const scalar = fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), fc.integer({ min: -3, max: 3 }), fc.constantFrom('', 'a', 'b', 'ab'));
const rowsArb = (withComposite: boolean) =>
  fc.array(
    fc.record({
      a: withComposite ? fc.oneof(scalar, fc.constant([1]), fc.constant({ x: 1 })) : scalar,
      b: scalar,
      rid: fc.integer({ min: 0, max: 30 }),
    }),
    { maxLength: 60 },
  );
const ordersArb = fc.oneof(
  fc.constant<Order[]>([]),
  fc.boolean().map<Order[]>((d) => [[['c', 'a'], d]]),
  fc.tuple(fc.boolean(), fc.boolean()).map<Order[]>(([d1, d2]) => [[['c', 'a'], d1], [['c', 'b'], d2]]),
);
const limitArb = fc.oneof(fc.constant(undefined), fc.nat(70), fc.constant(-2), fc.constant(2.5));
const getRid = (r: Row) => r.c._rid;

for (const composite of [false, true]) {
  test(`sortTop(n) equals the original sort then slice(0, n)${composite ? ', with arrays and objects as keys' : ''}`, () => {
    fc.assert(
      fc.property(rowsArb(composite), ordersArb, limitArb, (specs, orders, limit) => {
        const rows: Row[] = specs.map((s, i) => ({ c: { id: i, a: s.a, b: s.b, _rid: `r${String(s.rid).padStart(2, '0')}` } }));
        const want = reference(rows, orders).slice(0, limit);
        const got = helpers.sortTop(limit, rows, getRid, null, ...orders).slice(0, limit);
        assert.equal(got.map((r) => r.c.id), want.map((r) => r.c.id));
        assert.equal(helpers.sort(rows, getRid, null, ...orders).map((r) => r.c.id), reference(rows, orders).map((r) => r.c.id));
      }),
      { numRuns: 3000 },
    );
  });
}

test('a multi-key ORDER BY without its composite index is still refused', () => {
  const orders: Order[] = [[['c', 'a'], false], [['c', 'b'], true]];
  assert.throws(() => helpers.sortTop(5, [], getRid, [[{ path: '/a', order: 'ascending' }, { path: '/b', order: 'ascending' }]], ...orders), /composite index/);
  assert.equal(helpers.sortTop(5, [], getRid, [[{ path: '/a', order: 'ascending' }, { path: '/b', order: 'descending' }]], ...orders), []);
});

test('TOP after ORDER BY (or the implicit _rid order) compiles to sortTop; TOP alone in a subquery too', () => {
  assert.match(parse('SELECT TOP @n * FROM c ORDER BY c.a').code, /\$h\.sortTop\(\$p\.n,/);
  assert.match(parse('SELECT TOP 3 * FROM c').code, /\$h\.sortTop\(3,/);
  assert.not.match(parse('SELECT * FROM c ORDER BY c.a').code, /sortTop/);
});

test.run();
