/**
 * SMART Backend Services end to end on the stand-ins: discovery, client
 * registration (inline JWKS and a jwks_uri on a local https server), token
 * requests signed with RS384 and ES384, then an `$export` kick-off, status
 * polls and a file download with the same SMART access token.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:https';
import type { JWK } from 'jose';
import { ensureLocalTls } from '../../dev/certs.ts';
import type { MeshSetup } from '../../dev/mesh-setup.ts';
import { generateClientKey, registerClient, requestAccessToken } from '../../fhir-server/http/smart/client-credentials.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { runExport, startSeededMesh } from './support/mesh.ts';

let mesh: MeshSetup;
let ca: string;
let jwksServer: Server | undefined;
let jwksUri: string;
const published: { keys: JWK[] } = { keys: [] };

test.before(loud('before', async () => {
  // The client's JWKS server on loopback: exempted by host and port, before the fhir-server starts.
  const tls = await ensureLocalTls();
  jwksServer = createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published)));
  await new Promise<void>((resolve) => jwksServer!.listen(0, '127.0.0.1', resolve));
  const endpoint = `127.0.0.1:${(jwksServer.address() as { port: number }).port}`;
  jwksUri = `https://${endpoint}/jwks.json`;
  mesh = await startSeededMesh('smartflow', 4, [endpoint]);
  ca = mesh.routing.standIns.tls.caPem;
}));
test.after(async () => {
  await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
  await mesh?.stop();
});

test('discovery: smart-configuration and the CapabilityStatement name the token endpoint; the export operations are listed', async () => {
  const res = await https(`${mesh.fhir.baseUrl}/.well-known/smart-configuration`, { ca, headers: { accept: 'application/json' } });
  assert.is(res.status, 200, res.body);
  const config = JSON.parse(res.body);
  assert.is(config.token_endpoint, `${mesh.fhir.baseUrl}/auth/token`);
  assert.equal(config.token_endpoint_auth_methods_supported, ['private_key_jwt']);
  assert.equal(config.token_endpoint_auth_signing_alg_values_supported, ['RS384', 'ES384']);
  assert.equal(config.grant_types_supported, ['client_credentials']);
  assert.ok(config.capabilities.includes('client-confidential-asymmetric'));
  assert.ok(config.scopes_supported.includes('system/*.read'));

  const metadata = JSON.parse((await https(`${mesh.fhir.baseUrl}/metadata`, { ca })).body);
  const security = metadata.rest[0].security;
  assert.is(security.service[0].coding[0].code, 'SMART-on-FHIR');
  const oauth = security.extension.find((e: { url: string }) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
  assert.equal(oauth.extension, [{ url: 'token', valueUri: config.token_endpoint }]);
  assert.ok(metadata.rest[0].operation.some((o: { name: string; definition: string }) => o.name === 'export' && o.definition.endsWith('/OperationDefinition/export')), 'system $export');
  for (const [type, definition] of [['Patient', 'patient-export'], ['Group', 'group-export']]) {
    const resource = metadata.rest[0].resource.find((r: { type: string }) => r.type === type);
    assert.ok(resource.operation?.some((o: { definition: string }) => o.definition.endsWith(`/OperationDefinition/${definition}`)), `${type} $export`);
  }
});

test('admin registry: register (inline JWKS), list, read, delete; non-admins and bad registrations refused', async () => {
  const admin = await mesh.bearer(['Fhir.Admin']);
  const key = await generateClientKey('ES384');
  const base = `${mesh.fhir.baseUrl}/_admin/smart/clients`;
  const created = await https(base, { ca, token: admin, method: 'POST', body: { scope: 'system/Patient.read', jwks: { keys: [key.publicJwk] }, client_name: 'registry test' }, headers: { 'content-type': 'application/json', accept: 'application/json' } });
  assert.is(created.status, 201, created.body);
  const client = JSON.parse(created.body);
  assert.match(client.client_id, /^[0-9a-f-]{36}$/);
  assert.is(client.scope, 'system/Patient.read');
  const listed = JSON.parse((await https(base, { ca, token: admin })).body);
  assert.ok(listed.clients.some((c: { client_id: string }) => c.client_id === client.client_id));
  assert.is((await https(`${base}/${client.client_id}`, { ca, token: admin })).status, 200);

  const reader = await mesh.bearer(['Fhir.Read', 'Fhir.Export']);
  assert.is((await https(base, { ca, token: reader })).status, 403);
  assert.is((await https(base, { ca })).status, 401);
  const bad = async (body: unknown) => (await https(base, { ca, token: admin, method: 'POST', body, headers: { 'content-type': 'application/json' } })).status;
  const privateJwk = { ...key.publicJwk, d: 'secret' };
  assert.is(await bad({ scope: 'system/*.read', jwks: { keys: [privateJwk] } }), 400, 'private key material');
  assert.is(await bad({ scope: 'system/*.read', jwks_uri: 'http://127.0.0.1/jwks.json' }), 400, 'plain http jwks_uri');
  assert.is(await bad({ scope: 'patient/*.read', jwks: { keys: [key.publicJwk] } }), 400, 'not a system scope');

  assert.is((await https(`${base}/${encodeURIComponent('a/b#c')}`, { ca, token: admin })).status, 404, 'odd ids are no client');
  assert.is((await https(`${base}/${client.client_id}`, { ca, token: admin, method: 'DELETE' })).status, 204);
  assert.is((await https(`${base}/${client.client_id}`, { ca, token: admin })).status, 404);
});

test('RS384 client: token → export kick-off → status → download with the same token', async () => {
  const client = await mesh.registerSmartClient({ alg: 'RS384', scope: 'system/*.read' });
  const response = await requestAccessToken({ clientId: client.clientId, tokenEndpoint: client.tokenEndpoint, key: client.key, scope: 'system/Patient.read system/Observation.read', caPem: ca });
  assert.is(response.token_type, 'bearer');
  assert.ok(response.expires_in > 0 && response.expires_in <= 300);
  assert.is(response.scope, 'system/Patient.read system/Observation.read');
  const { manifest } = await runExport(mesh, '/$export?_type=Patient,Observation', response.access_token);
  assert.is(manifest.requiresAccessToken, true);
  const patients = manifest.output.filter((o) => o.type === 'Patient');
  assert.ok(patients.length >= 1 && patients[0]!.count >= 1, 'Patient output');
  const file = await https(patients[0]!.url, { ca, token: response.access_token, headers: { accept: 'application/fhir+ndjson' } });
  assert.is(file.status, 200, file.body.slice(0, 200));
  assert.is(file.body.split('\n').filter(Boolean).length, patients[0]!.count);
  const id = JSON.parse(file.body.split('\n')[0]!).id;
  assert.is((await https(`${mesh.fhir.baseUrl}/Patient/${id}`, { ca, token: response.access_token })).status, 200, 'a read with the same token');
});

test('ES384 client with v2 scopes: token → Patient-level export → download', async () => {
  const client = await mesh.registerSmartClient({ alg: 'ES384', scope: 'system/*.rs' });
  const token = await client.token('system/Patient.rs system/Encounter.rs');
  const { manifest } = await runExport(mesh, '/Patient/$export?_type=Patient,Encounter', token);
  const out = manifest.output.find((o) => o.type === 'Patient')!;
  const file = await https(out.url, { ca, token, headers: { accept: 'application/fhir+ndjson' } });
  assert.is(file.status, 200);
  assert.is(file.body.split('\n').filter(Boolean).length, out.count);
});

test('jwks_uri client: keys fetched over https (stand-in CA) at registration and at token time', async () => {
  const key = await generateClientKey('ES384');
  published.keys = [key.publicJwk];
  const registered = await registerClient(mesh.fhir.baseUrl, await mesh.bearer(['Fhir.Admin']), { scope: 'system/Patient.read', jwks_uri: jwksUri }, ca);
  assert.is(registered.jwks_uri, jwksUri);
  const response = await requestAccessToken({ clientId: registered.client_id, tokenEndpoint: `${mesh.fhir.baseUrl}/auth/token`, key, scope: 'system/Patient.read', caPem: ca });
  assert.is(response.scope, 'system/Patient.read');
  const { manifest } = await runExport(mesh, '/$export?_type=Patient', response.access_token);
  assert.ok(manifest.output.length >= 1);
});

test.run();
