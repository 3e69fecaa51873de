/**
 * FHIR search over HTTP (`app.inject`) through the real Cosmos SDK against the
 * stand-in, on the Synthea data set plus a few hand-made resources. Each query's
 * matches (all pages) are compared with an independent oracle computed on the
 * same resources in JavaScript: `@medplum/core`'s `matchesSearchRequest` for
 * tokens, references, `:contains`, `:not` and `:missing`, and predicates written
 * from the specification's text for dates, numbers, quantities and prefixes.
 */
import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from '../../dev/certs.ts';
import type { FhirResource } from '../../fhir-server/fhir/types.ts';
import { normalizeText } from '../../fhir-server/search/index-values.ts';
import { setSearchIndexing } from '../../fhir-server/search/search-index.ts';
import { searchParamsOf } from '../../fhir-server/search/capability.ts';
import type { CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { loud } from '../support/hooks.ts';
import { appOver } from '../fhir/support/app.ts';
import { freshStore, startCosmosFixture } from '../fhir/support/cosmos.ts';
import type { CosmosFixture } from '../fhir/support/cosmos.ts';
import { expectedResources, readInLoadOrder } from '../fhir/support/synthea.ts';

const dataDir = join(repoRoot, '..', 'shared', 'data', 'synthea-r4');
const base = 'https://fhir.test';

let fixture: CosmosFixture;
let store: CosmosResourceStore;
let app: FastifyInstance;
/** Every live resource as stored (with server meta), by type. */
let universe: Map<string, FhirResource[]>;
let patientIds: string[];

const handMade: FhirResource[] = [
  { resourceType: 'Patient', id: 'hm-anna', name: [{ family: 'Müller', given: ['Anna'] }], gender: 'female', birthDate: '1980', deceasedBoolean: false },
  { resourceType: 'Patient', id: 'hm-zoe', name: [{ family: 'Zoë', given: ['Ann-Marie'] }], gender: 'other', address: [{ city: 'Zürich' }] },
  { resourceType: 'RiskAssessment', id: 'hm-r1', status: 'final', subject: { reference: 'Patient/hm-anna' }, prediction: [{ probabilityDecimal: 0.25 }] },
  { resourceType: 'RiskAssessment', id: 'hm-r2', status: 'final', subject: { reference: 'Patient/hm-anna' }, prediction: [{ probabilityDecimal: 0.75 }, { probabilityRange: { low: { value: 0.1 }, high: { value: 0.2 } } }] },
  { resourceType: 'RiskAssessment', id: 'hm-r3', status: 'final', subject: { reference: 'Patient/hm-zoe' }, prediction: [{ probabilityDecimal: 0.251 }] },
  { resourceType: 'Questionnaire', id: 'hm-q', status: 'active', url: 'http://example.org/q', version: '2' },
  { resourceType: 'QuestionnaireResponse', id: 'hm-qr', status: 'completed', questionnaire: 'http://example.org/q|2' },
  { resourceType: 'Observation', id: 'hm-o-abs', status: 'final', code: { text: 'absolute subject' }, subject: { reference: `${base}/Patient/hm-anna` } },
  { resourceType: 'Observation', id: 'hm-o-nosys', status: 'final', code: { coding: [{ code: 'local-1' }] }, subject: { reference: 'Patient/hm-zoe' }, effectivePeriod: { start: '2019-12-31T22:00:00Z', end: '2020-01-01T02:00:00Z' } },
];

test.before(
  loud('before', async () => {
    fixture = await startCosmosFixture();
    store = await freshStore(fixture);
    app = await appOver(store);
    const files = existsSync(dataDir) ? await readInLoadOrder((await readdir(dataDir)).filter((n) => n.endsWith('.json')).map((n) => join(dataDir, n))) : [];
    const synthea = [...expectedResources(files).values()] as (FhirResource & { id: string })[];
    const loaded = await store.bulkUpsert([...synthea, ...handMade] as (FhirResource & { id: string })[]);
    assert.equal(loaded.failed, []);
    // One resource written later than the bulk load, for _lastUpdated.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.update({ ...handMade[1]!, id: 'hm-zoe', active: true } as FhirResource & { id: string });
    // Current versions (earlier ones are stored as <id>@<version>).
    const { resources } = await store.container.items.query<FhirResource>('SELECT VALUE c.resource FROM c WHERE c.deleted = false AND c.id = c.rid').fetchAll();
    universe = new Map();
    for (const r of resources) universe.set(r.resourceType, [...(universe.get(r.resourceType) ?? []), r]);
    patientIds = (universe.get('Patient') ?? []).map((p) => p.id!).sort();
  }),
);
test.after(async () => {
  await app?.close();
  await fixture?.stop();
});

type Bundle = { total?: number; link: { relation: string; url: string }[]; entry?: { resource: FhirResource; search: { mode: string } }[] };

async function get(url: string, headers: Record<string, string> = {}): Promise<Bundle> {
  const response = await app.inject({ method: 'GET', url, headers });
  assert.is(response.statusCode, 200, `${url}: ${response.body.slice(0, 400)}`);
  return response.json() as Bundle;
}

/** Follows `next` links from `url`; the match ids of every page, in order, and the bundles. */
async function searchAll(url: string, between?: (page: number) => Promise<void>): Promise<{ ids: string[]; bundles: Bundle[] }> {
  const bundles: Bundle[] = [];
  let next: string | undefined = url;
  while (next) {
    const bundle = await get(next.startsWith(base) ? next.slice(base.length) : next);
    bundles.push(bundle);
    next = bundle.link.find((l) => l.relation === 'next')?.url;
    if (next && between) await between(bundles.length);
  }
  return { ids: bundles.flatMap((b) => (b.entry ?? []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id!)), bundles };
}

const of = (type: string): FhirResource[] => universe.get(type) ?? [];
const ids = (resources: FhirResource[]): string[] => resources.map((r) => r.id!).sort();
const medplum = (type: string, query: string): string[] => ids(of(type).filter((r) => matchesSearchRequest(r as Resource, parseSearchRequest(`${type}?${query}`))));

/** Asserts the search's matches (all pages, `_count` small to cross pages) equal `expected`, and are not trivially empty or everything. */
async function matches(type: string, query: string, expected: string[], options: { allowEmpty?: boolean } = {}): Promise<void> {
  const { ids: got } = await searchAll(`/${type}?${query}&_count=40`);
  assert.equal([...got].sort(), [...expected].sort(), `${type}?${query}: ${got.length} found, ${expected.length} expected`);
  assert.is(new Set(got).size, got.length, `${type}?${query}: no resource twice`);
  if (!options.allowEmpty) assert.ok(expected.length > 0 && expected.length < of(type).length, `${type}?${query} selects ${expected.length} of ${of(type).length}`);
}

test('token: system|code, code, |code, system|, OR, :not, :text, against matchesSearchRequest', async () => {
  for (const query of [
    'code=http://loinc.org|8302-2',
    'code=8302-2,72514-3',
    'category=http://terminology.hl7.org/CodeSystem/observation-category|',
    'category=vital-signs',
  ]) {
    await matches('Observation', query, medplum('Observation', query));
  }
  await matches('Observation', 'code=|local-1', ['hm-o-nosys']);
  await matches('Observation', 'code=http://loinc.org|local-1', [], { allowEmpty: true });
  await matches('Condition', 'clinical-status=active', medplum('Condition', 'clinical-status=active'));
  await matches('Patient', 'gender=female', medplum('Patient', 'gender=female'));
  await matches('Patient', 'gender:not=male', medplum('Patient', 'gender:not=male'));
  await matches('Patient', 'gender:not=male,female', ['hm-zoe'], { allowEmpty: true });
  await matches('Observation', 'code:text=body%20h', ids(of('Observation').filter((o) => JSON.stringify(o.code).toLowerCase().includes('"body height'))));
});

test('reference: Type/id, bare id, absolute URL at this base, :Type, OR, against matchesSearchRequest', async () => {
  const [p1, p2] = patientIds.filter((id) => !id.startsWith('hm-'));
  const expected = medplum('Observation', `subject=Patient/${p1},Patient/${p2}`);
  await matches('Observation', `subject=Patient/${p1},Patient/${p2}`, expected);
  await matches('Observation', `subject=${p1},${p2}`, expected);
  await matches('Observation', `subject:Patient=${p1},${p2}`, expected);
  await matches('Observation', `subject=${base}/Patient/${p1},${base}/Patient/${p2}`, expected);
  await matches('Observation', 'subject=Patient/hm-anna', ['hm-o-abs'], { allowEmpty: true });
  await matches('Observation', `patient=${p1}`, medplum('Observation', `subject=Patient/${p1}`));
  const practitioner = (of('Encounter')[0]!.participant as { individual: { reference: string } }[])[0]!.individual.reference;
  await matches('Encounter', `participant=${practitioner}`, medplum('Encounter', `participant=${practitioner}`));
});

test('string: prefix by default (case and accents folded), :contains, :exact; uri exact', async () => {
  await matches('Patient', 'name:contains=an', medplum('Patient', 'name:contains=an'));
  await matches('Patient', 'family=mul', ['hm-anna'], { allowEmpty: true });
  await matches('Patient', 'family=MÜL', ['hm-anna'], { allowEmpty: true });
  await matches('Patient', 'name=ann', ['hm-anna', 'hm-zoe'], { allowEmpty: true });
  await matches('Patient', 'family:exact=Müller', ['hm-anna'], { allowEmpty: true });
  await matches('Patient', 'family:exact=müller', [], { allowEmpty: true });
  await matches('Patient', 'address-city=zur,somerv', ids(of('Patient').filter((p) => /"city":"(Zürich|Somerville)"/.test(JSON.stringify(p.address ?? [])))));
  const family = (of('Patient').find((p) => !p.id!.startsWith('hm-'))!.name as { family: string }[])[0]!.family;
  await matches('Patient', `family=${family.slice(0, 3).toLowerCase()}`, ids(of('Patient').filter((p) => normalizeText((p.name as { family: string }[])[0]!.family).startsWith(normalizeText(family.slice(0, 3))))));
  await matches('Questionnaire', 'url=http://example.org/q', ['hm-q'], { allowEmpty: true });
  await matches('Questionnaire', 'url=http://example.org', [], { allowEmpty: true });
  // A canonical reference matches with and without its version.
  await matches('QuestionnaireResponse', 'questionnaire=http://example.org/q', ['hm-qr'], { allowEmpty: true });
  await matches('QuestionnaireResponse', 'questionnaire=http://example.org/q|2', ['hm-qr'], { allowEmpty: true });
});

// The specification's prefixes over a resource range [s, e] and a search range [qs, qe] (R4 search.html#prefix), written out in JS.
const prefixes: Record<string, (s: number, e: number, qs: number, qe: number) => boolean> = {
  eq: (s, e, qs, qe) => s >= qs && e <= qe,
  ne: (s, e, qs, qe) => !(s >= qs && e <= qe),
  gt: (_s, e, _qs, qe) => e > qe,
  lt: (s, _e, qs) => s < qs,
  ge: (s, e, qs, qe) => e > qe || (s >= qs && e <= qe),
  le: (s, e, qs, qe) => s < qs || (s >= qs && e <= qe),
  sa: (s, _e, _qs, qe) => s > qe,
  eb: (_s, e, qs) => e < qs,
};
const secondOf = (text: string): [number, number] => [Date.parse(text), Date.parse(text) + 999];

test('date: every prefix, AND of two conditions, OR of values, against the specification written in JS', async () => {
  const encounters = of('Encounter');
  const periodOf = (r: FhirResource): [number, number] => {
    const { start, end } = r.period as { start: string; end: string };
    return [secondOf(start)[0], secondOf(end)[1]];
  };
  const day = (text: string): [number, number] => [Date.parse(`${text}T00:00:00Z`), Date.parse(`${text}T00:00:00Z`) + 86_400_000 - 1];
  const someDay = (encounters[5]!.period as { start: string }).start.slice(0, 10);
  for (const [prefix, holds] of Object.entries(prefixes)) {
    const [qs, qe] = day(someDay);
    await matches('Encounter', `date=${prefix}${someDay}`, ids(encounters.filter((r) => holds(...periodOf(r), qs, qe))), { allowEmpty: prefix === 'eq' });
  }
  const year = (y: number): [number, number] => [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1) - 1];
  await matches('Encounter', 'date=ge2015&date=lt2018', ids(encounters.filter((r) => prefixes.ge!(...periodOf(r), ...year(2015)) && prefixes.lt!(...periodOf(r), ...year(2018)))));
  await matches('Immunization', 'date=2014,2016', ids(of('Immunization').filter((r) => [2014, 2016].some((y) => prefixes.eq!(...secondOf(r.occurrenceDateTime as string), ...year(y))))));
  await matches('Patient', 'birthdate=1980', ['hm-anna'], { allowEmpty: true });
  await matches('Patient', 'birthdate=le1966-01-30', ids(of('Patient').filter((p) => typeof p.birthDate === 'string' && p.birthDate.length === 10 && p.birthDate <= '1966-01-30')));
  // A period across midnight is in neither day (eq) and overlaps both (ap).
  await matches('Observation', 'date=2020-01-01', [], { allowEmpty: true });
  await matches('Observation', 'date=ap2020-01-01&status=final&code=|local-1', ['hm-o-nosys'], { allowEmpty: true });
});

test('number and quantity: prefixes, implied precision, system and code', async () => {
  // 0.25 stands for [0.245, 0.255); 0.250 for [0.2495, 0.2505).
  await matches('RiskAssessment', 'probability=0.25', ['hm-r1', 'hm-r3'], { allowEmpty: true });
  await matches('RiskAssessment', 'probability=0.250', ['hm-r1'], { allowEmpty: true });
  await matches('RiskAssessment', 'probability=gt0.5', ['hm-r2'], { allowEmpty: true });
  await matches('RiskAssessment', 'probability=lt0.15', ['hm-r2'], { allowEmpty: true });
  await matches('RiskAssessment', 'probability=ne0.250', ['hm-r2', 'hm-r3'], { allowEmpty: true });
  await matches('RiskAssessment', 'probability=ne0.25', ['hm-r2'], { allowEmpty: true });
  const quantities = of('Observation').filter((o) => typeof (o.valueQuantity as { value?: number } | undefined)?.value === 'number');
  const value = (o: FhirResource) => (o.valueQuantity as { value: number; code: string; system: string });
  await matches('Observation', 'value-quantity=gt100', ids(quantities.filter((o) => value(o).value > 100)));
  await matches('Observation', 'value-quantity=le70|http://unitsofmeasure.org|kg', ids(quantities.filter((o) => value(o).value <= 70 && value(o).code === 'kg' && value(o).system === 'http://unitsofmeasure.org')));
  await matches('Observation', 'value-quantity=ge60||kg,lt10||/min', ids(quantities.filter((o) => (value(o).value >= 60 && value(o).code === 'kg') || (value(o).value < 10 && value(o).code === '/min'))), { allowEmpty: true });
});

test(':missing, _id (and :not), _lastUpdated', async () => {
  await matches('Observation', 'value-quantity:missing=true', medplum('Observation', 'value-quantity:missing=true'));
  await matches('Observation', 'value-quantity:missing=false', medplum('Observation', 'value-quantity:missing=false'));
  await matches('Patient', `_id=${patientIds[0]},${patientIds[1]}`, patientIds.slice(0, 2));
  await matches('Patient', `_id:not=${patientIds[0]}`, patientIds.slice(1));
  const latest = of('Patient').find((p) => p.id === 'hm-zoe')!.meta!.lastUpdated!;
  const bulk = of('Patient').find((p) => p.id === 'hm-anna')!.meta!.lastUpdated!;
  assert.ok(bulk < latest);
  await matches('Patient', `_lastUpdated=ge${latest}`, ['hm-zoe'], { allowEmpty: true });
  await matches('Patient', `_lastUpdated=lt${latest}`, patientIds.filter((id) => id !== 'hm-zoe'));
  await matches('Patient', `_lastUpdated=${bulk.slice(0, 10)}`, patientIds, { allowEmpty: true });
});

test('_sort: _id both ways, _lastUpdated, date ascending (earliest start) and descending (latest end); resources without a value come last', async () => {
  const byId = await searchAll('/Patient?_sort=-_id&_count=5');
  assert.equal(byId.ids, [...patientIds].reverse());
  const encounters = await searchAll('/Encounter?_sort=date&_count=17');
  const starts = encounters.ids.map((id) => Date.parse((of('Encounter').find((e) => e.id === id)!.period as { start: string }).start));
  assert.equal(starts, [...starts].sort((a, b) => a - b));
  assert.is(encounters.ids.length, of('Encounter').length);
  const desc = await searchAll('/Observation?_sort=-date&_count=97');
  assert.is(desc.ids.length, of('Observation').length);
  assert.is(new Set(desc.ids).size, desc.ids.length);
  const withDate = desc.ids.filter((id) => { const o = of('Observation').find((x) => x.id === id)!; return o.effectiveDateTime || o.effectivePeriod; });
  assert.equal(desc.ids.slice(0, withDate.length), withDate, 'resources without a date last');
  assert.equal(desc.ids.slice(-1), ['hm-o-abs']);
  const updated = await searchAll('/Patient?_sort=_lastUpdated&_count=4');
  const stamps = updated.ids.map((id) => of('Patient').find((p) => p.id === id)!.meta!.lastUpdated!);
  assert.equal(stamps, [...stamps].sort());
});

test('_include and _revinclude (one level), _elements, _summary=count, _total=accurate', async () => {
  const encounter = of('Encounter')[0]!;
  const bundle = await get(`/Encounter?_id=${encounter.id}&_include=Encounter:subject&_include=Encounter:participant:Practitioner`);
  const included = (bundle.entry ?? []).filter((e) => e.search.mode === 'include').map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
  const participants = (encounter.participant as { individual: { reference: string } }[]).map((p) => p.individual.reference);
  assert.equal(included, [...new Set([(encounter.subject as { reference: string }).reference, ...participants])].sort());
  const patient = patientIds.find((id) => !id.startsWith('hm-'))!;
  const rev = await get(`/Patient?_id=${patient}&_revinclude=Encounter:subject&_revinclude=Condition:subject`);
  const revIds = (rev.entry ?? []).filter((e) => e.search.mode === 'include').map((e) => e.resource.id!).sort();
  const mine = (type: string) => of(type).filter((r) => (r.subject as { reference?: string } | undefined)?.reference === `Patient/${patient}`);
  assert.equal(revIds, ids([...mine('Encounter'), ...mine('Condition')]));
  assert.ok(revIds.length > 0);

  const elements = await get('/Patient?_elements=gender,birthDate&_count=3');
  for (const entry of elements.entry!) {
    assert.equal(Object.keys(entry.resource).filter((k) => !['resourceType', 'id', 'meta', 'gender', 'birthDate'].includes(k)), []);
    assert.ok((entry.resource.meta!.tag as { code: string }[]).some((t) => t.code === 'SUBSETTED'));
  }
  const count = await get('/Patient?_summary=count');
  assert.is(count.total, of('Patient').length);
  assert.is(count.entry, undefined);
  const withTotal = await get('/Observation?status=final&_total=accurate&_count=5');
  assert.is(withTotal.total, (await searchAll('/Observation?status=final&_count=300')).ids.length);
  assert.ok(withTotal.total! > 500);
  assert.is(withTotal.entry!.length, 5);
  const groups = await get('/Group');
  assert.equal(groups.entry!.map((e) => e.resource.resourceType), ['Group']);
  assert.is(groups.total, 1);
});

test('strict refuses what lenient ignores; the self link shows what was applied; POST _search answers the same', async () => {
  const lenient = await get('/Patient?gender=male&nickname=x&_count=100&code-value-quantity=x');
  assert.is(lenient.link.find((l) => l.relation === 'self')!.url, `${base}/Patient?gender=male&_count=100`);
  const outcome = lenient.entry!.find((e) => e.search.mode === 'outcome')!.resource as unknown as { issue: { expression: string[] }[] };
  assert.equal(outcome.issue.map((i) => i.expression[0]), ['nickname', 'code-value-quantity']);
  assert.equal(lenient.entry!.filter((e) => e.search.mode === 'match').map((e) => e.resource.id).sort(), medplum('Patient', 'gender=male'));
  const strict = await app.inject({ method: 'GET', url: '/Patient?gender=male&nickname=x', headers: { prefer: 'handling=strict' } });
  assert.is(strict.statusCode, 400);
  assert.is(strict.json().issue[0].code, 'not-supported');
  assert.equal(strict.json().issue[0].expression, ['nickname']);
  assert.match(strict.json().issue[0].diagnostics, /nickname/);
  const posted = await app.inject({ method: 'POST', url: '/Patient/_search?_count=100', payload: 'gender=male', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.is(posted.statusCode, 200);
  assert.equal((posted.json() as Bundle).entry!.map((e) => e.resource.id).sort(), medplum('Patient', 'gender=male'));
  assert.is((await app.inject({ method: 'GET', url: '/Patient?_compartment=Patient/x', headers: { prefer: 'handling=strict' } })).statusCode, 400);
});

test('GET /metadata lists search-type and exactly the parameters search accepts, per type', async () => {
  const statement = (await app.inject({ method: 'GET', url: '/metadata' })).json() as { rest: { resource: { type: string; interaction: { code: string }[]; searchParam: { name: string }[]; searchInclude: string[] }[] }[] };
  for (const resource of statement.rest[0]!.resource) {
    assert.ok(resource.interaction.some((i) => i.code === 'search-type'), resource.type);
    assert.equal(resource.searchParam.map((p) => p.name), searchParamsOf(resource.type).map((p) => p.name), resource.type);
  }
  const patient = statement.rest[0]!.resource.find((r) => r.type === 'Patient')!;
  for (const { name } of patient.searchParam) {
    const response = await app.inject({ method: 'GET', url: `/Patient?${name}:missing=false&_summary=count`, headers: { prefer: 'handling=strict' } });
    if (name === '_id' || name === '_lastUpdated') continue; // every resource has them: :missing is refused
    assert.is(response.statusCode, 200, `${name}: ${response.body}`);
  }
});

test('sorted paging reads the resources as they were when the search started: each exactly once, whatever is written between pages', async () => {
  for (const query of ['/Observation?_sort=-_lastUpdated&_count=40', '/Observation?_sort=date&_count=40']) {
    const { resources } = await store.container.items
      .query<string>('SELECT VALUE c.rid FROM c WHERE c.resourceType = "Observation" AND c.deleted = false AND c.id = c.rid AND IS_DEFINED(c.idx)')
      .fetchAll();
    const atStart = [...resources].sort();
    let page = 0;
    const { ids: got, bundles } = await searchAll(query, async () => {
      page += 1;
      // Between pages: the next resource to come (by the sort) gets a new version, and a new one appears.
      const victim = atStart[(page * 13) % atStart.length]!;
      const read = await store.read('Observation', victim);
      if (read && !read.deleted) await store.update({ ...read.resource, id: victim, status: 'corrected' } as FhirResource & { id: string });
      await store.create({ resourceType: 'Observation', id: `later-${query.length}-${page}`, status: 'final', code: { text: 'later' } });
    });
    assert.ok(bundles.length > 3, `${query}: ${bundles.length} pages`);
    assert.equal([...got].sort(), atStart, `${query}: exactly the resources there when the search started`);
  }
});

test('paging by keyset under concurrent creates, updates and deletes: every resource there throughout comes exactly once', async () => {
  const before = ids(of('Observation'));
  const touched = new Set<string>();
  let created = 0;
  const { ids: got, bundles } = await searchAll('/Observation?_count=50', async (page) => {
    // Between pages: a new resource, an update of one read and of one not yet read, a deletion of one not yet read.
    const early = before[page * 7]!;
    const late = before[before.length - page * 11 - 1]!;
    const gone = before[before.length - page * 11 - 2]!;
    await store.create({ resourceType: 'Observation', id: `new-${page}`, status: 'final', code: { text: 'new' } });
    for (const id of [early, late]) {
      const read = await store.read('Observation', id);
      if (read && !read.deleted) await store.update({ ...read.resource, id, status: 'amended' } as FhirResource & { id: string });
      touched.add(id);
    }
    await store.delete('Observation', gone);
    touched.add(gone);
    created += 1;
  });
  assert.ok(bundles.length > 10, `${bundles.length} pages`);
  assert.is(new Set(got).size, got.length, 'no resource twice');
  const untouched = before.filter((id) => !touched.has(id));
  const seen = new Set(got);
  assert.equal(untouched.filter((id) => !seen.has(id)), [], 'no resource that stayed is missed');
  assert.ok(created > 10);
  assert.ok(bundles[1]!.link.find((l) => l.relation === 'self')!.url.includes('_cursor='));

  // Filtered searches after the writes: updates are re-indexed, tombstones (no idx) and a document written
  // with indexing off are passed over, not a failure of the query.
  setSearchIndexing(false);
  try {
    await store.create({ resourceType: 'Observation', id: 'unindexed', status: 'amended', code: { text: 'unindexed' } });
  } finally {
    setSearchIndexing(true);
  }
  const { resources: live } = await store.container.items
    .query<FhirResource>({ query: 'SELECT VALUE c.resource FROM c WHERE c.resourceType = "Observation" AND c.deleted = false AND c.id = c.rid' })
    .fetchAll();
  const amended = ids(live.filter((o) => o.status === 'amended' && o.id !== 'unindexed'));
  assert.ok(amended.length > 5);
  assert.equal((await searchAll('/Observation?status=amended&_count=100')).ids.sort(), amended);
  assert.ok((await searchAll('/Observation?_count=500')).ids.includes('unindexed'), 'an unfiltered search still lists it');
});

test.run();
