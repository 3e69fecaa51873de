/**
 * The REST facade against real fhir-server instances sharing one Cosmos database:
 * - links (`Location`, `Content-Location`, manifest `request` and file URLs, `/metadata`,
 *   the SMART `token_endpoint`) never take the client's `Host` or forwarded headers
 *   unless a configured trusted proxy sent them;
 * - a SMART client deleted or disabled on one instance has its tokens refused there at
 *   once and on another instance within `smart.clientCacheSeconds` (default 5 s);
 * - a download needs read on the file's resource type, even from the job's own client.
 */
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCosmosClient } from '../../common/cosmos.ts';
import { createLogger } from '../../common/logging.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { startFhirServer, type RunningFhirServer } from '../../fhir-server/app.ts';
import { loadFhirServerConfig } from '../../fhir-server/config/load.ts';
import { generateClientKey, signClientAssertion, tokenRequestForm, type ClientKey } from '../../fhir-server/http/smart/client-credentials.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { loud } from '../support/hooks.ts';

const PUBLIC = 'https://fhir.test';
const CLIENT_CACHE_SECONDS = 5; // the documented default of smart.clientCacheSeconds

let mesh: MeshSetup;
let second: RunningFhirServer; // same database and public base URL as mesh.fhir
let plain: RunningFhirServer; // no publicBaseUrl, no trusted proxy
let proxied: RunningFhirServer; // no publicBaseUrl, 127.0.0.1 a trusted proxy
let ca: string;
let dispose: () => void;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The address a server really listens on (its `baseUrl` may be the public one). */
const addressOf = (server: RunningFhirServer) => `https://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;

/** One HTTPS request; `headers` may set `host` (TLS still checks the certificate's name). */
function send(url: string, options: { method?: string; token?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/fhir+json', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const req = request(url, { method: options.method ?? 'GET', ca, servername: 'localhost', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Polls `statusUrl` (rewritten to `address`) until the export ends. */
async function manifestOf(statusUrl: string, address: string, token: string, headers: Record<string, string> = {}): Promise<Answer> {
  for (let i = 0; i < 200; i++) {
    const res = await send(statusUrl.replace(/^https:\/\/[^/]+/, address), { token, headers });
    if (res.status !== 202) return res;
    await sleep(250);
  }
  throw new Error('the export did not end');
}

/** A registered SMART client (registered through `address`) and a way to get its tokens there. */
async function smartClient(address: string, scope: string): Promise<{ id: string; key: ClientKey; token(scope?: string): Promise<Answer> }> {
  const key = await generateClientKey('ES384');
  const created = await send(`${address}/_admin/smart/clients`, { method: 'POST', token: await mesh.bearer(['Fhir.Admin']), headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scope, jwks: { keys: [key.publicJwk] } }) });
  assert.is(created.status, 201, created.body);
  const id = (JSON.parse(created.body) as { client_id: string }).client_id;
  const token = async (requested = scope) => {
    // The assertion names the public token endpoint, as every instance advertises it.
    const assertion = await signClientAssertion({ clientId: id, tokenEndpoint: `${PUBLIC}/auth/token`, key });
    return send(`${address}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: tokenRequestForm(assertion, requested) });
  };
  return { id, key, token };
}

const accessToken = async (answer: Promise<Answer>) => {
  const res = await answer;
  assert.is(res.status, 200, res.body);
  return (JSON.parse(res.body) as { access_token: string }).access_token;
};

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'restfacade', fhirEnv: { FHIR_PUBLIC_BASE_URL: PUBLIC } });
  ca = mesh.routing.standIns.tls.caPem;
  const { FHIR_PUBLIC_BASE_URL: _public, ...own } = mesh.fhirEnv;
  second = await startFhirServer(loadFhirServerConfig(undefined, mesh.fhirEnv), createLogger('fhir-server-2', 'warn'));
  plain = await startFhirServer(loadFhirServerConfig(undefined, own), createLogger('fhir-server-3', 'warn'));
  proxied = await startFhirServer(loadFhirServerConfig(undefined, { ...own, FHIR_TRUSTED_PROXIES: '127.0.0.1, ::1' }), createLogger('fhir-server-4', 'warn'));
  const cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: ca });
  dispose = () => cosmos.dispose();
  await seedSynthetic(await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! }), { patients: 3, seed: 'rest-facade' });
}));
test.after(async () => {
  dispose?.();
  await proxied?.stop();
  await plain?.stop();
  await second?.stop();
  await mesh?.stop();
});

test('without publicBaseUrl, every link is built from the listening address: a forged Host or X-Forwarded-Host changes none', async () => {
  const own = addressOf(plain);
  assert.is(plain.baseUrl, own);
  const forged = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', forwarded: 'host=evil.example;proto=http' };
  const token = await mesh.bearer();
  const links: string[] = [];
  const metadata = JSON.parse((await send(`${own}/metadata`, { headers: forged })).body);
  links.push(metadata.implementation.url, metadata.rest[0].security.extension[0].extension[0].valueUri);
  links.push(JSON.parse((await send(`${own}/.well-known/smart-configuration`, { headers: forged })).body).token_endpoint);
  const created = await send(`${own}/Patient`, { method: 'POST', token, headers: { ...forged, 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Links' }] }) });
  assert.is(created.status, 201, created.body);
  links.push(String(created.headers.location));
  const kicked = await send(`${own}/$export?_type=Patient`, { token, headers: { ...forged, prefer: 'respond-async' } });
  assert.is(kicked.status, 202, kicked.body);
  links.push(String(kicked.headers['content-location']));
  const done = await manifestOf(String(kicked.headers['content-location']), own, token, forged);
  assert.is(done.status, 200, done.body);
  const manifest = JSON.parse(done.body) as { request: string; output: { url: string }[] };
  links.push(manifest.request, ...manifest.output.map((o) => o.url));
  assert.ok(links.length >= 7);
  for (const link of links) assert.ok(link === own || link.startsWith(`${own}/`), `${link} should be ${own} or under it`);
  assert.not.match(JSON.stringify(links), /evil/);
});

test('a trusted proxy (trustedProxies) decides the origin of links; its forwarded token endpoint is an accepted assertion audience', async () => {
  const own = addressOf(proxied);
  const viaProxy = { host: 'fhir.example.org', 'x-forwarded-host': 'fhir.example.org', 'x-forwarded-proto': 'https' };
  assert.is(JSON.parse((await send(`${own}/.well-known/smart-configuration`, { headers: viaProxy })).body).token_endpoint, 'https://fhir.example.org/auth/token');
  assert.is(JSON.parse((await send(`${own}/.well-known/smart-configuration`, { headers: { host: 'fhir.example.org' } })).body).token_endpoint, `${own}/auth/token`, 'a bare Host header is not a forwarded origin');
  const token = await mesh.bearer();
  const kicked = await send(`${own}/$export?_type=Patient`, { token, headers: { ...viaProxy, prefer: 'respond-async' } });
  assert.match(String(kicked.headers['content-location']), /^https:\/\/fhir\.example\.org\/_export\//);
  // A client behind the proxy signs its assertion for the endpoint it was shown.
  const client = await smartClient(own, 'system/Patient.read');
  const assertion = await signClientAssertion({ clientId: client.id, tokenEndpoint: 'https://fhir.example.org/auth/token', key: client.key });
  const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: tokenRequestForm(assertion, 'system/Patient.read') };
  assert.is((await send(`${own}/auth/token`, { ...form, headers: { ...form.headers, ...viaProxy } })).status, 200);
  const elsewhere = await signClientAssertion({ clientId: client.id, tokenEndpoint: 'https://fhir.example.org/auth/token', key: client.key });
  assert.is((await send(`${own}/auth/token`, { ...form, body: tokenRequestForm(elsewhere, 'system/Patient.read') })).status, 401, 'without the proxy the forwarded endpoint is no audience');
});

test(`a SMART client deleted or disabled on one instance: refused there at once, on the other within ${CLIENT_CACHE_SECONDS} s; no new token while disabled`, async () => {
  const a = addressOf(mesh.fhir);
  const b = addressOf(second);
  const removed = await smartClient(a, 'system/*.read');
  const paused = await smartClient(a, 'system/*.read');
  const tokens = { removed: await accessToken(removed.token()), paused: await accessToken(paused.token()) };
  const read = (address: string, token: string) => send(`${address}/Patient/none`, { token }).then((r) => r.status);
  const kickoff = (address: string, token: string) => send(`${address}/$export?_type=Patient`, { token, headers: { prefer: 'respond-async' } });
  // Both instances honour both tokens (and have the clients in their caches).
  for (const address of [a, b]) for (const token of Object.values(tokens)) assert.is(await read(address, token), 404);

  const admin = await mesh.bearer(['Fhir.Admin']);
  const patched = await send(`${a}/_admin/smart/clients/${paused.id}`, { method: 'PATCH', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ disabled: true }) });
  assert.is(patched.status, 200, patched.body);
  assert.is(JSON.parse(patched.body).disabled, true);
  assert.is((await send(`${a}/_admin/smart/clients/${removed.id}`, { method: 'DELETE', token: admin })).status, 204);
  const changedAt = Date.now();
  for (const token of Object.values(tokens)) {
    const refused = await send(`${a}/Patient/none`, { token });
    assert.is(refused.status, 401, refused.body);
    assert.match(String(refused.headers['www-authenticate']), /invalid_token/);
    assert.match(refused.body, /no longer registered|disabled/);
  }
  // The other instance may serve from its client cache until the cache time has passed, never longer.
  const servedFor: Record<string, number> = { removed: 0, paused: 0 };
  for (;;) {
    const elapsed = Date.now() - changedAt;
    if (elapsed > CLIENT_CACHE_SECONDS * 1000 + 300) break;
    for (const [name, token] of Object.entries(tokens)) if ((await read(b, token)) === 404) servedFor[name] = elapsed;
    if (Object.values(servedFor).every((ms) => ms < elapsed - 400)) break;
    await sleep(200);
  }
  await sleep(Math.max(0, changedAt + CLIENT_CACHE_SECONDS * 1000 + 300 - Date.now()));
  for (const address of [a, b]) {
    for (const token of Object.values(tokens)) {
      assert.is(await read(address, token), 401, `${address} read`);
      assert.is((await kickoff(address, token)).status, 401, `${address} kick-off`);
    }
    const refused = await paused.token();
    assert.is(refused.status, 401, refused.body);
    assert.match(refused.body, /invalid_client.*disabled/);
  }
  console.log(`client revocation: the other instance honoured the deleted client's token for at most ${servedFor.removed} ms, the disabled one's for ${servedFor.paused} ms (bound ${CLIENT_CACHE_SECONDS * 1000} ms)`);

  // Enabled again: new tokens work; the deleted client stays gone.
  assert.is((await send(`${a}/_admin/smart/clients/${paused.id}`, { method: 'PATCH', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ disabled: false }) })).status, 200);
  assert.is(await read(a, await accessToken(paused.token())), 404);
  assert.is((await removed.token()).status, 401);
  assert.is((await send(`${a}/_admin/smart/clients/${paused.id}`, { method: 'PATCH', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scope: 'system/*.*' }) })).status, 400, 'only disabled can be changed');
});

test("a download needs read on the file's type, even from the job's own client; the error file needs none", async () => {
  const a = addressOf(mesh.fhir);
  const client = await smartClient(a, 'system/Patient.read system/Observation.read');
  const full = await accessToken(client.token());
  const patientsOnly = await accessToken(client.token('system/Patient.read'));
  // One deleted Observation for a deletions file; lenient handling notes the unsupported includeAssociatedData in the error file.
  const writer = await mesh.bearer(['Fhir.Write', 'Fhir.Read']);
  const observation = await send(`${a}/Observation`, { method: 'POST', token: writer, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'gone' } }) });
  assert.is(observation.status, 201, observation.body);
  assert.is((await send(`${a}/Observation/${JSON.parse(observation.body).id}`, { method: 'DELETE', token: writer })).status, 204);
  const kicked = await send(`${a}/$export?_type=Patient,Observation&_since=2000-01-01T00:00:00Z&includeAssociatedData=_myPreset`, { token: full, headers: { prefer: 'respond-async, handling=lenient' } });
  assert.is(kicked.status, 202, kicked.body);
  const done = await manifestOf(String(kicked.headers['content-location']), a, full);
  assert.is(done.status, 200, done.body);
  const manifest = JSON.parse(done.body) as Record<'output' | 'error' | 'deleted', { type: string; url: string }[] | undefined>;
  const urlOf = (list: keyof typeof manifest, pattern: RegExp) => manifest[list]!.map((f) => f.url).find((url) => pattern.test(url))!.replace(PUBLIC, a);
  const files = { patient: urlOf('output', /Patient-1\.ndjson$/), observation: urlOf('output', /Observation-1\.ndjson$/), deleted: urlOf('deleted', /Observation-deleted-1\.ndjson$/), error: urlOf('error', /OperationOutcome-1\.ndjson$/) };
  const download = (url: string, token: string) => send(url, { token, headers: { accept: 'application/fhir+ndjson' } });
  assert.is((await download(files.patient, patientsOnly)).status, 200);
  assert.is((await download(files.error, patientsOnly)).status, 200);
  for (const url of [files.observation, files.deleted]) {
    const refused = await download(url, patientsOnly);
    assert.is(refused.status, 403, `${url}: ${refused.body}`);
    assert.is(JSON.parse(refused.body).issue[0].code, 'forbidden');
    assert.match(refused.body, /do not cover Observation/);
  }
  for (const url of Object.values(files)) assert.is((await download(url, full)).status, 200, url);
});

test.run();
