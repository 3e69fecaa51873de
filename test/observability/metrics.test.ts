/**
 * Both services' Prometheus endpoints after real traffic on the mesh: REST
 * reads, GetToken from the fhir side and directly, and a small export. Each
 * step is scraped before and after, and the counters must have moved by
 * exactly what the step did.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCosmosClient } from '../../common/cosmos.ts';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { runExport, scrapeFhir, scrapeRouting } from './support/mesh.ts';

const STORAGE = 'https://storage.azure.com';
let mesh: MeshSetup;
let ca: string;
let patientId: string;

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'obs-metrics' });
  ca = mesh.routing.standIns.tls.caPem;
  const cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: ca });
  try {
    const store = await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! });
    await seedSynthetic(store, { patients: 4, seed: 'obs-metrics' });
    patientId = (await store.queryForExport({ resourceType: 'Patient', pageSize: 1 })).items[0]!.id;
  } finally {
    cosmos.dispose();
  }
}));
test.after(async () => {
  await mesh?.stop();
});

test('the fhir-server refuses a scrape without a token (401) or without the admin role (403)', async () => {
  const anonymous = await https(`${mesh.fhir.baseUrl}/metrics`, { ca });
  assert.is(anonymous.status, 401, anonymous.body);
  assert.not.match(anonymous.body, /fhirmesh_/);
  const reader = await https(`${mesh.fhir.baseUrl}/metrics`, { ca, token: await mesh.bearer(['Fhir.Read']) });
  assert.is(reader.status, 403, reader.body);
});

test('both endpoints answer the text format with process metrics and every family typed', async () => {
  for (const scrape of [await scrapeFhir(mesh), await scrapeRouting(mesh)]) {
    assert.ok(scrape.value('fhirmesh_process_cpu_user_seconds_total') > 0, 'process metrics are prefixed fhirmesh_');
    for (const name of scrape.samples.keys()) assert.ok(name.startsWith('fhirmesh_'), name);
  }
  const fhir = await scrapeFhir(mesh);
  assert.is(fhir.types.get('fhirmesh_fhir_http_request_duration_seconds'), 'histogram');
  assert.is(fhir.types.get('fhirmesh_fhir_token_cache_lookups_total'), 'counter');
  assert.is(fhir.types.get('fhirmesh_fhir_export_jobs'), 'gauge');
  assert.is(fhir.value('fhirmesh_fhir_export_job_store_up'), 1);
});

test('REST reads are counted by route pattern, method and status', async () => {
  const token = await mesh.bearer(['Fhir.Read']);
  const before = await scrapeFhir(mesh);
  for (let i = 0; i < 2; i++) assert.is((await https(`${mesh.fhir.baseUrl}/Patient/${patientId}`, { ca, token })).status, 200);
  assert.is((await https(`${mesh.fhir.baseUrl}/Patient/no-such-patient`, { ca, token })).status, 404);
  const after = await scrapeFhir(mesh);
  const count = (s: typeof before, status: string) => s.value('fhirmesh_fhir_http_request_duration_seconds_count', { route: '/:type/:id', method: 'GET', status });
  assert.is(count(after, '200') - count(before, '200'), 2);
  assert.is(count(after, '404') - count(before, '404'), 1);
  // The scrape itself is a request too: the first scrape's request shows in the second.
  assert.ok(after.value('fhirmesh_fhir_http_request_duration_seconds_count', { route: '/metrics', method: 'GET', status: '200' }) >= 1);
});

test('a GetToken from the fhir side: a fhir cache miss, one routing call, one routing acquisition; then a fhir cache hit', async () => {
  const [fhirBefore, routingBefore] = [await scrapeFhir(mesh), await scrapeRouting(mesh)];
  await mesh.fhir.tokenClient.getToken(STORAGE);
  await mesh.fhir.tokenClient.getToken(STORAGE);
  const [fhir, routing] = [await scrapeFhir(mesh), await scrapeRouting(mesh)];
  const d = (name: string, labels: Record<string, string>, a = fhir, b = fhirBefore) => a.value(name, labels) - b.value(name, labels);
  assert.is(d('fhirmesh_fhir_token_cache_lookups_total', { result: 'miss' }), 1);
  assert.is(d('fhirmesh_fhir_token_cache_lookups_total', { result: 'hit' }), 1);
  assert.is(d('fhirmesh_fhir_token_acquisitions_total', { outcome: 'started' }), 1);
  assert.is(d('fhirmesh_fhir_routing_call_duration_seconds_count', { method: 'TokenService/GetToken', code: 'OK' }), 1);
  // The first token of this account on the routing server: a miss there too, acquired from Entra ID.
  const r = (name: string, labels: Record<string, string> = {}) => routing.value(name, labels) - routingBefore.value(name, labels);
  assert.is(r('fhirmesh_routing_grpc_calls_total', { method: 'TokenService/GetToken', code: 'OK' }), 1);
  assert.is(r('fhirmesh_routing_token_cache_lookups_total', { result: 'miss' }), 1);
  assert.is(r('fhirmesh_routing_token_acquisitions_total', { outcome: 'success' }), 1);
  assert.is(r('fhirmesh_routing_token_acquisition_duration_seconds_count', { outcome: 'success' }), 1);
});

test('a direct cached GetToken and a refused one are counted on the routing server', async () => {
  const client = new TokenServiceClient(mesh.routing.address, tlsChannelCredentials(ca));
  try {
    const before = await scrapeRouting(mesh);
    await unaryCall(client.getToken, client, { resourceUri: STORAGE }, bearerMetadata(mesh.account.refreshToken));
    await unaryCall(client.getToken, client, { resourceUri: STORAGE }, bearerMetadata('fmrt_not-a-real-token')).catch(() => undefined);
    const after = await scrapeRouting(mesh);
    const r = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);
    assert.is(r('fhirmesh_routing_grpc_calls_total', { method: 'TokenService/GetToken', code: 'OK' }), 1);
    assert.is(r('fhirmesh_routing_grpc_calls_total', { method: 'TokenService/GetToken', code: 'UNAUTHENTICATED' }), 1);
    assert.is(r('fhirmesh_routing_token_cache_lookups_total', { result: 'hit' }), 1);
    assert.is(r('fhirmesh_routing_token_acquisitions_total', { outcome: 'success' }), 0);
    assert.is(r('fhirmesh_routing_refresh_token_validations_total', { outcome: 'unknown' }), 1);
    // Accepted from the validation cache or loaded from Cosmos DB; a cached answer whose account entry had
    // expired validates again on the full path, so one call may count two.
    const accepted = r('fhirmesh_routing_refresh_token_validations_total', { outcome: 'cached' }) + r('fhirmesh_routing_refresh_token_validations_total', { outcome: 'loaded' });
    assert.ok(accepted === 1 || accepted === 2, `accepted validations: ${accepted}`);
  } finally {
    client.close();
  }
});

test('a small export counts its transitions, and its resources and bytes by type', async () => {
  const before = await scrapeFhir(mesh);
  const { manifest } = await runExport(mesh, 'Patient');
  const token = await mesh.bearer(['Fhir.Export', 'Fhir.Read']);
  let bytes = 0;
  for (const file of manifest.output) {
    const res = await https(file.url, { ca, token, headers: { accept: 'application/fhir+ndjson' } });
    assert.is(res.status, 200);
    bytes += Buffer.byteLength(res.body);
  }
  const after = await scrapeFhir(mesh);
  const d = (name: string, labels: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
  for (const state of ['queued', 'running', 'completed']) assert.is(d('fhirmesh_fhir_export_job_transitions_total', { state }), 1, state);
  const lines = manifest.output.reduce((n, f) => n + f.count, 0);
  assert.is(lines, 4);
  assert.is(d('fhirmesh_fhir_export_resources_total', { type: 'Patient', kind: 'output' }), lines);
  assert.is(d('fhirmesh_fhir_export_bytes_total', { type: 'Patient', kind: 'output' }), bytes);
  assert.is(after.value('fhirmesh_fhir_export_jobs', { state: 'queued' }), 0);
  assert.is(after.value('fhirmesh_fhir_export_jobs', { state: 'running' }), 0);
  assert.is(after.value('fhirmesh_fhir_export_backlog_age_seconds'), 0);
  assert.is(d('fhirmesh_fhir_http_request_duration_seconds_count', { route: '/$export', method: 'GET', status: '202' }), 1);
});

test.run();
