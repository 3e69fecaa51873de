/**
 * No secret reaches a log line, a stored document or the metrics: the routing
 * server and the fhir-server run as their own processes at log level `trace`,
 * every byte of their output captured, through a full flow — provisioning,
 * GetToken, refresh-token rotation, REST exports to the default storage and to
 * a client SAS destination, and requests with bad credentials. Then every
 * secret and token the run issued (refresh tokens, access tokens, client
 * secrets, SAS signatures, private keys, storage and Cosmos keys) is searched
 * for in the output, in every Cosmos document and in any /metrics answer.
 * The one allowed home of a refresh token outside the routing server is the
 * fhir-server's own `system/routing-refresh-token` document.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClientSecretCredential } from '@azure/identity';
import { ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { Metadata } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SecretClient } from '@azure/keyvault-secrets';
import { trustCa } from '../../common/azure-tls.ts';
import { blobSasVersion, createBlobServiceClient } from '../../common/blob.ts';
import { createCosmosClient } from '../../common/cosmos.ts';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { createIdentityCertificate } from '../../dev/certs.ts';
import { FHIR_API, fhirEnvironment } from '../../dev/mesh-setup.ts';
import { ADMIN_ROLE, ROUTING_API, routingEnvironment, type RoutingSetup } from '../../dev/routing-setup.ts';
import { startStandIns, type StandIns } from '../../dev/standins.ts';
import { entraCredentialOptions } from '../../common/auth/entra-credential-options.ts';
import { AccountServiceClient } from '../../gen/fhirmesh/routing/v1/account_service.ts';
import { CredentialKind } from '../../gen/fhirmesh/routing/v1/account.ts';
import { RefreshTokenServiceClient } from '../../gen/fhirmesh/routing/v1/refresh_token_service.ts';
import { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { spawnCaptured, type CapturedProcess } from './support/captured-process.ts';
import { plain, pollExport, readEveryDocument } from './support/mesh-clients.ts';

let standIns: StandIns;
let routing: CapturedProcess | undefined;
let fhir: CapturedProcess | undefined;
const grpcClients: { close(): void }[] = [];
/** label → secret value; every value is searched for. */
const secrets = new Map<string, string>();
const remember = (label: string, value: string | undefined) => {
  if (value && value.length >= 16) secrets.set(label, value);
};
let metricsBodies: string[] = [];
let documents: { where: string; json: string }[] = [];
let ca: string;

function credential(appId: string, secret: string) {
  return new ClientSecretCredential(standIns.entra.tenantId, appId, secret, entraCredentialOptions({ authorityHost: standIns.entra.authorityHost, caPem: ca }));
}

/** A REST client app with `roles`; every token it gets is remembered. */
function restClient(label: string, roles: string[]) {
  const secret = randomBytes(24).toString('base64url');
  const app = standIns.entra.registerApplication({ displayName: label, secrets: [secret], roles: { [FHIR_API]: roles } });
  remember(`${label} client secret`, secret);
  const cred = credential(app.appId, secret);
  let n = 0;
  return async () => {
    const token = (await cred.getToken(`${FHIR_API}/.default`))!.token;
    remember(`${label} access token ${++n}`, token);
    return token;
  };
}

async function runFlow(): Promise<void> {
  standIns = await startStandIns();
  ca = standIns.tls.caPem;
  remember('Cosmos key', standIns.cosmos.key);
  remember('storage account key', standIns.blob.accountKey);
  remember('TLS private key', readFileSync(standIns.tls.keyFile, 'utf8').split('\n').filter((l) => l.length > 40)[1]);

  // Routing server process, most verbose logs.
  const metricsToken = randomBytes(24).toString('base64url');
  remember('routing metrics bearer token', metricsToken);
  const routingEnv = routingEnvironment(standIns, { ROUTING_LOG_LEVEL: 'trace', ROUTING_METRICS_ENABLED: 'true', ROUTING_METRICS_PORT: '0', ROUTING_METRICS_BEARER_TOKEN: metricsToken });
  remember('routing server client secret', routingEnv.ROUTING_IDENTITY_CLIENT_SECRET);
  routing = await spawnCaptured('routing-server/main.ts', routingEnv, 'ROUTING_READY');
  const address = routing.ready.address!;
  const channel = tlsChannelCredentials(ca);
  const accounts = new AccountServiceClient(address, channel);
  const tokens = new TokenServiceClient(address, channel);
  const rotation = new RefreshTokenServiceClient(address, channel);
  grpcClients.push(accounts, tokens, rotation);

  // Provision: an operator app, an identity whose certificate (with its private key) lives in Key Vault, an account.
  const adminSecret = randomBytes(24).toString('base64url');
  remember('admin client secret', adminSecret);
  const adminApp = standIns.entra.registerApplication({ displayName: 'operator', secrets: [adminSecret], roles: { [ROUTING_API]: [ADMIN_ROLE] } });
  const adminToken = (await credential(adminApp.appId, adminSecret).getToken(`${ROUTING_API}/.default`))!.token;
  remember('admin access token', adminToken);
  const admin = bearerMetadata(adminToken);
  const cert = await createIdentityCertificate('secret-scan identity');
  const keyLines = cert.pemBundle.split('\n');
  const keyStart = keyLines.findIndex((l) => l.includes('PRIVATE KEY'));
  remember('identity private key (line 1)', keyLines[keyStart + 1]);
  remember('identity private key (line 5)', keyLines[keyStart + 5]);
  const identity = standIns.entra.registerApplication({ displayName: 'scan identity', certificates: [cert.certPem] });
  standIns.keyVault.putSecret('mi-scan', cert.pemBundle, { contentType: 'application/x-pem-file' });
  await unaryCall(accounts.createAccount, accounts, {
    account: { name: 'scan', displayName: 'scan', state: 0, allowedResourceUris: ['https://storage.azure.com'], managedIdentity: { clientId: identity.appId, tenantId: standIns.entra.tenantId, secretName: 'mi-scan', credentialKind: CredentialKind.CREDENTIAL_KIND_CERTIFICATE }, fhirProperties: { exportJobConfiguration: {} }, etag: '' },
  }, admin);
  const bootstrap = (await unaryCall(accounts.issueRefreshToken, accounts, { accountName: 'scan' }, admin)).refreshToken;
  remember('bootstrap refresh token', bootstrap);

  // GetToken and a rotation on a second token of the account.
  const storageToken = (await unaryCall(tokens.getToken, tokens, { resourceUri: 'https://storage.azure.com' }, bearerMetadata(bootstrap))).accessToken;
  remember('storage access token', storageToken);
  const second = (await unaryCall(accounts.issueRefreshToken, accounts, { accountName: 'scan' }, admin)).refreshToken;
  remember('second refresh token', second);
  const rotated = (await unaryCall(rotation.rotateRefreshToken, rotation, {}, bearerMetadata(second))).refreshToken;
  remember('rotated refresh token', rotated);
  await unaryCall(tokens.getToken, tokens, { resourceUri: 'https://storage.azure.com/.default' }, bearerMetadata(rotated));

  // fhir-server process, most verbose logs.
  standIns.entra.registerResource(FHIR_API);
  const fhirEnv = fhirEnvironment({ standIns, address } as RoutingSetup, { name: 'scan', refreshToken: bootstrap, clientId: identity.appId, secretName: 'mi-scan' }, { FHIR_LOG_LEVEL: 'trace' });
  remember('fhir-server Key Vault client secret', fhirEnv.FHIR_KEYVAULT_CLIENT_SECRET);
  fhir = await spawnCaptured('fhir-server/main.ts', fhirEnv, 'FHIR_READY');
  const base = fhir.ready.baseUrl!;

  const writer = restClient('writer', ['Fhir.Write', 'Fhir.Read']);
  const exporter = restClient('exporter', ['Fhir.Export']);
  for (let i = 0; i < 5; i++) {
    const res = await https(`${base}/Patient/scan-${i}`, { method: 'PUT', ca, token: await writer(), body: { resourceType: 'Patient', id: `scan-${i}`, name: [{ family: `Scan${i}` }] } });
    assert.is(res.status, 201, res.body);
  }

  // Export to the default storage account, then download a file.
  const token = await exporter();
  const kickoff = await https(`${base}/$export?_type=Patient`, { ca, token, headers: { prefer: 'respond-async' } });
  assert.is(kickoff.status, 202, kickoff.body);
  const done = await pollExport(() => https(String(kickoff.headers['content-location']), { ca, token }));
  assert.is(done.status, 200, done.body);
  const file = await https((JSON.parse(done.body) as { output: { url: string }[] }).output[0]!.url, { ca, token, headers: { accept: 'application/fhir+ndjson' } });
  assert.is(file.status, 200);

  // Export to a client container by SAS URL.
  const shared = new StorageSharedKeyCredential(standIns.blob.accountName, standIns.blob.accountKey);
  const container = createBlobServiceClient({ url: standIns.blob.blobUrl, credential: shared, caPem: ca }).getContainerClient('scan-client');
  await container.createIfNotExists().catch((err: unknown) => Promise.reject(plain(err)));
  const sas = generateBlobSASQueryParameters({ containerName: 'scan-client', permissions: ContainerSASPermissions.parse('racwl'), startsOn: new Date(Date.now() - 60_000), expiresOn: new Date(Date.now() + 3_600_000), version: blobSasVersion }, shared);
  remember('client SAS signature', sas.signature);
  remember('client SAS signature (URL-encoded)', encodeURIComponent(sas.signature));
  const sasKickoff = await https(`${base}/$export`, { method: 'POST', ca, token, headers: { prefer: 'respond-async' }, body: { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Patient' }, { name: '_destination', valueUrl: `${container.url}?${sas.toString()}` }] } });
  assert.is(sasKickoff.status, 202, sasKickoff.body);
  const sasDone = await pollExport(() => https(String(sasKickoff.headers['content-location']), { ca, token }));
  assert.is(sasDone.status, 200, sasDone.body);

  // Errors: a SAS sent the wrong way (query string, refused host), bad REST tokens, bad and revoked refresh tokens.
  await https(`${base}/$export?_destination=${encodeURIComponent(`${container.url}?${sas.toString()}`)}`, { ca, token, headers: { prefer: 'respond-async' } });
  await https(`${base}/$export`, { method: 'POST', ca, token, headers: { prefer: 'respond-async' }, body: { resourceType: 'Parameters', parameter: [{ name: '_destination', valueUrl: `https://10.0.0.1/acct/scan-client?${sas.toString()}` }] } });
  const expired = await standIns.entra.signAccessToken({ aud: FHIR_API, iss: standIns.entra.issuer(), iat: 1, nbf: 1, exp: 2, oid: 'x', roles: ['Fhir.Export'] });
  remember('expired REST token', expired);
  for (const bad of [expired, bootstrap, `${token}x`, storageToken]) await https(`${base}/$export`, { ca, token: bad, headers: { prefer: 'respond-async' } });
  const bogus = `fmrt_${randomBytes(32).toString('base64url')}`;
  remember('unknown refresh token', bogus);
  await unaryCall(tokens.getToken, tokens, { resourceUri: 'https://storage.azure.com' }, bearerMetadata(bogus)).catch(() => undefined);
  await unaryCall(accounts.getAccount, accounts, { name: 'scan' }, bearerMetadata(rotated)).catch(() => undefined);
  await unaryCall(accounts.revokeRefreshTokens, accounts, { accountName: 'scan', tokenId: '' }, admin);
  await unaryCall(tokens.getToken, tokens, { resourceUri: 'https://storage.azure.com' }, bearerMetadata(rotated)).catch(() => undefined);
  const md = new Metadata();
  md.set('authorization', `Basic ${Buffer.from(`scan:${adminSecret}`).toString('base64')}`);
  await unaryCall(accounts.listAccounts, accounts, { pageSize: 1, pageToken: '' }, md).catch(() => undefined);

  // Metrics, where the servers have them.
  for (const auth of [undefined, await restClient('operator', ['Fhir.Admin'])()]) {
    const res = await https(`${base}/metrics`, { ca, ...(auth ? { token: auth } : {}), headers: { accept: 'text/plain' } });
    if (res.status === 200) metricsBodies.push(res.body);
  }
  if (routing.ready.metricsUrl) {
    const res = await https(routing.ready.metricsUrl, { ca, token: metricsToken, headers: { accept: 'text/plain' } });
    if (res.status === 200) metricsBodies.push(res.body);
  }

  // The SMART signing key the fhir-server keeps in Key Vault, if it made one: private key material too.
  const vault = new SecretClient(standIns.keyVault.url, credential(fhirEnv.FHIR_KEYVAULT_CLIENT_ID!, fhirEnv.FHIR_KEYVAULT_CLIENT_SECRET!), { disableChallengeResourceVerification: true, additionalPolicies: trustCa(ca) });
  const signingKey = await vault.getSecret('fhir-smart-signing-key').then((x) => x.value, () => undefined);
  if (signingKey) {
    const lines = signingKey.split('\n').filter((l) => l.length > 40);
    remember('SMART signing key (first line)', lines[0]);
    remember('SMART signing key (last line)', lines.at(-1));
  }

  // Every stored document (after the fhir-server stored any rotated refresh token of its own).
  const cosmos = createCosmosClient({ endpoint: standIns.cosmos.endpoint, key: standIns.cosmos.key, caPem: ca });
  try {
    const docs = await readEveryDocument(cosmos);
    for (const d of docs) {
      const json = d.json;
      if (d.container === 'system' && d.id === 'routing-refresh-token') {
        remember('fhir-server current refresh token', (JSON.parse(json) as { refreshToken: string }).refreshToken);
        continue; // its designated home, checked below for everything else
      }
      documents.push({ where: `${d.database}/${d.container}/${d.id}`, json });
    }
    const home = docs.find((d) => d.container === 'system' && d.id === 'routing-refresh-token');
    assert.ok(home, 'the fhir-server stored its refresh token');
    documents.push({ where: 'fhir system/routing-refresh-token (without its own token)', json: home!.json.replace(/"refreshToken":"[^"]*"/, '') });
  } finally {
    cosmos.dispose();
  }
  await fhir.stop();
  await routing.stop();
}

test.before(loud('before', runFlow));
test.after(async () => {
  for (const c of grpcClients) c.close();
  await fhir?.stop();
  await routing?.stop();
  await standIns?.stop();
});

function hits(haystack: string, where: string): string[] {
  const found: string[] = [];
  for (const [label, value] of secrets) {
    const parts = [value];
    if (value.split('.').length === 3) parts.push(value.split('.')[2]!); // a JWT's signature alone
    if (value.startsWith('fmrt_')) parts.push(value.slice(5));
    if (parts.some((p) => p.length >= 16 && haystack.includes(p))) found.push(`${label} in ${where}`);
  }
  return found;
}

test('the processes logged at trace level and the flow issued the secrets it is meant to', () => {
  assert.ok(routing!.output().split('\n').length > 20, 'routing server output captured');
  assert.ok(fhir!.output().split('\n').length > 20, 'fhir-server output captured');
  for (const [name, out] of [['routing server', routing!.output()], ['fhir-server', fhir!.output()]] as const) {
    const levels = new Map<string, number>();
    for (const m of out.matchAll(/"level":(\d+)/g)) levels.set(m[1]!, (levels.get(m[1]!) ?? 0) + 1);
    console.log(`secret scan: ${name} output lines by level ${JSON.stringify(Object.fromEntries(levels))}`);
  }
  assert.match(routing!.output(), /"msg":"grpc call"/, 'the routing server logged its calls');
  assert.match(fhir!.output(), /"msg":"request completed"/, 'the fhir-server logged its requests');
  assert.ok(secrets.size >= 20, `${secrets.size} secrets tracked`);
});

test('no secret or token appears in any process output', () => {
  const found = [...hits(routing!.output(), 'routing server output'), ...hits(fhir!.output(), 'fhir-server output')];
  assert.equal(found, []);
  assert.not.match(routing!.output() + fhir!.output(), /sig=[A-Za-z0-9%]{10,}/, 'no SAS signature');
  assert.not.match(routing!.output() + fhir!.output(), /BEGIN [A-Z ]*PRIVATE KEY/, 'no private key');
  console.log(`secret scan: ${secrets.size} secrets searched in ${routing!.output().length + fhir!.output().length} bytes of output`);
});

test('no secret or token appears in any stored document (job records, accounts, token hashes, resources)', () => {
  const found = documents.flatMap((d) => hits(d.json, d.where));
  assert.equal(found, []);
  for (const d of documents) assert.not.match(d.json, /sig=|BEGIN [A-Z ]*PRIVATE KEY/, d.where);
  console.log(`secret scan: ${documents.length} Cosmos documents searched`);
});

test('no secret or token appears in the metrics', () => {
  const found = metricsBodies.flatMap((body, i) => hits(body, `metrics answer ${i}`));
  assert.equal(found, []);
  console.log(`secret scan: ${metricsBodies.length} metrics answers searched (${metricsBodies.reduce((n, b) => n + b.length, 0)} bytes)`);
});

test.run();
