/**
 * TokenService end to end: the routing server against the real SDKs and the
 * local Cosmos DB, Key Vault, Entra ID stand-ins.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { RefreshTokenServiceClient } from '../../gen/fhirmesh/routing/v1/refresh_token_service.ts';
import { AccountConfigurationServiceClient } from '../../gen/fhirmesh/routing/v1/account_configuration_service.ts';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { startRoutingSetup, type ProvisionedAccount, type RoutingSetup } from '../../dev/routing-setup.ts';
import { claims, expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';

const STORAGE = 'https://storage.azure.com';
const OTHER_STORAGE = 'https://otheracct.blob.core.windows.net';
let setup: RoutingSetup;
let tokens: TokenServiceClient;
let refresh: RefreshTokenServiceClient;
let accountConfig: AccountConfigurationServiceClient;
let a: ProvisionedAccount;
let b: ProvisionedAccount;

const getToken = (refreshToken: string, resourceUri = STORAGE) =>
  unaryCall(tokens.getToken, tokens, { resourceUri }, bearerMetadata(refreshToken));

test.before(loud('before', async () => {
  setup = await startRoutingSetup({
    env: { ROUTING_CACHE_REFRESH_TOKEN_SECONDS: '1', ROUTING_REFRESH_TOKEN_GRACE_SECONDS: '2', ROUTING_CACHE_ACCOUNT_SECONDS: '1' },
  });
  setup.standIns.entra.registerResource(OTHER_STORAGE);
  const channel = tlsChannelCredentials(setup.standIns.tls.caPem);
  tokens = new TokenServiceClient(setup.address, channel);
  refresh = new RefreshTokenServiceClient(setup.address, channel);
  accountConfig = new AccountConfigurationServiceClient(setup.address, channel);
  a = await setup.provisionAccount('acct-a', { credential: 'certificate', exportJobConfiguration: { rollingFileSizeInMb: 64 } });
  b = await setup.provisionAccount('acct-b', { credential: 'secret', allowedResourceUris: [STORAGE, OTHER_STORAGE] });
}));

test.after(async () => {
  tokens?.close();
  refresh?.close();
  accountConfig?.close();
  await setup?.stop();
});

test('a certificate identity gets a token for its storage account, issued to its client id', async () => {
  const before = Date.now();
  const res = await getToken(a.refreshToken, 'https://Storage.Azure.com/.default');
  const c = claims(res.accessToken);
  assert.is(c.aud, STORAGE);
  assert.is(c.appid, a.clientId);
  assert.is(c.appidacr, '2', 'certificate credential');
  assert.is(c.iss, setup.standIns.entra.issuer());
  assert.is(res.tokenType, 'Bearer');
  assert.is(res.resourceUri, STORAGE);
  assert.ok(res.expiresOn!.getTime() > before + 3_000_000, 'expires in about an hour');
  assert.ok(res.refreshAfter!.getTime() < res.expiresOn!.getTime());
  assert.ok(res.refreshAfter!.getTime() > before);
});

test('a client-secret identity works the same way', async () => {
  const res = await getToken(b.refreshToken, OTHER_STORAGE);
  assert.is(claims(res.accessToken).aud, OTHER_STORAGE);
  assert.is(claims(res.accessToken).appid, b.clientId);
  assert.is(claims(res.accessToken).appidacr, '1');
});

test('200 concurrent calls for a cold (account, resource) make one Entra request and one Key Vault read', async () => {
  const c = await setup.provisionAccount('acct-cold');
  const { entra, keyVault } = setup.standIns;
  entra.resetStats();
  keyVault.resetStats();
  const results = await Promise.all(Array.from({ length: 200 }, () => getToken(c.refreshToken)));
  assert.is(new Set(results.map((r) => r.accessToken)).size, 1, 'everyone got the same token');
  assert.is(entra.stats().byAppId[c.clientId.toLowerCase()]?.total, 1, 'one token request reached Entra ID');
  assert.is(keyVault.stats().bySecret[c.secretName]?.getSecret?.total, 1, 'one secret read reached Key Vault');
  // And the warm path does no I/O at all.
  entra.resetStats();
  keyVault.resetStats();
  await Promise.all(Array.from({ length: 50 }, () => getToken(c.refreshToken)));
  assert.is(entra.stats().tokenRequests.total, 0);
  assert.is(keyVault.stats().requests, 0);
});

test("account A's refresh token never yields B's identity or a resource A is not allowed", async () => {
  await expectStatus(getToken(a.refreshToken, OTHER_STORAGE), status.PERMISSION_DENIED, /acct-a may not get tokens for https:\/\/otheracct/);
  const res = await getToken(a.refreshToken);
  assert.is(claims(res.accessToken).appid, a.clientId);
  assert.is.not(claims(res.accessToken).appid, b.clientId);
  const cfg = await unaryCall(accountConfig.getAccountConfiguration, accountConfig, {}, bearerMetadata(a.refreshToken));
  assert.is(cfg.accountName, 'acct-a');
  assert.is(cfg.fhirProperties?.exportJobConfiguration?.rollingFileSizeInMb, 64);
});

test('a revoked refresh token is refused within seconds', async () => {
  const c = await setup.provisionAccount('acct-revoke');
  await getToken(c.refreshToken);
  const md = bearerMetadata(await setup.adminToken());
  const res = await unaryCall(setup.accounts.revokeRefreshTokens, setup.accounts, { accountName: 'acct-revoke', tokenId: '' }, md);
  assert.is(res.revokedCount, 1);
  const started = Date.now();
  let refusedAfter = -1;
  while (Date.now() - started < 5_000) {
    try {
      await getToken(c.refreshToken);
    } catch (err) {
      assert.is((err as { code: number }).code, status.UNAUTHENTICATED);
      refusedAfter = Date.now() - started;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(refusedAfter >= 0, 'refused within 5 s');
});

test('rotation: new token works, old one works within grace, and replay after grace revokes the family', async () => {
  const c = await setup.provisionAccount('acct-rotate');
  const rotated = await unaryCall(refresh.rotateRefreshToken, refresh, {}, bearerMetadata(c.refreshToken));
  assert.match(rotated.refreshToken, /^fmrt_/);
  assert.ok(rotated.previousTokenValidUntil!.getTime() > Date.now());
  await getToken(rotated.refreshToken);
  await getToken(c.refreshToken); // within the 2 s grace
  await new Promise((r) => setTimeout(r, 3_200));
  await expectStatus(getToken(c.refreshToken), status.UNAUTHENTICATED, /family is now revoked/);
  await new Promise((r) => setTimeout(r, 1_100)); // validation cache TTL
  await expectStatus(getToken(rotated.refreshToken), status.UNAUTHENTICATED, /revoked/);
});

test('two instances rotating at once both end up with working tokens', async () => {
  const c = await setup.provisionAccount('acct-twins');
  const [r1, r2] = await Promise.all([
    unaryCall(refresh.rotateRefreshToken, refresh, {}, bearerMetadata(c.refreshToken)),
    unaryCall(refresh.rotateRefreshToken, refresh, {}, bearerMetadata(c.refreshToken)),
  ]);
  await new Promise((r) => setTimeout(r, 3_200));
  await getToken(r1.refreshToken);
  await getToken(r2.refreshToken);
});

test('error mapping: UNAUTHENTICATED for missing, malformed and unknown refresh tokens', async () => {
  await expectStatus(unaryCall(tokens.getToken, tokens, { resourceUri: STORAGE }), status.UNAUTHENTICATED, /refresh token is required/);
  await expectStatus(getToken('not-a-token'), status.UNAUTHENTICATED);
  await expectStatus(getToken('fmrt_' + 'A'.repeat(43)), status.UNAUTHENTICATED, /unknown/);
});

test('error mapping: INVALID_ARGUMENT says why the resource URI is bad', async () => {
  await expectStatus(getToken(a.refreshToken, 'http://storage.azure.com'), status.INVALID_ARGUMENT, /https/);
  await expectStatus(getToken(a.refreshToken, ''), status.INVALID_ARGUMENT, /required/);
  await expectStatus(getToken(a.refreshToken, 'not a uri'), status.INVALID_ARGUMENT, /absolute/);
});

test('error mapping: FAILED_PRECONDITION with the AADSTS code when Entra rejects the identity (wrong secret in Key Vault)', async () => {
  const c = await setup.provisionAccount('acct-wrongsecret', { credential: 'secret' });
  setup.standIns.keyVault.putSecret(c.secretName, 'definitely-not-the-secret', { contentType: 'text/plain' });
  const err = await expectStatus(getToken(c.refreshToken), status.FAILED_PRECONDITION, /AADSTS7000215/);
  assert.not.match(err.details, /definitely-not-the-secret/);
});

test('error mapping: FAILED_PRECONDITION when the secret is missing from Key Vault', async () => {
  const c = await setup.provisionAccount('acct-nosecret');
  const md = bearerMetadata(await setup.adminToken());
  const got = await unaryCall(setup.accounts.getAccount, setup.accounts, { name: 'acct-nosecret' }, md);
  await unaryCall(setup.accounts.updateAccount, setup.accounts, {
    account: { ...got.account!, managedIdentity: { ...got.account!.managedIdentity!, secretName: 'mi-does-not-exist' } },
    updateMask: ['managed_identity'],
  }, md);
  await new Promise((r) => setTimeout(r, 1_100)); // account cache TTL (other instances); this one was invalidated at once
  await expectStatus(getToken(c.refreshToken), status.FAILED_PRECONDITION, /mi-does-not-exist.*does not exist/);
});

test('error mapping: UNAVAILABLE when Entra ID is down', async () => {
  const c = await setup.provisionAccount('acct-entradown');
  setup.standIns.entra.setFault({ status: 503, count: 50 });
  try {
    await expectStatus(getToken(c.refreshToken), status.UNAVAILABLE, /Entra ID/);
  } finally {
    setup.standIns.entra.clearFault();
  }
  // The provider backs off per identity and says for how long.
  const cooling = await expectStatus(getToken(c.refreshToken), status.UNAVAILABLE, /backing off/);
  const retryAfterMs = Number(cooling.metadata.get('retry-after-ms')[0]);
  assert.ok(retryAfterMs > 0 && retryAfterMs <= 2_000, `retry-after-ms ${retryAfterMs}`);
  await new Promise((r) => setTimeout(r, retryAfterMs + 50));
  const res = await getToken(c.refreshToken);
  assert.is(claims(res.accessToken).appid, c.clientId, 'recovers without restart');
});

test('error mapping: UNAVAILABLE when Key Vault is down', async () => {
  const c = await setup.provisionAccount('acct-kvdown');
  setup.standIns.keyVault.setFault({ status: 503, count: 50 });
  try {
    await expectStatus(getToken(c.refreshToken), status.UNAVAILABLE, /Key Vault/);
  } finally {
    setup.standIns.keyVault.clearFault();
  }
  await new Promise((r) => setTimeout(r, 1_100)); // the provider's first back-off step
  const res = await getToken(c.refreshToken);
  assert.is(claims(res.accessToken).appid, c.clientId, 'recovers without restart');
});

test('an identity change takes effect without a restart', async () => {
  const c = await setup.provisionAccount('acct-switch');
  const first = claims((await getToken(c.refreshToken)).accessToken).appid;
  const d = await setup.provisionAccount('acct-switch-src', { credential: 'secret' });
  const md = bearerMetadata(await setup.adminToken());
  const got = await unaryCall(setup.accounts.getAccount, setup.accounts, { name: 'acct-switch-src' }, md);
  const target = await unaryCall(setup.accounts.getAccount, setup.accounts, { name: 'acct-switch' }, md);
  await unaryCall(setup.accounts.updateAccount, setup.accounts, {
    account: { ...target.account!, managedIdentity: got.account!.managedIdentity },
    updateMask: ['managed_identity'],
  }, md);
  await new Promise((r) => setTimeout(r, 1_100));
  const second = claims((await getToken(c.refreshToken)).accessToken).appid;
  assert.is(first, c.clientId);
  assert.is(second, d.clientId);
});

test('a disabled account gets PERMISSION_DENIED', async () => {
  const c = await setup.provisionAccount('acct-disabled');
  const md = bearerMetadata(await setup.adminToken());
  const got = await unaryCall(setup.accounts.getAccount, setup.accounts, { name: 'acct-disabled' }, md);
  await unaryCall(setup.accounts.updateAccount, setup.accounts, { account: { ...got.account!, state: 2 }, updateMask: ['state'] }, md);
  await expectStatus(getToken(c.refreshToken), status.PERMISSION_DENIED, /disabled/);
});

test.run();
