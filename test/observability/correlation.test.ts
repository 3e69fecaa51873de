/**
 * Correlation ids across the mesh: a REST request's id (the client's
 * `x-correlation-id` / `x-request-id` when well-formed, else a new one) comes
 * back in the response and in the request's log line; an export kick-off's id
 * is stored with the job, carried by its worker lines, and sent to the routing
 * server with the GetToken made for the job, which logs it. No log line holds
 * a token.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCosmosClient } from '../../common/cosmos.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { captureLogs, type LogCapture } from './support/log-capture.ts';
import { runExport } from './support/mesh.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let mesh: MeshSetup;
let logs: LogCapture;
let ca: string;

test.before(loud('before', async () => {
  logs = captureLogs();
  mesh = await startMeshSetup({ accountName: 'obs-correlation', logDestination: logs, env: { ROUTING_LOG_LEVEL: 'info' }, fhirEnv: { FHIR_LOG_LEVEL: 'info' } });
  ca = mesh.routing.standIns.tls.caPem;
  const cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: ca });
  try {
    await seedSynthetic(await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! }), { patients: 3, seed: 'obs-correlation' });
  } finally {
    cosmos.dispose();
  }
}));
test.after(async () => {
  await mesh?.stop();
});

const completed = (id: string) => logs.of('fhir-server').filter((l) => l.msg === 'request completed' && l.correlationId === id);

test('a well-formed x-correlation-id is answered and logged with its request, once', async () => {
  const res = await https(`${mesh.fhir.baseUrl}/Patient/none`, { ca, token: await mesh.bearer(['Fhir.Read']), headers: { 'x-correlation-id': 'obs-read-1' } });
  assert.is(res.status, 404);
  assert.is(res.headers['x-correlation-id'], 'obs-read-1');
  const lines = completed('obs-read-1');
  assert.is(lines.length, 1);
  assert.is(lines[0]!.status, 404);
});

test('x-request-id is taken when there is no x-correlation-id', async () => {
  const res = await https(`${mesh.fhir.baseUrl}/metadata`, { ca, headers: { 'x-request-id': 'proxy:42' } });
  assert.is(res.headers['x-correlation-id'], 'proxy:42');
  assert.is(completed('proxy:42').length, 1);
});

test('a malformed id is replaced by a new one, and the replacement is what is logged', async () => {
  for (const bad of ['has spaces', 'x'.repeat(101), '-leading-dash', '"quoted"']) {
    const res = await https(`${mesh.fhir.baseUrl}/metadata`, { ca, headers: { 'x-correlation-id': bad } });
    const id = String(res.headers['x-correlation-id']);
    assert.match(id, UUID, bad);
    assert.is(completed(id).length, 1);
    assert.not.ok(logs.text().includes(bad), `${bad} never reaches a log`);
  }
});

test('an export kick-off id reaches the job, its worker lines, and the routing server with the GetToken made for it', async () => {
  const id = 'obs-export-7';
  assert.is(mesh.fhir.tokenClient.cacheStats.loads, 0, 'no storage token was fetched yet: the job fetches the first');
  const { kickoff } = await runExport(mesh, 'Patient', { 'x-correlation-id': id });
  assert.is(kickoff.headers['x-correlation-id'], id);
  const fhirLines = logs.of('fhir-server').filter((l) => l.correlationId === id);
  for (const msg of ['request completed', 'export queued', 'work item started', 'work item done', 'export completed']) {
    assert.ok(fhirLines.some((l) => l.msg === msg), `fhir-server logged "${msg}" with the id`);
  }
  assert.ok(fhirLines.some((l) => l.msg === 'work item done' && typeof l.jobId === 'string'), 'worker lines name the job');
  const routingLines = logs.of('routing-server').filter((l) => l.correlationId === id);
  assert.ok(routingLines.some((l) => l.msg === 'grpc call' && l.method === 'TokenService/GetToken' && l.code === 0), JSON.stringify(routingLines));
});

test('no log line holds a refresh token, an access token or a bearer token', async () => {
  const text = logs.text();
  const storageToken = (await mesh.fhir.tokenClient.getToken('https://storage.azure.com')).token;
  for (const secret of [mesh.account.refreshToken, storageToken, await mesh.bearer(['Fhir.Read'])]) assert.not.ok(text.includes(secret));
  assert.not.match(text, /fmrt_[A-Za-z0-9_-]{20,}/);
  assert.not.match(text, /eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
});

test.run();
