/** AccountService (admin): the admin credential, validation, optimistic concurrency, paging, refresh token admin. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { ClientSecretCredential } from '@azure/identity';
import { bearerMetadata, unaryCall } from '../../common/grpc/client.ts';
import { entraCredentialOptions } from '../../common/auth/entra-credential-options.ts';
import { ROUTING_API, startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import type { Account } from '../../gen/fhirmesh/routing/v1/account.ts';
import { expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';

let setup: RoutingSetup;
let admin: () => Promise<ReturnType<typeof bearerMetadata>>;

function account(name: string, overrides: Partial<Account> = {}): Account {
  return {
    name,
    displayName: name,
    state: 0,
    allowedResourceUris: ['https://storage.azure.com'],
    managedIdentity: { clientId: '00000000-0000-0000-0000-000000000001', tenantId: setup.standIns.entra.tenantId, secretName: `mi-${name}`, credentialKind: 0 },
    fhirProperties: { exportJobConfiguration: {} },
    etag: '',
    ...overrides,
  };
}

test.before(loud('before', async () => {
  setup = await startRoutingSetup();
  admin = async () => bearerMetadata(await setup.adminToken());
}));
test.after(async () => setup?.stop());

const accounts = () => setup.accounts;

test('the admin API refuses callers without a token, with a bad token, or without the admin role', async () => {
  await expectStatus(unaryCall(accounts().getAccount, accounts(), { name: 'whatever' }), status.UNAUTHENTICATED, /bearer token is required/);
  await expectStatus(unaryCall(accounts().getAccount, accounts(), { name: 'whatever' }, bearerMetadata('abc.def.ghi')), status.UNAUTHENTICATED, /malformed/);
  const secret = 'operator-without-role-secret';
  const app = setup.standIns.entra.registerApplication({ secrets: [secret] });
  const credential = new ClientSecretCredential(setup.standIns.entra.tenantId, app.appId, secret, entraCredentialOptions({ authorityHost: setup.standIns.entra.authorityHost, caPem: setup.standIns.tls.caPem }));
  const noRole = (await credential.getToken(`${ROUTING_API}/.default`))!.token;
  await expectStatus(unaryCall(accounts().getAccount, accounts(), { name: 'whatever' }, bearerMetadata(noRole)), status.PERMISSION_DENIED, /Routing\.Admin/);
  // A token for another audience is not an admin token either.
  const storage = (await credential.getToken('https://storage.azure.com/.default'))!.token;
  await expectStatus(unaryCall(accounts().getAccount, accounts(), { name: 'whatever' }, bearerMetadata(storage)), status.UNAUTHENTICATED, /aud/);
  // A refresh token is not an admin credential.
  const acct = await setup.provisionAccount('acct-not-admin');
  await expectStatus(unaryCall(accounts().getAccount, accounts(), { name: 'acct-not-admin' }, bearerMetadata(acct.refreshToken)), status.UNAUTHENTICATED);
});

test('create validates every part and says which field is wrong', async () => {
  const md = await admin();
  const cases: Array<[Account, RegExp]> = [
    [account('X_bad'), /account name/],
    [account('acct-v1', { allowedResourceUris: [] }), /allowed_resource_uris needs at least one/],
    [account('acct-v2', { allowedResourceUris: ['http://storage.azure.com'] }), /allowed_resource_uris: resource_uri must use https/],
    [account('acct-v3', { managedIdentity: undefined }), /managed_identity.client_id is required/],
    [account('acct-v4', { fhirProperties: { exportJobConfiguration: { rollingFileSizeInMb: 0 } } }), /rollingFileSizeInMb must be an integer from 1/],
    [account('acct-v5', { fhirProperties: { exportJobConfiguration: { defaultContainer: '../etc' } } }), /default_container/],
    [account('acct-v6', { fhirProperties: { exportJobConfiguration: { storageAccountUri: 'ftp://x' } } }), /storage_account_uri/],
  ];
  for (const [a, why] of cases) await expectStatus(unaryCall(accounts().createAccount, accounts(), { account: a }, md), status.INVALID_ARGUMENT, why);
  await expectStatus(unaryCall(accounts().createAccount, accounts(), {}, md), status.INVALID_ARGUMENT, /account is required/);
});

test('create, read, duplicate, update with field mask, and a stale etag', async () => {
  const md = await admin();
  const created = await unaryCall(accounts().createAccount, accounts(), { account: account('acct-crud', { fhirProperties: { exportJobConfiguration: { maxJobRestartCount: 3 } } }) }, md);
  assert.ok(created.account!.etag, 'etag set');
  assert.is(created.account!.fhirProperties!.exportJobConfiguration!.maxJobRestartCount, 3);
  await expectStatus(unaryCall(accounts().createAccount, accounts(), { account: account('acct-crud') }, md), status.ALREADY_EXISTS);
  await expectStatus(unaryCall(accounts().getAccount, accounts(), { name: 'acct-missing' }, md), status.NOT_FOUND);
  const updated = await unaryCall(accounts().updateAccount, accounts(), {
    account: { ...created.account!, displayName: 'New name', allowedResourceUris: ['https://evil.example.com'] },
    updateMask: ['display_name'],
  }, md);
  assert.is(updated.account!.displayName, 'New name');
  assert.equal(updated.account!.allowedResourceUris, ['https://storage.azure.com'], 'fields outside the mask unchanged');
  await expectStatus(
    unaryCall(accounts().updateAccount, accounts(), { account: { ...created.account!, displayName: 'lost update' }, updateMask: ['display_name'] }, md),
    status.ABORTED,
    /changed by someone else/,
  );
  await expectStatus(unaryCall(accounts().updateAccount, accounts(), { account: updated.account!, updateMask: ['etag'] }, md), status.INVALID_ARGUMENT, /update_mask/);
  const read = await unaryCall(accounts().getAccount, accounts(), { name: 'acct-crud' }, md);
  assert.is(read.account!.displayName, 'New name');
});

test('list pages through accounts in name order', async () => {
  const md = await admin();
  for (const n of ['page-a', 'page-b', 'page-c', 'page-d', 'page-e']) await unaryCall(accounts().createAccount, accounts(), { account: account(n) }, md);
  const names: string[] = [];
  let pageToken = '';
  do {
    const page = await unaryCall(accounts().listAccounts, accounts(), { pageSize: 2, pageToken }, md);
    assert.ok(page.accounts.length <= 2);
    names.push(...page.accounts.map((a) => a.name));
    pageToken = page.nextPageToken;
  } while (pageToken);
  const pages = names.filter((n) => n.startsWith('page-'));
  assert.equal(pages, ['page-a', 'page-b', 'page-c', 'page-d', 'page-e']);
  assert.equal([...names].sort(), names, 'ordered by name');
  await expectStatus(unaryCall(accounts().listAccounts, accounts(), { pageSize: 0, pageToken: '!!!' }, md), status.INVALID_ARGUMENT, /page_token/);
  await expectStatus(unaryCall(accounts().listAccounts, accounts(), { pageSize: 1000, pageToken: '' }, md), status.INVALID_ARGUMENT, /page_size/);
});

test('refresh tokens: issue, list without values, revoke one family', async () => {
  const md = await admin();
  const acct = await setup.provisionAccount('acct-tokens');
  const second = await unaryCall(accounts().issueRefreshToken, accounts(), { accountName: 'acct-tokens' }, md);
  const listed = await unaryCall(accounts().listRefreshTokens, accounts(), { accountName: 'acct-tokens' }, md);
  assert.is(listed.tokens.length, 2);
  assert.not.ok(JSON.stringify(listed).includes(acct.refreshToken.slice(5)), 'no token value listed');
  const revoked = await unaryCall(accounts().revokeRefreshTokens, accounts(), { accountName: 'acct-tokens', tokenId: second.info!.tokenId }, md);
  assert.is(revoked.revokedCount, 1);
  const after = await unaryCall(accounts().listRefreshTokens, accounts(), { accountName: 'acct-tokens' }, md);
  assert.equal(after.tokens.map((t) => t.state).sort(), [1, 3], 'one active, one revoked');
  await expectStatus(unaryCall(accounts().issueRefreshToken, accounts(), { accountName: 'acct-nope' }, md), status.NOT_FOUND);
});

test('stored refresh tokens are hashes only', async () => {
  const acct = await setup.provisionAccount('acct-hashes');
  const { createCosmosClient } = await import('../../common/cosmos.ts');
  const client = createCosmosClient({ endpoint: setup.standIns.cosmos.endpoint, key: setup.standIns.cosmos.key, caPem: setup.standIns.tls.caPem });
  const { resources } = await client.database('registry').container('refreshTokens').items.readAll().fetchAll();
  client.dispose();
  const text = JSON.stringify(resources);
  assert.ok(resources.length > 0);
  assert.not.ok(text.includes(acct.refreshToken), 'the token value is not stored');
  assert.not.ok(text.includes(acct.refreshToken.slice(5, 30)), 'no part of it either');
});

test.run();
