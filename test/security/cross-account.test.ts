/**
 * Isolation between accounts on the routing server and between REST/gRPC
 * principals on the fhir-server, through the real SDKs and the stand-ins:
 * account A's refresh token gets nothing of account B's (tokens, resources,
 * configuration, admin operations), and one client cannot see, cancel or
 * download another client's export.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { createCosmosClient } from '../../common/cosmos.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import type { ProvisionedAccount } from '../../dev/routing-setup.ts';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { ExportJobState, ExportServiceClient } from '../../gen/fhirmesh/fhir/v1/export_service.ts';
import { AccountConfigurationServiceClient } from '../../gen/fhirmesh/routing/v1/account_configuration_service.ts';
import { RefreshTokenServiceClient } from '../../gen/fhirmesh/routing/v1/refresh_token_service.ts';
import { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { claims, expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { newClient, pollExport } from './support/mesh-clients.ts';

const B_ONLY = 'https://b-only.vault.azure.net';
let mesh: MeshSetup;
let ca: string;
let a: ProvisionedAccount;
let b: ProvisionedAccount;
let tokens: TokenServiceClient;
let config: AccountConfigurationServiceClient;
let rotate: RefreshTokenServiceClient;
let exportsGrpc: ExportServiceClient;

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'acct-a' });
  ca = mesh.routing.standIns.tls.caPem;
  a = mesh.account;
  mesh.routing.standIns.entra.registerResource(B_ONLY);
  b = await mesh.routing.provisionAccount('acct-b', {
    allowedResourceUris: ['https://storage.azure.com', B_ONLY],
    exportJobConfiguration: { defaultContainer: 'b-private-container', maximumNumberOfConcurrentJobsAllowed: 7 },
  });
  const channel = tlsChannelCredentials(ca);
  tokens = new TokenServiceClient(mesh.routing.address, channel);
  config = new AccountConfigurationServiceClient(mesh.routing.address, channel);
  rotate = new RefreshTokenServiceClient(mesh.routing.address, channel);
  exportsGrpc = new ExportServiceClient(mesh.fhir.grpcAddress, channel);
  const cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: ca });
  await seedSynthetic(await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! }), { patients: 5, seed: 'security-cross' });
  cosmos.dispose();
}));
test.after(async () => {
  tokens?.close();
  config?.close();
  rotate?.close();
  exportsGrpc?.close();
  await mesh?.stop();
});

test('a refresh token gets tokens for its own identity only, never for the other account\'s identity or resources', async () => {
  const tokenA = await unaryCall(tokens.getToken, tokens, { resourceUri: 'https://storage.azure.com' }, bearerMetadata(a.refreshToken));
  const tokenB = await unaryCall(tokens.getToken, tokens, { resourceUri: 'https://storage.azure.com' }, bearerMetadata(b.refreshToken));
  assert.is(claims(tokenA.accessToken).appid, a.clientId, 'A gets a token of its own identity');
  assert.is(claims(tokenB.accessToken).appid, b.clientId, 'B gets a token of its own identity');
  assert.is.not(tokenA.accessToken, tokenB.accessToken);
  // B's resource is off limits to A, whichever way it is spelled.
  for (const uri of [B_ONLY, `${B_ONLY}/`, 'HTTPS://B-ONLY.VAULT.AZURE.NET', `${B_ONLY}/.default`, 'https://b-only.vault.azure.net:443']) {
    await expectStatus(unaryCall(tokens.getToken, tokens, { resourceUri: uri }, bearerMetadata(a.refreshToken)), status.PERMISSION_DENIED);
  }
  assert.ok((await unaryCall(tokens.getToken, tokens, { resourceUri: B_ONLY }, bearerMetadata(b.refreshToken))).accessToken, 'B may have it');
});

test('GetAccountConfiguration answers the caller\'s own account, whatever the request carries', async () => {
  const own = await unaryCall(config.getAccountConfiguration, config, {}, bearerMetadata(a.refreshToken));
  assert.is(own.accountName, a.name);
  assert.not.ok(JSON.stringify(own).includes('b-private-container'), 'no trace of B\'s overrides');
  assert.not.ok(own.allowedResourceUris.includes(B_ONLY));
  const other = await unaryCall(config.getAccountConfiguration, config, {}, bearerMetadata(b.refreshToken));
  assert.is(other.accountName, b.name);
  assert.is(other.fhirProperties?.exportJobConfiguration?.defaultContainer, 'b-private-container');
});

test('a refresh token is no admin credential: every AccountService method is UNAUTHENTICATED, for its own and the other account', async () => {
  const admin = mesh.routing.accounts;
  const md = () => bearerMetadata(a.refreshToken);
  const calls: [string, Promise<unknown>][] = [
    ['GetAccount B', unaryCall(admin.getAccount, admin, { name: b.name }, md())],
    ['GetAccount A', unaryCall(admin.getAccount, admin, { name: a.name }, md())],
    ['ListAccounts', unaryCall(admin.listAccounts, admin, { pageSize: 10, pageToken: '' }, md())],
    ['IssueRefreshToken B', unaryCall(admin.issueRefreshToken, admin, { accountName: b.name }, md())],
    ['ListRefreshTokens B', unaryCall(admin.listRefreshTokens, admin, { accountName: b.name }, md())],
    ['RevokeRefreshTokens B', unaryCall(admin.revokeRefreshTokens, admin, { accountName: b.name, tokenId: '' }, md())],
    ['UpdateAccount A', unaryCall(admin.updateAccount, admin, { account: { name: a.name, displayName: 'x', state: 0, allowedResourceUris: [B_ONLY], etag: '' }, updateMask: ['allowed_resource_uris'] }, md())],
    ['CreateAccount', unaryCall(admin.createAccount, admin, { account: { name: 'evil', displayName: 'x', state: 0, allowedResourceUris: [B_ONLY], etag: '' } }, md())],
  ];
  for (const [name, call] of calls) await expectStatus(call, status.UNAUTHENTICATED).catch((err: Error) => Promise.reject(new Error(`${name}: ${err.message}`)));
  // B is untouched.
  assert.ok((await unaryCall(tokens.getToken, tokens, { resourceUri: B_ONLY }, bearerMetadata(b.refreshToken))).accessToken, 'B still works');
  await expectStatus(unaryCall(tokens.getToken, tokens, { resourceUri: B_ONLY }, bearerMetadata(a.refreshToken)), status.PERMISSION_DENIED);
});

test('rotating A\'s refresh token yields an A token; it never authenticates as B', async () => {
  const issued = await mesh.routing.adminToken().then((t) => unaryCall(mesh.routing.accounts.issueRefreshToken, mesh.routing.accounts, { accountName: a.name }, bearerMetadata(t)));
  const rotated = await unaryCall(rotate.rotateRefreshToken, rotate, {}, bearerMetadata(issued.refreshToken));
  const own = await unaryCall(config.getAccountConfiguration, config, {}, bearerMetadata(rotated.refreshToken));
  assert.is(own.accountName, a.name);
  await expectStatus(unaryCall(tokens.getToken, tokens, { resourceUri: B_ONLY }, bearerMetadata(rotated.refreshToken)), status.PERMISSION_DENIED);
});

test('a REST or gRPC client cannot read, cancel or download another client\'s export', async () => {
  const owner = newClient(mesh, ['Fhir.Export'], 'owner');
  const other = newClient(mesh, ['Fhir.Export'], 'other'); // the same role, another principal
  const ownerToken = await owner.token();
  const otherToken = await other.token();
  const kickoff = await https(`${mesh.fhir.baseUrl}/$export?_type=Patient`, { ca, token: ownerToken, headers: { prefer: 'respond-async' } });
  assert.is(kickoff.status, 202, kickoff.body);
  const statusUrl = String(kickoff.headers['content-location']);
  const jobId = statusUrl.split('/').pop()!;
  const done = await pollExport(() => https(statusUrl, { ca, token: ownerToken }));
  assert.is(done.status, 200, done.body);
  const fileUrl = (JSON.parse(done.body) as { output: { url: string }[] }).output[0]!.url;

  // REST: status, cancel and download are all 404 for the other principal (the job's existence is not revealed).
  const unknown = await https(`${mesh.fhir.baseUrl}/_export/no-such-job`, { ca, token: otherToken });
  for (const [what, res] of [
    ['status', await https(statusUrl, { ca, token: otherToken })],
    ['cancel', await https(statusUrl, { ca, token: otherToken, method: 'DELETE' })],
    ['download', await https(fileUrl, { ca, token: otherToken })],
  ] as const) {
    assert.is(res.status, 404, `${what}: ${res.body}`);
    assert.is((JSON.parse(res.body) as { resourceType: string }).resourceType, 'OperationOutcome', what);
    assert.not.ok(res.body.includes('"resourceType":"Patient"') || res.body.includes('"output"'), `${what}: nothing of the job leaks`);
  }
  assert.is(unknown.status, 404, 'the same answer as for a job that does not exist');

  // gRPC: the same for GetExport and CancelExport.
  await expectStatus(unaryCall(exportsGrpc.getExport, exportsGrpc, { jobId }, bearerMetadata(otherToken)), status.NOT_FOUND);
  await expectStatus(unaryCall(exportsGrpc.cancelExport, exportsGrpc, { jobId }, bearerMetadata(otherToken)), status.NOT_FOUND);

  // The owner still has it, uncancelled, with its file.
  const again = await https(statusUrl, { ca, token: ownerToken });
  assert.is(again.status, 200, 'not cancelled by the other client');
  assert.is((await https(fileUrl, { ca, token: ownerToken })).status, 200);
  const viaGrpc = await unaryCall(exportsGrpc.getExport, exportsGrpc, { jobId }, bearerMetadata(ownerToken));
  assert.is(viaGrpc.job?.state, ExportJobState.EXPORT_JOB_STATE_COMPLETED);
});

test('a job started over gRPC is invisible to another principal over REST and gRPC', async () => {
  const owner = newClient(mesh, ['Fhir.Export'], 'grpc owner');
  const other = newClient(mesh, ['Fhir.Export', 'Fhir.Admin', 'Fhir.Read', 'Fhir.Write'], 'grpc other');
  const ownerToken = await owner.token();
  const otherToken = await other.token();
  const started = await unaryCall(exportsGrpc.startExport, exportsGrpc, { level: 1, groupId: '', outputFormat: '', types: ['Patient'], typeFilters: [], elements: [], patients: [], includeAssociatedData: [], handling: 0, requestUrl: '' }, bearerMetadata(ownerToken));
  const jobId = started.job!.jobId;
  await expectStatus(unaryCall(exportsGrpc.getExport, exportsGrpc, { jobId }, bearerMetadata(otherToken)), status.NOT_FOUND);
  await expectStatus(unaryCall(exportsGrpc.cancelExport, exportsGrpc, { jobId }, bearerMetadata(otherToken)), status.NOT_FOUND);
  assert.is((await https(`${mesh.fhir.baseUrl}/_export/${jobId}`, { ca, token: otherToken })).status, 404);
  assert.is((await https(`${mesh.fhir.baseUrl}/_export/${jobId}`, { ca, token: otherToken, method: 'DELETE' })).status, 404);
  const done = await pollExport(() => https(`${mesh.fhir.baseUrl}/_export/${jobId}`, { ca, token: ownerToken }));
  assert.is(done.status, 200, `the owner's job completes: ${done.body}`);
});

test.run();
