/**
 * The Key Vault stand-in against the real @azure/keyvault-secrets client
 * (tokens from the Entra stand-in through @azure/identity): PEM certificate
 * secrets, versions, soft delete, access policies, error codes, counters and
 * faults. Raw HTTPS only for tokens the SDK would never send.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { trustCa } from '../../common/azure-tls.ts';
import { createIdentityCertificate, ensureLocalTls, type LocalTls } from '../../dev/certs.ts';
import { startEntra, type EntraStandIn } from '../../dev/entra/index.ts';
import { startKeyVault, type KeyVaultStandIn } from '../../dev/keyvault/index.ts';

const vaultAudience = 'https://vault.azure.net';

let tls: LocalTls;
let entra: EntraStandIn;
let vault: KeyVaultStandIn;
const apps: Record<'writer' | 'reader' | 'stranger', { appId: string; objectId: string; secret: string }> = {} as never;

/** A SecretClient for one of the test applications, trusting the local CA everywhere. */
function clientFor(name: keyof typeof apps): SecretClient {
  const { appId, secret } = apps[name];
  const credential = new ClientSecretCredential(entra.tenantId, appId, secret, {
    authorityHost: entra.authorityHost,
    disableInstanceDiscovery: true,
    additionalPolicies: trustCa(tls.caPem),
  });
  return new SecretClient(vault.url, credential, { disableChallengeResourceVerification: true, additionalPolicies: trustCa(tls.caPem) });
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

/** Expects `promise` to reject with a RestError of `statusCode` (and `code`, when given). */
async function rejectsWithStatus(promise: Promise<unknown>, statusCode: number, code?: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; message: string };
    assert.is(e.statusCode, statusCode, e.message);
    if (code) assert.is(e.code, code, e.message);
    return;
  }
  assert.unreachable(`expected a ${statusCode} failure`);
}

/** Claims of a well-formed vault token for the writer application. */
function vaultClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    aud: vaultAudience,
    iss: entra.issuer(),
    iat: now,
    nbf: now,
    exp: now + 3600,
    appid: apps.writer.appId,
    oid: apps.writer.objectId,
    tid: entra.tenantId,
    ver: '1.0',
    ...overrides,
  };
}

test.before(async () => {
  tls = await ensureLocalTls();
  entra = await startEntra({ tls });
  vault = await startKeyVault({
    tls,
    entra: { jwksUri: entra.jwksUri, issuer: entra.issuer(), tenantId: entra.tenantId, authorityHost: entra.authorityHost },
  });
  for (const name of ['writer', 'reader', 'stranger'] as const) {
    const secret = `${name}-${randomUUID()}`;
    apps[name] = { ...entra.registerApplication({ displayName: name, secrets: [secret] }), secret };
  }
  vault.grant(apps.writer.objectId, ['get', 'list', 'set', 'delete', 'purge', 'recover']);
  vault.grant(apps.reader.appId, ['get']);
});

test.after(async () => {
  await vault?.stop();
  await entra?.stop();
});

test('writes and reads back a PEM certificate secret', async () => {
  const identity = await createIdentityCertificate('managed-identity');
  const client = clientFor('writer');
  const written = await client.setSecret('mi-pem', identity.pemBundle, { contentType: 'application/x-pem-file', tags: { account: 'a1' } });
  assert.is(written.name, 'mi-pem');
  assert.is(written.properties.vaultUrl, vault.url);
  assert.ok(written.properties.version && /^[0-9a-f]{32}$/.test(written.properties.version));
  const read = await client.getSecret('mi-pem');
  assert.is(read.value, identity.pemBundle);
  assert.is(read.properties.contentType, 'application/x-pem-file');
  assert.equal(read.properties.tags, { account: 'a1' });
  assert.is(read.properties.enabled, true);
  assert.ok(Math.abs(read.properties.createdOn!.getTime() - Date.now()) < 60_000);
  assert.ok(read.properties.updatedOn instanceof Date);
  assert.is(read.properties.recoveryLevel, 'Recoverable+Purgeable');
  assert.is(read.properties.id, `${vault.url}/secrets/mi-pem/${written.properties.version}`);
});

test('the certificate read from the vault authenticates to Entra', async () => {
  const identity = await createIdentityCertificate('stored-identity');
  const registered = entra.registerApplication({ certificates: [identity.certPem] });
  await clientFor('writer').setSecret('stored-identity', identity.pemBundle, { contentType: 'application/x-pem-file' });
  const pem = (await clientFor('reader').getSecret('stored-identity')).value!;
  const credential = new ClientCertificateCredential(entra.tenantId, registered.appId, { certificate: pem }, {
    authorityHost: entra.authorityHost,
    disableInstanceDiscovery: true,
    additionalPolicies: trustCa(tls.caPem),
  });
  const token = await credential.getToken('https://storage.azure.com/.default');
  assert.is(decodeJwt(token!.token).appid, registered.appId);
});

test('versions: each set adds one; any version can be read; list shows the latest of each secret', async () => {
  const client = clientFor('writer');
  const v1 = await client.setSecret('rotating', 'one');
  const v2 = await client.setSecret('rotating', 'two');
  const versions: string[] = [];
  for await (const props of client.listPropertiesOfSecretVersions('rotating')) versions.push(props.version!);
  assert.equal(versions.sort(), [v1.properties.version!, v2.properties.version!].sort());
  assert.is((await client.getSecret('rotating')).value, 'two');
  assert.is((await client.getSecret('rotating', { version: v1.properties.version! })).value, 'one');
  const names: string[] = [];
  for await (const props of client.listPropertiesOfSecrets()) names.push(props.name);
  assert.ok(names.includes('rotating') && names.includes('mi-pem'));
});

test('delete is soft: the poller finishes, the secret is gone, recoverable and purgeable', async () => {
  const client = clientFor('writer');
  await client.setSecret('short-lived', 'bye');
  const poller = await client.beginDeleteSecret('short-lived');
  const deleted = await poller.pollUntilDone();
  assert.is(deleted.name, 'short-lived');
  assert.is(deleted.properties.recoveryId, `${vault.url}/deletedsecrets/short-lived`);
  assert.ok(deleted.properties.deletedOn instanceof Date);
  await rejectsWithStatus(client.getSecret('short-lived'), 404, 'SecretNotFound');
  await rejectsWithStatus(client.setSecret('short-lived', 'again'), 409, 'Conflict');
  const recovered = await (await client.beginRecoverDeletedSecret('short-lived')).pollUntilDone();
  assert.is(recovered.name, 'short-lived');
  assert.is((await client.getSecret('short-lived')).value, 'bye');
  await (await client.beginDeleteSecret('short-lived')).pollUntilDone();
  await client.purgeDeletedSecret('short-lived');
  await rejectsWithStatus(client.getDeletedSecret('short-lived'), 404);
  assert.is((await client.setSecret('short-lived', 'fresh')).value, 'fresh');
});

test('access policies: no access is 403; read-only access cannot write', async () => {
  await rejectsWithStatus(clientFor('stranger').getSecret('mi-pem'), 403, 'Forbidden');
  const reader = clientFor('reader');
  assert.ok((await reader.getSecret('mi-pem')).value);
  await rejectsWithStatus(reader.setSecret('mi-pem', 'overwrite'), 403, 'Forbidden');
  vault.revoke(apps.reader.appId, ['get']);
  try {
    await rejectsWithStatus(reader.getSecret('mi-pem'), 403);
  } finally {
    vault.grant(apps.reader.appId, ['get']);
  }
});

test('unknown secret or version: 404 SecretNotFound', async () => {
  await rejectsWithStatus(clientFor('writer').getSecret('no-such-secret'), 404, 'SecretNotFound');
  await rejectsWithStatus(clientFor('writer').getSecret('mi-pem', { version: '0'.repeat(32) }), 404, 'SecretNotFound');
});

test('a request without a token gets the challenge Key Vault sends', async () => {
  const res = await https(`${vault.url}/secrets/mi-pem?api-version=7.6`);
  assert.is(res.status, 401);
  assert.is(res.headers['www-authenticate'], `Bearer authorization="${entra.authorityHost}/${entra.tenantId}", resource="${vaultAudience}"`);
  assert.is(res.json.error.code, 'Unauthorized');
});

test('accepts api%2Dversion and a trailing slash; refuses wrong audience, issuer, expired and foreign-signed tokens', async () => {
  const { appId, secret } = apps.writer;
  const credential = new ClientSecretCredential(entra.tenantId, appId, secret, { authorityHost: entra.authorityHost, disableInstanceDiscovery: true, additionalPolicies: trustCa(tls.caPem) });
  const good = (await credential.getToken(`${vaultAudience}/.default`))!.token;
  const read = (token: string) => https(`${vault.url}/secrets/mi-pem/?api%2Dversion=7.6`, { headers: { authorization: `Bearer ${token}` } });
  const ok = await read(good);
  assert.is(ok.status, 200);
  assert.ok(ok.json.value.includes('BEGIN CERTIFICATE'));

  const storageToken = (await credential.getToken('https://storage.azure.com/.default'))!.token;
  const wrongAudience = await read(storageToken);
  assert.is(wrongAudience.status, 401);
  assert.match(wrongAudience.json.error.message, /AKV10022/);

  const wrongIssuer = await read(await entra.signAccessToken(vaultClaims({ iss: `https://sts.windows.net/${randomUUID()}/` })));
  assert.is(wrongIssuer.status, 401);
  assert.match(wrongIssuer.json.error.message, /AKV10032/);

  const past = Math.floor(Date.now() / 1000) - 7200;
  const expired = await read(await entra.signAccessToken(vaultClaims({ iat: past, nbf: past, exp: past + 3600 })));
  assert.is(expired.status, 401);
  assert.match(expired.json.error.message, /expired/);

  const { privateKey } = await generateKeyPair('RS256');
  const header = JSON.parse(Buffer.from(good.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string; x5t: string };
  const foreign = await new SignJWT(vaultClaims()).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: header.kid, x5t: header.x5t }).sign(privateKey);
  const forged = await read(foreign);
  assert.is(forged.status, 401);
  assert.match(forged.json.error.message, /signature/);

  assert.is((await read('not-a-jwt')).status, 401);
});

test('stats: one authorised read per getSecret, the challenge counted apart', async () => {
  const client = clientFor('reader');
  vault.resetStats();
  await client.getSecret('mi-pem');
  const stats = vault.stats();
  assert.is(stats.challenges, 1);
  assert.equal(stats.bySecret['mi-pem']?.getSecret, { total: 1, succeeded: 1, failed: 0, faulted: 0 });
  assert.is(stats.byOperation.getSecret?.total, 1);
  await client.getSecret('mi-pem');
  assert.is(vault.stats().bySecret['mi-pem']?.getSecret?.total, 2);
  assert.is(vault.stats().challenges, 1, 'the client keeps its token after the first challenge');
});

test('fault injection: a 503 is retried by the SDK and counted', async () => {
  const client = clientFor('reader');
  await client.getSecret('mi-pem');
  vault.resetStats();
  vault.setFault({ status: 503, retryAfterSeconds: 0, count: 1 });
  assert.ok((await client.getSecret('mi-pem')).value);
  const stats = vault.stats();
  assert.is(stats.faulted, 1);
  assert.equal(stats.bySecret['mi-pem']?.getSecret, { total: 1, succeeded: 1, failed: 0, faulted: 1 });
});

test('admin API: access granted over HTTPS with the admin key', async () => {
  const refused = await https(`${vault.url}/_stand-in/access/${apps.stranger.objectId}`, { method: 'PUT', body: JSON.stringify({ permissions: ['get'] }) });
  assert.is(refused.status, 401);
  const granted = await https(`${vault.url}/_stand-in/access/${apps.stranger.objectId}`, {
    method: 'PUT',
    headers: { 'x-stand-in-key': vault.adminKey, 'content-type': 'application/json' },
    body: JSON.stringify({ permissions: ['get'] }),
  });
  assert.is(granted.status, 204);
  assert.ok((await clientFor('stranger').getSecret('mi-pem')).value);
  const revoked = await https(`${vault.url}/_stand-in/access/${apps.stranger.objectId}`, { method: 'DELETE', headers: { 'x-stand-in-key': vault.adminKey } });
  assert.is(revoked.status, 204);
  const stats = await https(`${vault.url}/_stand-in/stats`, { headers: { 'x-stand-in-key': vault.adminKey } });
  assert.ok(stats.json.requests > 0);
});

test.run();
