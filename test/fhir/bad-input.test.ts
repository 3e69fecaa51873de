/**
 * Every kind of bad input gets a 4xx OperationOutcome with the right issue code,
 * and the store holds exactly what it held before.
 */
import type { FastifyInstance } from 'fastify';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { appOver, issueCode, send } from './support/app.ts';
import { countDocuments, freshStore, snapshot, startCosmosFixture } from './support/cosmos.ts';
import type { CosmosFixture } from './support/cosmos.ts';

let fixture: CosmosFixture;
let store: CosmosResourceStore;
let app: FastifyInstance;

test.before(async () => {
  fixture = await startCosmosFixture();
  store = await freshStore(fixture);
  app = await appOver(store, { limits: { resourceBytes: 4096, bundleBytes: 16384 }, serviceOptions: { resourceBytes: 4096 } });
  await send(app, 'PUT', '/Patient/existing', { resourceType: 'Patient', id: 'existing' });
});
test.after(async () => {
  await app?.close();
  await fixture?.stop();
});

const big = 'x'.repeat(5000);
const okPatient = { resourceType: 'Patient', gender: 'female' };

interface BadCase {
  name: string;
  method: 'POST' | 'PUT' | 'GET' | 'DELETE';
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const cases: BadCase[] = [
  { name: 'body that is not JSON', method: 'POST', url: '/Patient', body: '{"resourceType": "Patient",', status: 400, code: 'invalid' },
  { name: 'empty body', method: 'POST', url: '/Patient', body: '', status: 400, code: 'invalid' },
  { name: 'JSON array', method: 'POST', url: '/Patient', body: [okPatient], status: 400, code: 'invalid' },
  { name: 'no resourceType', method: 'POST', url: '/Patient', body: { gender: 'female' }, status: 400, code: 'invalid' },
  { name: 'resourceType not a string', method: 'POST', url: '/Patient', body: { resourceType: 7 }, status: 400, code: 'invalid' },
  { name: 'unknown resourceType in the body', method: 'POST', url: '/Patient', body: { resourceType: 'Patientt' }, status: 400, code: 'invalid' },
  { name: 'type in body differs from URL', method: 'POST', url: '/Patient', body: { resourceType: 'Observation', status: 'final' }, status: 400, code: 'invalid' },
  { name: 'unknown type in the URL', method: 'POST', url: '/Foo', body: { resourceType: 'Foo' }, status: 404, code: 'not-found' },
  { name: 'unknown type on read', method: 'GET', url: '/Foo/1', status: 404, code: 'not-found' },
  { name: 'a type the server does not store', method: 'POST', url: '/OperationOutcome', body: { resourceType: 'OperationOutcome', issue: [] }, status: 400, code: 'not-supported' },
  { name: 'PUT without id in the body', method: 'PUT', url: '/Patient/abc', body: okPatient, status: 400, code: 'required' },
  { name: 'PUT with another id in the body', method: 'PUT', url: '/Patient/abc', body: { ...okPatient, id: 'xyz' }, status: 400, code: 'value' },
  { name: 'PUT to the existing id with a body for another one', method: 'PUT', url: '/Patient/existing', body: { ...okPatient, id: 'other' }, status: 400, code: 'value' },
  { name: 'id with characters outside the id rule', method: 'PUT', url: '/Patient/bad_id', body: { ...okPatient, id: 'bad_id' }, status: 400, code: 'invalid' },
  { name: 'id longer than 64 characters', method: 'PUT', url: `/Patient/${'a'.repeat(65)}`, body: { ...okPatient, id: 'a'.repeat(65) }, status: 400, code: 'invalid' },
  { name: 'read with a malformed id', method: 'GET', url: '/Patient/bad_id', status: 400, code: 'invalid' },
  { name: 'null element', method: 'POST', url: '/Patient', body: { ...okPatient, birthDate: null }, status: 400, code: 'structure' },
  { name: 'nesting deeper than any resource', method: 'POST', url: '/Patient', body: `{"resourceType":"Patient","extension":${'['.repeat(2000)}${']'.repeat(2000)}}`, status: 400, code: 'invalid' },
  { name: 'meta that is not an object', method: 'POST', url: '/Patient', body: { ...okPatient, meta: 'v1' }, status: 400, code: 'structure' },
  { name: 'contained entry without a type', method: 'POST', url: '/Patient', body: { ...okPatient, contained: [{ id: 'x' }] }, status: 400, code: 'structure' },
  { name: 'malformed If-Match', method: 'PUT', url: '/Patient/existing', body: { ...okPatient, id: 'existing' }, headers: { 'if-match': 'version-one' }, status: 400, code: 'invalid' },
  { name: 'text/plain body', method: 'POST', url: '/Patient', body: JSON.stringify(okPatient), headers: { 'content-type': 'text/plain' }, status: 415, code: 'not-supported' },
  { name: 'XML body', method: 'POST', url: '/Patient', body: '<Patient xmlns="http://hl7.org/fhir"/>', headers: { 'content-type': 'application/fhir+xml' }, status: 415, code: 'not-supported' },
  { name: 'resource over the body limit', method: 'POST', url: '/Patient', body: { ...okPatient, text: { status: 'generated', div: big } }, status: 413, code: 'too-costly' },
  { name: 'search with an unknown parameter, strict', method: 'GET', url: '/Patient?name=x&nickname=y', headers: { prefer: 'handling=strict' }, status: 400, code: 'not-supported' },
  { name: 'search with a malformed date', method: 'GET', url: '/Patient?birthdate=ge2020-13', status: 400, code: 'invalid' },
  { name: 'search with a malformed continuation', method: 'GET', url: '/Patient?_cursor=not-a-cursor', status: 400, code: 'invalid' },
  { name: 'search form body on a create', method: 'POST', url: '/Patient', body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'not-supported' },
  { name: 'search on an unknown type', method: 'GET', url: '/Foo?name=x', status: 404, code: 'not-found' },
  { name: 'unknown path', method: 'GET', url: '/Patient/x/y/z', status: 404, code: 'not-found' },
  { name: 'POST to base with a resource that is not a Bundle', method: 'POST', url: '/', body: okPatient, status: 400, code: 'invalid' },
  { name: 'Bundle of type collection', method: 'POST', url: '/', body: { resourceType: 'Bundle', type: 'collection', entry: [] }, status: 400, code: 'invalid' },
  { name: 'Bundle over the body limit', method: 'POST', url: '/', body: { resourceType: 'Bundle', type: 'batch', entry: Array.from({ length: 5 }, () => ({ resource: { ...okPatient, text: { status: 'generated', div: big } }, request: { method: 'POST', url: 'Patient' } })) }, status: 413, code: 'too-costly' },
  {
    name: 'transaction with one invalid resource',
    method: 'POST',
    url: '/',
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: okPatient, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', id: 'other', status: 'final', code: { text: 'x' } }, request: { method: 'PUT', url: 'Observation/ok' } },
      ],
    },
    status: 400,
    code: 'value',
  },
  {
    name: 'transaction entry over the resource limit',
    method: 'POST',
    url: '/',
    body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...okPatient, text: { status: 'generated', div: big } }, request: { method: 'POST', url: 'Patient' } }] },
    status: 413,
    code: 'too-costly',
  },
  {
    name: 'transaction entry with an unsupported method',
    method: 'POST',
    url: '/',
    body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: okPatient, request: { method: 'PATCH', url: 'Patient/existing' } }] },
    status: 400,
    code: 'not-supported',
  },
];

for (const c of cases) {
  test(`${c.name}: ${c.status} ${c.code}, store unchanged`, async () => {
    const before = await snapshot(store);
    const count = await countDocuments(store);
    const response = await send(app, c.method, c.url, c.body, c.headers);
    assert.is(response.statusCode, c.status, response.body);
    assert.match(response.headers['content-type'] as string, /^application\/fhir\+json/);
    assert.is(issueCode(response), c.code);
    assert.is(response.json().issue[0].severity, 'error');
    assert.ok(response.json().issue[0].diagnostics);
    assert.is(await countDocuments(store), count);
    assert.equal(await snapshot(store), before);
  });
}

test('a resource that is not valid R4 is refused with one issue per problem at its FHIRPath, and nothing is stored', async () => {
  const before = await snapshot(store);
  const response = await send(app, 'POST', '/Patient', { resourceType: 'Patient', birthDate: 'not-a-date', gender: 12, name: [{ use: 'nick', family: 'F' }] });
  assert.is(response.statusCode, 400, response.body);
  const outcome = response.json();
  assert.equal(outcome.issue.map((i: { expression: string[] }) => i.expression[0]), ['Patient.birthDate', 'Patient.gender', 'Patient.name[0].use']);
  assert.ok(outcome.issue.every((i: { severity: string; diagnostics: string }) => i.severity === 'error' && i.diagnostics));
  const update = await send(app, 'PUT', '/Patient/existing', { resourceType: 'Patient', id: 'existing', gender: 'weird' });
  assert.is(update.statusCode, 400, update.body);
  assert.equal(update.json().issue.map((i: { code: string; expression: string[] }) => [i.code, i.expression[0]]), [['code-invalid', 'Patient.gender']]);
  assert.equal(await snapshot(store), before);
});

const invalidEntries = (type: 'batch' | 'transaction') => ({
  resourceType: 'Bundle',
  type,
  entry: [
    { resource: okPatient, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Patient', gender: 12 }, request: { method: 'POST', url: 'Patient' } },
    { resource: okPatient, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Patient', id: 'p3', birthDate: 'not-a-date', active: 'yes' }, request: { method: 'PUT', url: 'Patient/p3' } },
  ],
});

test('a transaction with invalid entries writes nothing and names every problem of every entry', async () => {
  const before = await snapshot(store);
  const response = await send(app, 'POST', '/', invalidEntries('transaction'));
  assert.is(response.statusCode, 400, response.body);
  assert.equal(response.json().issue.map((i: { expression: string[] }) => i.expression[0]), ['Bundle.entry[1].resource.gender', 'Bundle.entry[3].resource.birthDate', 'Bundle.entry[3].resource.active']);
  assert.equal(await snapshot(store), before);
});

test('a batch answers each invalid entry 400 with its own issues; the valid entries are written', async () => {
  const count = await countDocuments(store);
  const response = await send(app, 'POST', '/', invalidEntries('batch'));
  assert.is(response.statusCode, 200, response.body);
  const entries = response.json().entry as { response: { status: string; outcome?: { issue: { expression: string[] }[] } } }[];
  assert.equal(entries.map((e) => e.response.status), ['201 Created', '400 Bad Request', '201 Created', '400 Bad Request']);
  assert.equal(entries[1]!.response.outcome!.issue.map((i) => i.expression[0]), ['Bundle.entry[1].resource.gender']);
  assert.equal(entries[3]!.response.outcome!.issue.map((i) => i.expression[0]), ['Bundle.entry[3].resource.birthDate', 'Bundle.entry[3].resource.active']);
  assert.is(await countDocuments(store), count + 2);
});

test('with R4 validation switched off (r4Validation: false) the store rules still hold', async () => {
  const loose = await appOver(store, { serviceOptions: { r4Validation: false } });
  try {
    const accepted = await send(loose, 'POST', '/Patient', { resourceType: 'Patient', gender: 'weird' });
    assert.is(accepted.statusCode, 201, accepted.body);
    const refusedNull = await send(loose, 'POST', '/Patient', { resourceType: 'Patient', gender: null });
    assert.is(refusedNull.statusCode, 400);
    assert.equal(refusedNull.json().issue[0].expression, ['Patient.gender']);
  } finally {
    await loose.close();
  }
});

test('the failing entry of a transaction is named in the outcome', async () => {
  const response = await send(app, 'POST', '/', cases.find((c) => c.name === 'transaction with one invalid resource')!.body);
  assert.equal(response.json().issue[0].expression, ['Bundle.entry[1].resource.id']);
});

test.run();
