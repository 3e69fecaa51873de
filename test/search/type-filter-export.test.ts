/**
 * `_typeFilter` and search agree (property test): on the shared Synthea data
 * (when present) and generated data, at least 300 generated queries — every
 * parameter type, prefixes, modifiers, token and reference forms, OR values
 * and ANDed parameters, with values taken from the stored resources — are each
 * run as `GET [type]?<query>` (strict handling, every page) and as the
 * `_typeFilter` of an export through the engine; the lines the export writes for
 * the type must be exactly the resources the search returns.
 *
 * FC_SEED reproduces a run (the seed is printed).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { repoRoot } from '../../dev/certs.ts';
import { FhirService } from '../../fhir-server/fhir/fhir-service.ts';
import type { FhirResource } from '../../fhir-server/fhir/types.ts';
import { typeFilterProblem } from '../../fhir-server/export/engine/type-filter.ts';
import { supportedParametersOf } from '../../fhir-server/search/parameters.ts';
import type { SearchIndex } from '../../fhir-server/search/search-index.ts';
import { loadFiles } from '../../fhir-server/seed/load-files.ts';
import { syntheticResources } from '../../fhir-server/seed/synthetic.ts';
import type { IdentifiedResource } from '../../fhir-server/store/resource-store.ts';
import { caller, exportRequest, linesOf, startExportFixture, waitForEnd, type ExportFixture } from '../export-engine/support/fixture.ts';
import { appOver } from '../fhir/support/app.ts';
import { loud } from '../support/hooks.ts';

const wantedQueries = 300;
const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);
const synthea = join(repoRoot, '..', 'shared', 'data', 'synthea-r4');

let fx: ExportFixture;
let app: FastifyInstance;
/** Current documents by type: the resource and its search index. */
const stored = new Map<string, { resource: FhirResource; idx?: SearchIndex; lastUpdatedMs: number }[]>();

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    app = await appOver(fx.store);
    if (existsSync(synthea)) {
      const report = await loadFiles([synthea], { store: fx.store, service: new FhirService(fx.store) });
      assert.equal(report.failures, []);
    } else {
      console.log(`no Synthea data at ${synthea}: generated data only`);
    }
    const generated: IdentifiedResource[] = [];
    for (const batch of syntheticResources({ patients: 15, seed: 'type-filter-property' })) generated.push(...(batch as IdentifiedResource[]));
    const result = await fx.store.bulkUpsert(generated);
    assert.equal(result.failed, []);
    const { resources } = await fx.store.container.items
      .query<{ resourceType: string; resource: FhirResource; idx?: SearchIndex; lastUpdatedMs: number }>('SELECT c.resourceType, c.resource, c.idx, c.lastUpdatedMs FROM c WHERE c.id = c.rid AND c.deleted = false')
      .fetchAll();
    for (const doc of resources) stored.set(doc.resourceType, [...(stored.get(doc.resourceType) ?? []), doc]);
  }),
);
test.after(async () => {
  await app?.close();
  await fx?.stop();
});

type Entry = Record<string, unknown> | string;
const iso = (ms: number, precision: 'day' | 'second' | 'ms') => {
  const text = new Date(ms).toISOString();
  return precision === 'day' ? text.slice(0, 10) : precision === 'second' ? `${text.slice(0, 19)}Z` : text;
};
const esc = (value: string) => value.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/\|/g, '\\|').replace(/\$/g, '\\$');

/** One `name=value` term for parameter `code` of type `type`, from `entry` (an index entry of a stored resource). */
function termOf(code: string, type: string, entry: Entry, pick: (n: number) => number): string | undefined {
  const choose = <T,>(options: T[]): T => options[pick(options.length)]!;
  switch (type) {
    case 'token': {
      const e = entry as { s?: string; c?: string; x?: string };
      if (e.x !== undefined) {
        const word = e.x.split(/\s+/)[0];
        return word ? `${code}:text=${encodeURIComponent(esc(word))}` : undefined;
      }
      if (e.c === undefined) return e.s ? `${code}=${encodeURIComponent(`${esc(e.s)}|`)}` : undefined;
      const forms = [esc(e.c), e.s ? `${esc(e.s)}|${esc(e.c)}` : `|${esc(e.c)}`];
      const value = choose(forms);
      return choose([`${code}=${encodeURIComponent(value)}`, `${code}=${encodeURIComponent(value)}`, `${code}:not=${encodeURIComponent(value)}`]);
    }
    case 'string': {
      const e = entry as { n: string; e: string };
      if (!e.e) return undefined;
      return choose([
        `${code}=${encodeURIComponent(esc(e.e.slice(0, 3)))}`,
        `${code}:exact=${encodeURIComponent(esc(e.e))}`,
        `${code}:contains=${encodeURIComponent(esc(e.n.slice(1, 4)))}`,
      ]);
    }
    case 'reference': {
      if (typeof entry !== 'string' || !/^[A-Z][A-Za-z]+\/[^/]+$/.test(entry)) return undefined;
      const id = entry.split('/')[1]!;
      return choose([`${code}=${encodeURIComponent(entry)}`, `${code}=${encodeURIComponent(`https://fhir.test/${entry}`)}`, `${code}=${encodeURIComponent(id)}`]);
    }
    case 'uri':
      return typeof entry === 'string' ? `${code}=${encodeURIComponent(esc(entry))}` : undefined;
    case 'date': {
      const e = entry as { s: number; e: number };
      if (!(Math.abs(e.s) < 8e15)) return undefined;
      const prefix = choose(['', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb']); // no `ap`: it depends on the clock
      return `${code}=${prefix}${encodeURIComponent(iso(e.s, choose(['day', 'second', 'ms'])))}`;
    }
    case 'number': {
      const e = entry as { l: number };
      return `${code}=${choose(['', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'ap'])}${e.l}`;
    }
    case 'quantity': {
      const e = entry as { v: number; s?: string; c?: string };
      const unit = e.c === undefined ? '' : choose([`|${e.s ? encodeURIComponent(esc(e.s)) : ''}|${encodeURIComponent(esc(e.c))}`, `||${encodeURIComponent(esc(e.c))}`, '']);
      return `${code}=${choose(['', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'ap'])}${e.v}${unit}`;
    }
    default:
      return undefined;
  }
}

/** A query on `type` with 1–3 ANDed terms, some with a second (ORed) value, drawn from resource `at` and others. */
function queryOf(type: string, pick: (n: number) => number): string | undefined {
  const docs = stored.get(type) ?? [];
  const parameters = supportedParametersOf(type).filter((p) => !p.documentField);
  const terms: string[] = [];
  const count = 1 + pick(3);
  for (let attempt = 0; attempt < 12 && terms.length < count; attempt++) {
    const doc = docs[pick(docs.length)]!;
    const roll = pick(20);
    if (roll === 0) {
      terms.push(`_id=${pick(2) ? doc.resource.id : `${doc.resource.id},${docs[pick(docs.length)]!.resource.id}`}`);
      continue;
    }
    if (roll === 1) {
      terms.push(`_lastUpdated=${['gt', 'lt', 'ge', 'le'][pick(4)]}${encodeURIComponent(iso(doc.lastUpdatedMs, 'ms'))}`);
      continue;
    }
    const present = parameters.filter((p) => (doc.idx?.p[p.code]?.length ?? 0) > 0);
    if (roll === 2 && parameters.length > 0) {
      const p = parameters[pick(parameters.length)]!;
      terms.push(`${p.code}:missing=${pick(2) ? 'true' : 'false'}`);
      continue;
    }
    if (present.length === 0) continue;
    const p = present[pick(present.length)]!;
    const entries = doc.idx!.p[p.code] as Entry[];
    const term = termOf(p.code, p.type, entries[pick(entries.length)]!, pick);
    if (!term) continue;
    // Sometimes a second value of the same parameter, ORed (plain terms only).
    const other = docs[pick(docs.length)]!.idx?.p[p.code] as Entry[] | undefined;
    const second = other && pick(4) === 0 && !term.includes(':') ? termOf(p.code, p.type, other[pick(other.length)]!, pick) : undefined;
    terms.push(second && !second.includes(':') && second.startsWith(`${p.code}=`) ? `${term},${second.slice(p.code.length + 1)}` : term);
  }
  return terms.length > 0 ? terms.join('&') : undefined;
}

async function searchIds(type: string, query: string): Promise<string[]> {
  const ids: string[] = [];
  let url: string | undefined = `/${type}?${query}&_count=1000`;
  while (url) {
    const response = await app.inject({ method: 'GET', url, headers: { prefer: 'handling=strict' } });
    assert.is(response.statusCode, 200, `${type}?${query}: ${response.body.slice(0, 300)}`);
    const bundle = response.json() as { entry?: { resource: { id: string }; search: { mode: string } }[]; link: { relation: string; url: string }[] };
    for (const entry of bundle.entry ?? []) if (entry.search.mode === 'match') ids.push(entry.resource.id);
    const next = bundle.link.find((l) => l.relation === 'next')?.url;
    url = next ? next.replace('https://fhir.test', '') : undefined;
  }
  return ids.sort();
}

test(`a _typeFilter export writes exactly what GET [type]?<same query> finds, for ${wantedQueries} generated queries`, async () => {
  console.log(`FC_SEED=${seed}`);
  const types = [...stored.keys()].filter((type) => supportedParametersOf(type).length > 0).sort();
  const rng = fc.sample(fc.infiniteStream(fc.nat()), { seed, numRuns: 1 })[0]!;
  const iterator = rng[Symbol.iterator]();
  const pick = (n: number) => (n <= 1 ? 0 : iterator.next().value % n);
  // Rounds of one query per type (types taken in turn), each round one export with one filter per type.
  const rounds: Map<string, string>[] = [];
  for (let n = 0; n < wantedQueries; ) {
    const type = types[n % types.length]!;
    const query = queryOf(type, pick);
    if (!query) continue;
    assert.is(typeFilterProblem(`${type}?${query}`), undefined, `${type}?${query}`);
    const round = Math.floor(n / types.length);
    (rounds[round] ??= new Map()).set(type, query);
    n += 1;
  }
  const engine = await fx.engine({ maximumNumberOfResourcesPerQuery: 1000, maximumNumberOfConcurrentJobsAllowed: 8, maximumNumberOfConcurrentJobsPerClient: 8 });
  let nonEmpty = 0;
  let compared = 0;
  const runRound = async (round: Map<string, string>) => {
    const { id } = await engine.start(
      exportRequest({ types: [...round.keys()], typeFilters: [...round].map(([type, query]) => `${type}?${query}`), handling: 'strict', requestUrl: 'https://fhir.test/$export' }),
      caller,
    );
    const view = await waitForEnd(engine, id, caller, 120_000);
    assert.is(view.status, 'completed', JSON.stringify(view.failure));
    for (const [type, query] of round) {
      const exported = (await linesOf(fx.blobs, 'exports', view, type)).map((line) => (JSON.parse(line) as { id: string }).id).sort();
      const found = await searchIds(type, query);
      assert.equal(exported, found, `${type}?${query}: the export wrote ${exported.length}, the search found ${found.length}`);
      compared += 1;
      if (found.length > 0) nonEmpty += 1;
    }
  };
  for (let i = 0; i < rounds.length; i += 4) await Promise.all(rounds.slice(i, i + 4).map(runRound));
  console.log(`${compared} queries compared, ${nonEmpty} with matches`);
  assert.ok(compared >= wantedQueries);
  assert.ok(nonEmpty >= compared / 3, `most queries match something (${nonEmpty} of ${compared})`);
});

test.run();
