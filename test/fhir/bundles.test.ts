/**
 * Batch and transaction Bundles through the REST API: urn:uuid resolution,
 * ids kept from urn:uuid fullUrls, cross-bundle and conditional references,
 * all-or-nothing transactions against per-entry batches.
 */
import type { FastifyInstance } from 'fastify';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import type { ResourceDocument } from '../../fhir-server/store/document.ts';
import { partitionKeyOf } from '../../fhir-server/store/document.ts';
import { appOver, issueCode, send } from './support/app.ts';
import { countDocuments, freshStore, snapshot, startCosmosFixture } from './support/cosmos.ts';
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

const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
type Entry = Record<string, unknown>;
const bundle = (type: 'batch' | 'transaction', entry: Entry[]) => ({ resourceType: 'Bundle', type, entry });
const post = (n: number | undefined, resource: Record<string, unknown>): Entry => ({
  ...(n === undefined ? {} : { fullUrl: `urn:uuid:${uuid(n)}` }),
  resource,
  request: { method: 'POST', url: resource.resourceType },
});

test('a transaction keeps urn:uuid ids, rewrites references at any depth, and indexes compartments', async () => {
  const response = await send(
    app,
    'POST',
    '/',
    bundle('transaction', [
      post(1, { resourceType: 'Patient', name: [{ family: 'Lee' }] }),
      post(2, { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `urn:uuid:${uuid(1)}` } }),
      post(3, {
        resourceType: 'Claim',
        status: 'active',
        type: { text: 'professional' },
        use: 'claim',
        patient: { reference: `urn:uuid:${uuid(1)}` },
        created: '2024-01-01',
        provider: { display: 'Clinic' },
        priority: { text: 'normal' },
        insurance: [{ sequence: 1, focal: true, coverage: { display: 'Plan' } }],
        item: [{ sequence: 1, productOrService: { text: 'visit' }, encounter: [{ reference: `urn:uuid:${uuid(2)}` }] }],
      }),
      post(undefined, { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `urn:uuid:${uuid(1)}` } }),
    ]),
  );
  assert.is(response.statusCode, 200, response.body);
  const result = response.json();
  assert.is(result.type, 'transaction-response');
  assert.equal(result.entry.map((e: { response: { status: string } }) => e.response.status), ['201 Created', '201 Created', '201 Created', '201 Created']);
  assert.is(result.entry[0].response.location, `Patient/${uuid(1)}/_history/1`);
  assert.is(result.entry[0].response.etag, 'W/"1"');
  assert.not.ok(result.entry[0].resource, 'no resources unless asked for');
  const claim = (await send(app, 'GET', `/Claim/${uuid(3)}`)).json();
  assert.is(claim.patient.reference, `Patient/${uuid(1)}`);
  assert.is(claim.item[0].encounter[0].reference, `Encounter/${uuid(2)}`);
  const obsLocation = result.entry[3].response.location as string;
  const obsId = obsLocation.split('/')[1]!;
  assert.is.not(obsId, uuid(4));
  const { resource: doc } = await store.container.item(obsId, partitionKeyOf('Observation', obsId)).read<ResourceDocument>();
  assert.equal(doc?.compartments, [`Patient/${uuid(1)}`]);
});

test('Prefer: return=representation puts the stored resources in the response', async () => {
  const response = await send(app, 'POST', '/', bundle('transaction', [post(10, { resourceType: 'Patient' })]), { prefer: 'return=representation' });
  const entry = response.json().entry[0];
  assert.is(entry.resource.id, uuid(10));
  assert.is(entry.resource.meta.versionId, '1');
});

test('posting the same urn:uuid again keeps the stored resource (200) and writes nothing', async () => {
  const again = bundle('transaction', [post(1, { resourceType: 'Patient', name: [{ family: 'Someone else' }] })]);
  const before = await snapshot(store);
  const response = await send(app, 'POST', '/', again);
  assert.is(response.statusCode, 200);
  assert.is(response.json().entry[0].response.status, '200 OK');
  assert.is(response.json().entry[0].response.etag, 'W/"1"');
  assert.equal(await snapshot(store), before);
});

test('a reference to a urn:uuid stored by an earlier bundle resolves to Type/id', async () => {
  const response = await send(app, 'POST', '/', bundle('transaction', [post(20, { resourceType: 'Condition', subject: { reference: `urn:uuid:${uuid(1)}` } })]));
  assert.is(response.statusCode, 200, response.body);
  assert.is((await send(app, 'GET', `/Condition/${uuid(20)}`)).json().subject.reference, `Patient/${uuid(1)}`);
  const dangling = await send(app, 'POST', '/', bundle('transaction', [post(21, { resourceType: 'Condition', subject: { reference: `urn:uuid:${uuid(999)}` } })]));
  assert.is(dangling.statusCode, 400);
  assert.match(dangling.json().issue[0].diagnostics, /resolves neither/);
});

test('conditional references and ifNoneExist resolve by identifier, within the bundle or on the server', async () => {
  const org = { resourceType: 'Organization', identifier: [{ system: 'https://github.com/synthetichealth/synthea', value: 'org-7' }], name: 'Clinic' };
  const first = await send(app, 'POST', '/', bundle('transaction', [
    { fullUrl: `urn:uuid:${uuid(30)}`, resource: org, request: { method: 'POST', url: 'Organization', ifNoneExist: 'identifier=https://github.com/synthetichealth/synthea|org-7' } },
    post(31, { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, serviceProvider: { reference: 'Organization?identifier=https://github.com/synthetichealth/synthea|org-7' } }),
  ]));
  assert.is(first.statusCode, 200, first.body);
  assert.is((await send(app, 'GET', `/Encounter/${uuid(31)}`)).json().serviceProvider.reference, `Organization/${uuid(30)}`);
  const second = await send(app, 'POST', '/', bundle('transaction', [
    { fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001', resource: org, request: { method: 'POST', url: 'Organization', ifNoneExist: 'identifier=https://github.com/synthetichealth/synthea|org-7' } },
    post(32, { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, serviceProvider: { reference: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001' } }),
  ]));
  assert.is(second.statusCode, 200, second.body);
  assert.is(second.json().entry[0].response.status, '200 OK');
  assert.is((await send(app, 'GET', `/Encounter/${uuid(32)}`)).json().serviceProvider.reference, `Organization/${uuid(30)}`);
  const none = await send(app, 'POST', '/', bundle('transaction', [post(33, { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, serviceProvider: { reference: 'Organization?identifier=urn:x|nope' } })]));
  assert.is(none.statusCode, 400);
});

function mixedEntries(tag: string): Entry[] {
  return [
    { fullUrl: 'urn:uuid:bbbbbbbb-0000-4000-8000-00000000000' + tag, resource: { resourceType: 'Patient', gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Patient', id: `put-${tag}`, gender: 'male' }, request: { method: 'PUT', url: `Patient/put-${tag}` } },
    { resource: { resourceType: 'Patient', id: 'p-if-match', gender: 'other' }, request: { method: 'PUT', url: 'Patient/p-if-match', ifMatch: 'W/"7"' } },
    { resource: { resourceType: 'Observation', status: 'final', code: { text: tag } }, request: { method: 'POST', url: 'Observation' } },
    { request: { method: 'GET', url: `Patient/${uuid(1)}` } },
  ];
}

test('If-Match conflict on entry 3 of 5: the transaction writes nothing, the batch writes the other entries', async () => {
  await send(app, 'PUT', '/Patient/p-if-match', { resourceType: 'Patient', id: 'p-if-match' });
  const before = await snapshot(store);
  const tx = await send(app, 'POST', '/', bundle('transaction', mixedEntries('1')));
  assert.is(tx.statusCode, 412);
  assert.is(issueCode(tx), 'conflict');
  assert.equal(tx.json().issue[0].expression, ['Bundle.entry[2]']);
  assert.equal(await snapshot(store), before);

  const count = await countDocuments(store);
  const batch = await send(app, 'POST', '/', bundle('batch', mixedEntries('2')));
  assert.is(batch.statusCode, 200);
  const result = batch.json();
  assert.is(result.type, 'batch-response');
  assert.equal(result.entry.map((e: { response: { status: string } }) => e.response.status), ['201 Created', '201 Created', '412 Precondition Failed', '201 Created', '200 OK']);
  assert.is(result.entry[2].response.outcome.issue[0].code, 'conflict');
  assert.is(result.entry[4].resource.id, uuid(1));
  assert.is(await countDocuments(store), count + 3);
});

test('a batch answers malformed entries in place and processes the rest', async () => {
  const response = await send(app, 'POST', '/', bundle('batch', [
    { resource: { resourceType: 'Patient', id: 'bad id' }, request: { method: 'PUT', url: 'Patient/bad id' } },
    { request: { method: 'GET', url: 'Patient/never-existed' } },
    { request: { method: 'DELETE', url: 'Patient/put-2' } },
    { request: { method: 'GET', url: 'Patient?name=x' } },
    { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
  ]));
  assert.is(response.statusCode, 200);
  assert.equal(response.json().entry.map((e: { response: { status: string } }) => e.response.status), ['400 Bad Request', '404 Not Found', '204 No Content', '400 Bad Request', '201 Created']);
  assert.is((await send(app, 'GET', '/Patient/put-2')).statusCode, 410);
});

test('a transaction reads after its writes and deletes with If-Match', async () => {
  await send(app, 'PUT', '/Patient/tx-del', { resourceType: 'Patient', id: 'tx-del' });
  const response = await send(app, 'POST', '/', bundle('transaction', [
    { request: { method: 'DELETE', url: 'Patient/tx-del', ifMatch: 'W/"1"' } },
    { resource: { resourceType: 'Patient', id: 'tx-new', gender: 'female' }, request: { method: 'PUT', url: 'Patient/tx-new' } },
    { request: { method: 'GET', url: 'Patient/tx-new' } },
  ]));
  assert.is(response.statusCode, 200, response.body);
  const entries = response.json().entry;
  assert.equal(entries.map((e: { response: { status: string } }) => e.response.status), ['204 No Content', '201 Created', '200 OK']);
  assert.is(entries[2].resource.gender, 'female');
  assert.is((await send(app, 'GET', '/Patient/tx-del')).statusCode, 410);
  const missingRead = await send(app, 'POST', '/', bundle('transaction', [
    { resource: { resourceType: 'Patient', id: 'tx-never' }, request: { method: 'PUT', url: 'Patient/tx-never' } },
    { request: { method: 'GET', url: 'Patient/none-such' } },
  ]));
  assert.is(missingRead.statusCode, 404);
  assert.equal(missingRead.json().issue[0].expression, ['Bundle.entry[1]']);
  assert.is((await send(app, 'GET', '/Patient/tx-never')).statusCode, 404, 'a failing read writes nothing');
});

test.run();
