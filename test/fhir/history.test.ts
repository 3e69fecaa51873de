/**
 * History through the FHIR REST API (fastify inject) over the Cosmos store on the
 * stand-in: vread (a deleted version is 410), instance, type and system history
 * as `history` Bundles with request/response entries (deletions included),
 * `_since`, `_at`, `_count` with `next` links that page without repeats or gaps
 * while others write, transactions that keep every version, and the
 * CapabilityStatement saying so.
 */
import type { FastifyInstance } from 'fastify';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { appOver, issueCode, send } from './support/app.ts';
import { freshStore, startCosmosFixture } from './support/cosmos.ts';
import type { CosmosFixture } from './support/cosmos.ts';

let fixture: CosmosFixture;
let store: CosmosResourceStore;
let app: FastifyInstance;

test.before(async () => {
  fixture = await startCosmosFixture();
  store = await freshStore(fixture);
  app = await appOver(store);
});
test.after(async () => {
  await app?.close();
  await fixture?.stop();
});

interface Entry {
  fullUrl: string;
  resource?: { id: string; meta: { versionId: string; lastUpdated: string }; gender?: string };
  request: { method: string; url: string };
  response: { status: string; etag: string; lastModified: string };
}
interface Bundle {
  resourceType: string;
  type: string;
  link: { relation: string; url: string }[];
  entry: Entry[];
}

const get = async (url: string) => send(app, 'GET', url);
const bundleAt = async (url: string): Promise<Bundle> => {
  const response = await get(url);
  assert.is(response.statusCode, 200, `${url}: ${response.body}`);
  return response.json() as Bundle;
};
const path = (url: string) => url.replace('https://fhir.test', '');

test('vread returns each version as it was; a deleted version is 410, an unknown one 404', async () => {
  await send(app, 'PUT', '/Patient/h1', { resourceType: 'Patient', id: 'h1', gender: 'female' });
  await send(app, 'PUT', '/Patient/h1', { resourceType: 'Patient', id: 'h1', gender: 'male' });
  assert.is((await send(app, 'DELETE', '/Patient/h1')).statusCode, 204);
  await send(app, 'PUT', '/Patient/h1', { resourceType: 'Patient', id: 'h1', gender: 'other' });
  const v1 = await get('/Patient/h1/_history/1');
  assert.is(v1.statusCode, 200);
  assert.is(v1.json().gender, 'female');
  assert.is(v1.json().meta.versionId, '1');
  assert.is(v1.headers.etag, 'W/"1"');
  assert.is((await get('/Patient/h1/_history/2')).json().gender, 'male');
  const v3 = await get('/Patient/h1/_history/3');
  assert.is(v3.statusCode, 410);
  assert.is(issueCode(v3), 'deleted');
  assert.is((await get('/Patient/h1/_history/4')).json().gender, 'other');
  for (const missing of ['/Patient/h1/_history/5', '/Patient/h1/_history/0', '/Patient/h1/_history/x', '/Patient/nobody/_history/1']) {
    assert.is((await get(missing)).statusCode, 404, missing);
  }
});

test('instance history lists every version newest first, with request and response, the deletion as a DELETE', async () => {
  const bundle = await bundleAt('/Patient/h1/_history');
  assert.is(bundle.resourceType, 'Bundle');
  assert.is(bundle.type, 'history');
  assert.equal(
    bundle.entry.map((e) => [e.request.method, e.request.url, e.response.status, e.response.etag]),
    [
      ['PUT', 'Patient/h1', '200 OK', 'W/"4"'],
      ['DELETE', 'Patient/h1', '204 No Content', 'W/"3"'],
      ['PUT', 'Patient/h1', '200 OK', 'W/"2"'],
      ['POST', 'Patient', '201 Created', 'W/"1"'],
    ],
  );
  assert.is(bundle.entry[1]!.resource, undefined);
  assert.equal(
    bundle.entry.filter((e) => e.resource).map((e) => e.resource!.gender),
    ['other', 'male', 'female'],
  );
  assert.ok(bundle.entry.every((e) => e.fullUrl === 'https://fhir.test/Patient/h1'));
  const lastModified = bundle.entry.map((e) => Date.parse(e.response.lastModified));
  assert.equal(lastModified, [...lastModified].sort((a, b) => b - a));
});

test('_since keeps versions written at or after it; _at the versions current during that period', async () => {
  const all = (await bundleAt('/Patient/h1/_history')).entry;
  const v2 = all.find((e) => e.response.etag === 'W/"2"')!;
  const since = await bundleAt(`/Patient/h1/_history?_since=${encodeURIComponent(v2.response.lastModified)}`);
  assert.equal(since.entry.map((e) => e.response.etag), ['W/"4"', 'W/"3"', 'W/"2"']);
  const at = await bundleAt(`/Patient/h1/_history?_at=${encodeURIComponent(v2.response.lastModified)}`);
  assert.equal(at.entry.map((e) => e.response.etag), ['W/"2"'], 'the version current at that instant');
  const year = new Date(v2.response.lastModified).getUTCFullYear();
  assert.is((await bundleAt(`/Patient/h1/_history?_at=${year}`)).entry.length, 4, 'every version was current during the year');
  assert.is((await bundleAt(`/Patient/h1/_history?_at=${year - 1}`)).entry.length, 0);
  for (const bad of ['_since=yesterday', '_since=2024-01-01', '_at=2024-13', '_count=-1', '_bogus=1', '_cursor=nonsense']) {
    const response = await get(`/Patient/h1/_history?${bad}`);
    assert.is(response.statusCode, 400, bad);
    assert.is(issueCode(response), 'invalid', bad);
  }
});

test('type and system history page with _count and next links: every version exactly once while writes go on', async () => {
  for (let i = 0; i < 12; i++) await send(app, 'PUT', `/Observation/o${i}`, { resourceType: 'Observation', id: `o${i}`, status: 'preliminary', code: { text: 'x' } });
  for (let i = 0; i < 12; i += 3) await send(app, 'PUT', `/Observation/o${i}`, { resourceType: 'Observation', id: `o${i}`, status: 'final', code: { text: 'x' } });
  await send(app, 'DELETE', '/Observation/o1');
  const expected = (await bundleAt('/Observation/_history?_count=1000')).entry.map((e) => `${e.fullUrl}|${e.response.etag}`);
  assert.is(expected.length, 12 + 4 + 1);
  const seen: string[] = [];
  let url: string | undefined = '/Observation/_history?_count=5';
  let pages = 0;
  while (url) {
    const page: Bundle = await bundleAt(url);
    seen.push(...page.entry.map((e) => `${e.fullUrl}|${e.response.etag}`));
    // Writes between pages are newer than every version listed so far: they never shift later pages.
    await send(app, 'PUT', `/Observation/o${pages}`, { resourceType: 'Observation', id: `o${pages}`, status: 'amended', code: { text: 'x' } });
    const next = page.link.find((l) => l.relation === 'next');
    url = next ? path(next.url) : undefined;
    pages += 1;
  }
  assert.ok(pages >= 4);
  assert.equal(seen, expected);
  const system = await bundleAt('/_history?_count=1000');
  const types = new Set(system.entry.map((e) => e.fullUrl.split('/')[3]));
  assert.equal([...types].sort(), ['Observation', 'Patient']);
  assert.ok(system.entry.length >= expected.length + 4);
  assert.is((await get('/Nope/_history')).statusCode, 404);
});

test('a transaction keeps the versions it replaces', async () => {
  await send(app, 'PUT', '/Patient/t1', { resourceType: 'Patient', id: 't1', gender: 'female' });
  await sleep(2);
  const response = await send(app, 'POST', '/', {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { resource: { resourceType: 'Patient', id: 't1', gender: 'male' }, request: { method: 'PUT', url: 'Patient/t1' } },
      { resource: { resourceType: 'Patient', id: 't2', gender: 'male' }, request: { method: 'PUT', url: 'Patient/t2' } },
    ],
  });
  assert.is(response.statusCode, 200, response.body);
  const t1 = await bundleAt('/Patient/t1/_history');
  assert.equal(
    t1.entry.map((e) => e.resource?.gender),
    ['male', 'female'],
  );
});

test('the CapabilityStatement lists vread and history at every level, with readHistory', async () => {
  const statement = (await get('/metadata')).json() as {
    rest: { interaction: { code: string }[]; resource: { type: string; readHistory: boolean; interaction: { code: string }[] }[] }[];
  };
  const rest = statement.rest[0]!;
  assert.ok(rest.interaction.some((i) => i.code === 'history-system'));
  const patient = rest.resource.find((r) => r.type === 'Patient')!;
  assert.is(patient.readHistory, true);
  for (const code of ['vread', 'history-instance', 'history-type']) assert.ok(patient.interaction.some((i) => i.code === code), code);
});

test.run();
