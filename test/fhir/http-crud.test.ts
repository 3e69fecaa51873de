/**
 * The FHIR REST API through fastify's inject, over the Cosmos store on the stand-in:
 * create/read/update/delete, ETag and If-Match, Prefer, conditional create,
 * the CapabilityStatement and the authorization hook.
 */
import type { FastifyInstance } from 'fastify';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CapabilityRegistry } from '../../fhir-server/fhir/capabilities.ts';
import { FhirError } from '../../fhir-server/fhir/errors.ts';
import type { CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { appOver, issueCode, send } from './support/app.ts';
import { countDocuments, freshStore, snapshot, startCosmosFixture } from './support/cosmos.ts';
import type { CosmosFixture } from './support/cosmos.ts';

let fixture: CosmosFixture;
let store: CosmosResourceStore;
let app: FastifyInstance;
const capabilities = new CapabilityRegistry();

test.before(async () => {
  fixture = await startCosmosFixture();
  store = await freshStore(fixture);
  app = await appOver(store, { capabilities });
});
test.after(async () => {
  await app?.close();
  await fixture?.stop();
});

const patient = { resourceType: 'Patient', id: 'ignored-on-create', name: [{ family: 'Chalmers', given: ['Peter'] }], gender: 'male', birthDate: '1974-12-25' };

test('POST creates with a server id; GET returns the same JSON with ETag and Last-Modified', async () => {
  const created = await send(app, 'POST', '/Patient', patient);
  assert.is(created.statusCode, 201);
  assert.match(created.headers['content-type'] as string, /^application\/fhir\+json/);
  const body = created.json();
  assert.is.not(body.id, 'ignored-on-create');
  assert.match(body.id, /^[0-9a-f-]{36}$/);
  assert.equal(body.meta.versionId, '1');
  assert.is(created.headers.etag, 'W/"1"');
  assert.is(created.headers.location, `https://fhir.test/Patient/${body.id}/_history/1`);
  assert.is(created.headers['last-modified'], new Date(body.meta.lastUpdated).toUTCString());
  assert.equal({ ...body, id: patient.id, meta: undefined }, { ...patient, meta: undefined });

  const read = await send(app, 'GET', `/Patient/${body.id}`);
  assert.is(read.statusCode, 200);
  assert.is(read.body, created.body);
  assert.is(read.headers.etag, 'W/"1"');
});

test('PUT with If-Match updates; a stale If-Match gets 412 and changes nothing', async () => {
  const id = (await send(app, 'POST', '/Patient', patient)).json().id as string;
  const updated = await send(app, 'PUT', `/Patient/${id}`, { ...patient, id, gender: 'other' }, { 'if-match': 'W/"1"' });
  assert.is(updated.statusCode, 200);
  assert.is(updated.headers.etag, 'W/"2"');
  assert.is(updated.json().gender, 'other');
  const before = await snapshot(store);
  const stale = await send(app, 'PUT', `/Patient/${id}`, { ...patient, id, gender: 'female' }, { 'if-match': 'W/"1"' });
  assert.is(stale.statusCode, 412);
  assert.is(issueCode(stale), 'conflict');
  const staleDelete = await send(app, 'DELETE', `/Patient/${id}`, undefined, { 'if-match': '"1"' });
  assert.is(staleDelete.statusCode, 412);
  assert.equal(await snapshot(store), before);
  assert.is((await send(app, 'GET', `/Patient/${id}`)).json().gender, 'other');
});

test('PUT to a new id creates it (201); DELETE leaves 410 Gone; a second DELETE is 204', async () => {
  const created = await send(app, 'PUT', '/Patient/pat-put-1', { ...patient, id: 'pat-put-1' });
  assert.is(created.statusCode, 201);
  assert.is(created.headers.location, 'https://fhir.test/Patient/pat-put-1/_history/1');
  const deleted = await send(app, 'DELETE', '/Patient/pat-put-1');
  assert.is(deleted.statusCode, 204);
  assert.is(deleted.headers.etag, 'W/"2"');
  const gone = await send(app, 'GET', '/Patient/pat-put-1');
  assert.is(gone.statusCode, 410);
  assert.is(issueCode(gone), 'deleted');
  assert.is((await send(app, 'DELETE', '/Patient/pat-put-1')).statusCode, 204);
  const missing = await send(app, 'GET', '/Patient/never-was');
  assert.is(missing.statusCode, 404);
  assert.is(issueCode(missing), 'not-found');
  const recreated = await send(app, 'PUT', '/Patient/pat-put-1', { ...patient, id: 'pat-put-1' });
  assert.is(recreated.statusCode, 201);
  assert.is(recreated.headers.etag, 'W/"3"');
});

test('Prefer: return=minimal sends no body; return=OperationOutcome sends an outcome', async () => {
  const minimal = await send(app, 'POST', '/Observation', { resourceType: 'Observation', status: 'final', code: { text: 'x' } }, { prefer: 'return=minimal' });
  assert.is(minimal.statusCode, 201);
  assert.is(minimal.body, '');
  assert.ok(minimal.headers.location);
  const outcome = await send(app, 'POST', '/Observation', { resourceType: 'Observation', status: 'final', code: { text: 'x' } }, { prefer: 'return=OperationOutcome' });
  assert.is(outcome.json().resourceType, 'OperationOutcome');
});

test('If-None-Exist returns the existing match instead of creating', async () => {
  const org = { resourceType: 'Organization', identifier: [{ system: 'urn:test:org', value: 'o-42' }], name: 'General' };
  const first = await send(app, 'POST', '/Organization', org, { 'if-none-exist': 'identifier=urn:test:org|o-42' });
  assert.is(first.statusCode, 201);
  const count = await countDocuments(store);
  const second = await send(app, 'POST', '/Organization', org, { 'if-none-exist': 'identifier=urn:test:org|o-42' });
  assert.is(second.statusCode, 200);
  assert.is(second.json().id, first.json().id);
  assert.is(await countDocuments(store), count);
});

test('application/json is accepted like application/fhir+json', async () => {
  const created = await send(app, 'POST', '/Patient', patient, { 'content-type': 'application/json; charset=utf-8' });
  assert.is(created.statusCode, 201);
});

test('metadata lists the interactions and what features register', async () => {
  capabilities.addOperation({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' });
  capabilities.addOperation({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export', resourceTypes: ['Patient'] });
  const response = await send(app, 'GET', '/metadata');
  assert.is(response.statusCode, 200);
  const cs = response.json();
  assert.is(cs.resourceType, 'CapabilityStatement');
  assert.is(cs.fhirVersion, '4.0.1');
  const rest = cs.rest[0];
  assert.equal(rest.interaction.map((i: { code: string }) => i.code), ['transaction', 'batch', 'history-system']);
  assert.equal(rest.operation, [{ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' }]);
  const patientEntry = rest.resource.find((r: { type: string }) => r.type === 'Patient');
  assert.equal(patientEntry.interaction.map((i: { code: string }) => i.code), ['read', 'vread', 'create', 'update', 'delete', 'history-instance', 'history-type', 'search-type']);
  assert.is(patientEntry.operation[0].name, 'export');
  assert.not.ok(rest.resource.some((r: { type: string }) => r.type === 'OperationOutcome'));
});

test('the authorize hook can refuse; a refused write writes nothing', async () => {
  const guarded = await appOver(store, {
    authorize: (request, access) => {
      if (request.headers.authorization !== 'Bearer ok') throw new FhirError('unauthenticated', 'No valid bearer token');
      if (access === 'write') throw Object.assign(new Error('read only'), { statusCode: 403 });
    },
  });
  const count = await countDocuments(store);
  const anonymous = await send(guarded, 'GET', '/Patient/x');
  assert.is(anonymous.statusCode, 401);
  assert.is(issueCode(anonymous), 'login');
  const write = await send(guarded, 'POST', '/Patient', patient, { authorization: 'Bearer ok' });
  assert.is(write.statusCode, 403);
  assert.is(issueCode(write), 'forbidden');
  const bundle = await send(guarded, 'POST', '/', { resourceType: 'Bundle', type: 'batch', entry: [] }, { authorization: 'Bearer ok' });
  assert.is(bundle.statusCode, 403);
  assert.is(await countDocuments(store), count);
  assert.is((await send(guarded, 'GET', '/Patient/x', undefined, { authorization: 'Bearer ok' })).statusCode, 404);
  await guarded.close();
});

test.run();
