/**
 * The Entra ID stand-in against the real @azure/identity (MSAL node) client:
 * tokens by client secret and by certificate, Entra-format refusals with real
 * AADSTS codes, counters, fault injection and the admin API. Raw HTTPS only
 * where the SDK cannot produce the request (crafted assertions, bad scopes).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { createLocalJWKSet, decodeJwt, jwtVerify, SignJWT, importPKCS8, type JSONWebKeySet } from 'jose';
import { trustCa } from '../../common/azure-tls.ts';
import { createIdentityCertificate, ensureLocalTls, type IdentityCertificate, type LocalTls } from '../../dev/certs.ts';
import { startEntra, type EntraStandIn } from '../../dev/entra/index.ts';

const storage = 'https://storage.azure.com';
const vault = 'https://vault.azure.net';

let tls: LocalTls;
let entra: EntraStandIn;
let cert: IdentityCertificate;
let app: { appId: string; objectId: string };
const secret = `secret-${randomUUID()}`;

/** Options every credential in this file uses. */
function credentialOptions() {
  return { authorityHost: entra.authorityHost, disableInstanceDiscovery: true, additionalPolicies: trustCa(tls.caPem) };
}

/** A raw HTTPS request trusting the local CA. */
function https(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ca: tls.caPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** POSTs a form to the v2 token endpoint. */
function postToken(form: Record<string, string>, endpoint = entra.tokenEndpoint) {
  return https(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

/** A client assertion signed with `cert`, claims overridable. */
async function assertion(claims: Record<string, unknown> = {}, signingCert: IdentityCertificate = cert): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const key = await importPKCS8(signingCert.keyPem, 'PS256');
  return new SignJWT({ aud: entra.tokenEndpoint, iss: app.appId, sub: app.appId, jti: randomUUID(), nbf: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': signingCert.x5tS256 })
    .sign(key);
}

/** Expects `promise` to reject with a message naming `code`. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.ok(String((err as Error).message).includes(code), `expected ${code} in: ${(err as Error).message}`);
    return;
  }
  assert.unreachable(`expected a failure with ${code}`);
}

test.before(async () => {
  tls = await ensureLocalTls();
  entra = await startEntra({ tls, tokenLifetimeSeconds: 3600 });
  cert = await createIdentityCertificate('entra-test-app');
  app = entra.registerApplication({
    displayName: 'entra-test-app',
    secrets: [secret],
    certificates: [cert.certPem],
    roles: { [storage]: ['Storage.Write'] },
  });
});

test.after(async () => {
  await entra?.stop();
});

test('publishes tenant-scoped OpenID metadata and refuses unknown tenants with AADSTS90002', async () => {
  const meta = await https(entra.metadataUrl);
  assert.is(meta.status, 200);
  assert.is(meta.json.token_endpoint, entra.tokenEndpoint);
  assert.is(meta.json.jwks_uri, entra.jwksUri);
  assert.is(meta.json.issuer, `${entra.url}/${entra.tenantId}/v2.0`);
  assert.ok(String(meta.json.authorization_endpoint).startsWith(`${entra.url}/${entra.tenantId}/`));
  const unknown = await https(`${entra.url}/${randomUUID()}/v2.0/.well-known/openid-configuration`);
  assert.is(unknown.status, 400);
  assert.equal(unknown.json.error_codes, [90002]);
  const keys = await https(entra.jwksUri);
  assert.is(keys.json.keys.length, 1);
  assert.ok(keys.json.keys[0].kid && keys.json.keys[0].x5t);
});

test('ClientSecretCredential gets a v1-shaped token signed by the published key', async () => {
  const credential = new ClientSecretCredential(entra.tenantId, app.appId, secret, credentialOptions());
  const token = await credential.getToken(`${storage}/.default`);
  assert.ok(token);
  const jwks = (await https(entra.jwksUri)).json as JSONWebKeySet;
  const { payload, protectedHeader } = await jwtVerify(token.token, createLocalJWKSet(jwks), { issuer: entra.issuer(), audience: storage });
  assert.is(protectedHeader.alg, 'RS256');
  assert.is(protectedHeader.typ, 'JWT');
  assert.ok(protectedHeader.kid && protectedHeader.x5t);
  assert.is(payload.iss, `https://sts.windows.net/${entra.tenantId}/`);
  assert.is(payload.appid, app.appId);
  assert.is(payload.appidacr, '1');
  assert.is(payload.tid, entra.tenantId);
  assert.is(payload.oid, app.objectId);
  assert.is(payload.sub, app.objectId);
  assert.is(payload.ver, '1.0');
  assert.equal(payload.roles, ['Storage.Write']);
  assert.ok(Math.abs(payload.exp! - payload.iat! - 3600) <= 1);
  assert.ok(Math.abs(token.expiresOnTimestamp - (Date.now() + 3600_000)) < 60_000);
});

test('ClientCertificateCredential (PEM bundle) gets tokens with appidacr 2, for several resources', async () => {
  const credential = new ClientCertificateCredential(entra.tenantId, app.appId, { certificate: cert.pemBundle }, credentialOptions());
  const forVault = await credential.getToken(`${vault}/.default`);
  const claims = decodeJwt(forVault!.token);
  assert.is(claims.aud, vault);
  assert.is(claims.appidacr, '2');
  assert.is(claims.roles, undefined);
  // MSAL re-sends its cached signed assertion (same jti) for up to 10 minutes; Entra accepts that.
  const forStorage = await credential.getToken(`${storage}/.default`);
  assert.is(decodeJwt(forStorage!.token).aud, storage);
});

test('wrong client secret: AADSTS7000215', async () => {
  const credential = new ClientSecretCredential(entra.tenantId, app.appId, 'not-the-secret', credentialOptions());
  await rejectsWith(credential.getToken(`${storage}/.default`), 'AADSTS7000215');
});

test('unregistered certificate: AADSTS700027', async () => {
  const stranger = await createIdentityCertificate('stranger');
  const credential = new ClientCertificateCredential(entra.tenantId, app.appId, { certificate: stranger.pemBundle }, credentialOptions());
  await rejectsWith(credential.getToken(`${storage}/.default`), 'AADSTS700027');
});

test('unknown application: AADSTS700016; disabled application: AADSTS7000112', async () => {
  await rejectsWith(new ClientSecretCredential(entra.tenantId, randomUUID(), secret, credentialOptions()).getToken(`${storage}/.default`), 'AADSTS700016');
  const disabled = entra.registerApplication({ secrets: ['s'], disabled: true });
  await rejectsWith(new ClientSecretCredential(entra.tenantId, disabled.appId, 's', credentialOptions()).getToken(`${storage}/.default`), 'AADSTS7000112');
});

test('expired client secret: AADSTS7000222', async () => {
  const expiring = entra.registerApplication({ secrets: [{ value: 'old', expiresOn: Date.now() - 1000 }] });
  await rejectsWith(new ClientSecretCredential(entra.tenantId, expiring.appId, 'old', credentialOptions()).getToken(`${storage}/.default`), 'AADSTS7000222');
});

test('unknown resource: AADSTS500011; registered resource and identifier URI: issued', async () => {
  const credential = new ClientSecretCredential(entra.tenantId, app.appId, secret, credentialOptions());
  await rejectsWith(credential.getToken('https://unknown.example.com/.default'), 'AADSTS500011');
  entra.registerResource('https://127.0.0.1:10000/devstoreaccount1');
  const local = await credential.getToken('https://127.0.0.1:10000/devstoreaccount1/.default');
  assert.is(decodeJwt(local!.token).aud, 'https://127.0.0.1:10000/devstoreaccount1');
  entra.registerApplication({ identifierUri: 'api://routing-server' });
  const api = await credential.getToken('api://routing-server/.default');
  assert.is(decodeJwt(api!.token).aud, 'api://routing-server');
});

test('expired client assertion: AADSTS700024', async () => {
  const past = Math.floor(Date.now() / 1000) - 3600;
  const res = await postToken({
    grant_type: 'client_credentials',
    client_id: app.appId,
    scope: `${storage}/.default`,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await assertion({ nbf: past - 600, exp: past }),
  });
  assert.is(res.status, 401);
  assert.is(res.json.error, 'invalid_client');
  assert.equal(res.json.error_codes, [700024]);
  assert.match(res.json.error_description, /^AADSTS700024: .*\r\nTrace ID: .+\r\nCorrelation ID: .+\r\nTimestamp: /s);
});

test('client assertion audience, issuer and signature are checked', async () => {
  const form = (clientAssertion: string) => ({
    grant_type: 'client_credentials',
    client_id: app.appId,
    scope: `${storage}/.default`,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
  });
  assert.equal((await postToken(form(await assertion({ aud: 'https://elsewhere/token' })))).json.error_codes, [700023]);
  assert.equal((await postToken(form(await assertion({ iss: randomUUID() })))).json.error_codes, [700021]);
  const good = await assertion();
  const [h, p] = good.split('.');
  const forged = `${h}.${p}.${Buffer.alloc(256, 1).toString('base64url')}`;
  assert.equal((await postToken(form(forged))).json.error_codes, [700027]);
  const ok = await postToken(form(good));
  assert.is(ok.status, 200);
  assert.is(ok.json.token_type, 'Bearer');
  assert.is(ok.json.expires_in, 3600);
  assert.is(ok.json.ext_expires_in, 3600);
});

test('replayed jti: a new assertion reusing it is refused (AADSTS50013); strict policy refuses any reuse', async () => {
  const jti = randomUUID();
  const form = (clientAssertion: string) => ({
    grant_type: 'client_credentials',
    client_id: app.appId,
    scope: `${storage}/.default`,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
  });
  const first = await assertion({ jti });
  assert.is((await postToken(form(first))).status, 200);
  const second = await assertion({ jti, exp: Math.floor(Date.now() / 1000) + 300 });
  const replay = await postToken(form(second));
  assert.is(replay.status, 401);
  assert.equal(replay.json.error_codes, [50013]);
  assert.is((await postToken(form(first))).status, 200, 'the identical assertion may be re-presented (as MSAL does)');
  entra.setAssertionReplayPolicy('reject');
  try {
    assert.equal((await postToken(form(first))).json.error_codes, [50013]);
  } finally {
    entra.setAssertionReplayPolicy('allow-identical');
  }
});

test('scope must name exactly one resource with /.default (AADSTS1002012, AADSTS28000, AADSTS900144)', async () => {
  const base = { grant_type: 'client_credentials', client_id: app.appId, client_secret: secret };
  assert.equal((await postToken({ ...base, scope: `${storage}/user_impersonation` })).json.error_codes, [1002012]);
  assert.equal((await postToken({ ...base, scope: `${storage}/.default ${vault}/.default` })).json.error_codes, [28000]);
  assert.equal((await postToken(base)).json.error_codes, [900144]);
  assert.equal((await postToken({ ...base, scope: `${storage}/.default`, grant_type: 'password' })).json.error_codes, [70003]);
});

test('v1 token endpoint takes resource=', async () => {
  const res = await postToken(
    { grant_type: 'client_credentials', client_id: app.appId, client_secret: secret, resource: vault },
    `${entra.url}/${entra.tenantId}/oauth2/token`,
  );
  assert.is(res.status, 200);
  assert.is(res.json.resource, vault);
  assert.is(decodeJwt(res.json.access_token).aud, vault);
});

test('stats count token requests by application, resource and outcome', async () => {
  entra.resetStats();
  const counted = entra.registerApplication({ secrets: ['counted'] });
  const credential = new ClientSecretCredential(entra.tenantId, counted.appId, 'counted', credentialOptions());
  await credential.getToken(`${storage}/.default`);
  await credential.getToken(`${storage}/.default`); // served from MSAL's cache
  await rejectsWith(credential.getToken('https://nowhere.example.com/.default'), 'AADSTS500011');
  const stats = entra.stats();
  assert.equal(stats.byAppId[counted.appId], { total: 2, issued: 1, failed: 1, faulted: 0 });
  assert.equal(stats.byResource[storage], { total: 1, issued: 1, failed: 0, faulted: 0 });
  assert.is(stats.failuresByCode['500011'], 1);
  assert.is(stats.tokenRequests.total, 2);
});

test('MSAL re-fetches tokens that live 300 s or less on every call', async () => {
  const shortLived = entra.registerApplication({ secrets: ['short'], tokenLifetimeSeconds: 240 });
  const credential = new ClientSecretCredential(entra.tenantId, shortLived.appId, 'short', credentialOptions());
  const first = await credential.getToken(`${storage}/.default`);
  await credential.getToken(`${storage}/.default`);
  assert.ok(Math.abs(first!.expiresOnTimestamp - (Date.now() + 240_000)) < 30_000);
  assert.is(entra.stats().byAppId[shortLived.appId]?.issued, 2);
});

test('fault injection: a 429 with Retry-After is honoured by the SDK and counted', async () => {
  const throttled = entra.registerApplication({ secrets: ['throttled'] });
  const raw = entra.registerApplication({ secrets: ['raw'] });
  entra.setFault({ status: 429, retryAfterSeconds: 1, count: 1 });
  const res = await postToken({ grant_type: 'client_credentials', client_id: raw.appId, client_secret: 'raw', scope: `${storage}/.default` });
  assert.is(res.status, 429);
  assert.is(res.headers['retry-after'], '1');
  entra.setFault({ status: 429, retryAfterSeconds: 1, count: 1 });
  const started = Date.now();
  const token = await new ClientSecretCredential(entra.tenantId, throttled.appId, 'throttled', credentialOptions()).getToken(`${storage}/.default`);
  assert.ok(token);
  assert.ok(Date.now() - started >= 900, 'the retry waited for Retry-After');
  assert.equal(entra.stats().byAppId[throttled.appId], { total: 2, issued: 1, failed: 0, faulted: 1 });
});

test('admin API: applications added over HTTPS with the admin key work with the SDK', async () => {
  const body = JSON.stringify({ displayName: 'from-admin', secrets: ['admin-made'], roles: { [storage]: ['Reader'] } });
  const refused = await https(`${entra.url}/_stand-in/applications`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.is(refused.status, 401);
  const created = await https(`${entra.url}/_stand-in/applications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-stand-in-key': entra.adminKey },
    body,
  });
  assert.is(created.status, 201);
  const token = await new ClientSecretCredential(entra.tenantId, created.json.appId, 'admin-made', credentialOptions()).getToken(`${storage}/.default`);
  assert.equal(decodeJwt(token!.token).roles, ['Reader']);
  const patched = await https(`${entra.url}/_stand-in/applications/${created.json.appId}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', 'x-stand-in-key': entra.adminKey },
    body: JSON.stringify({ removeSecrets: ['admin-made'], addSecrets: ['rotated'] }),
  });
  assert.is(patched.status, 200);
  assert.is(patched.json.secretCount, 1);
  await rejectsWith(new ClientSecretCredential(entra.tenantId, created.json.appId, 'admin-made', credentialOptions()).getToken(`${vault}/.default`), 'AADSTS7000215');
  const stats = await https(`${entra.url}/_stand-in/stats`, { headers: { 'x-stand-in-key': entra.adminKey } });
  assert.ok(stats.json.tokenRequests.total > 0);
});

test.run();
