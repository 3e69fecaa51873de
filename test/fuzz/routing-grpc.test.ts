/**
 * Bad input at every routing server method (the server runs as its own
 * process): random, boundary, huge (1 MB), unicode and malformed field values,
 * random credentials, and random bytes as the raw request message. The server
 * never exits, never answers INTERNAL or UNKNOWN, answers the status the input
 * deserves, and still serves a good request afterwards.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Metadata, status } from '@grpc/grpc-js';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { AccountConfigurationServiceClient } from '../../gen/fhirmesh/routing/v1/account_configuration_service.ts';
import { RefreshTokenServiceClient } from '../../gen/fhirmesh/routing/v1/refresh_token_service.ts';
import { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { loud } from '../support/hooks.ts';
import { anyInt, anyString, codeOf, expectCode, metadataValue, RawClient, runs, Tally, assertProperty } from './support/fuzz.ts';

const RUNS = runs(300);
const { OK, INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, NOT_FOUND, ALREADY_EXISTS, ABORTED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION } = status;
let setup: RoutingSetup;
let refresh: string;
let rotateOnly: string;
let adminMd: Metadata;
let tokens: TokenServiceClient;
let rotation: RefreshTokenServiceClient;
let config: AccountConfigurationServiceClient;
let raw: RawClient;
const tally = new Tally();
const authMd = (value: string) => {
  const md = new Metadata();
  md.set('authorization', value);
  return md;
};

test.before(loud('before', async () => {
  setup = await startRoutingSetup({ mode: 'child-process' });
  refresh = (await setup.provisionAccount('fuzz', { credential: 'secret' })).refreshToken;
  rotateOnly = (await setup.provisionAccount('fuzz-rotate', { credential: 'secret' })).refreshToken;
  adminMd = bearerMetadata(await setup.adminToken());
  const channel = tlsChannelCredentials(setup.standIns.tls.caPem);
  tokens = new TokenServiceClient(setup.address, channel);
  rotation = new RefreshTokenServiceClient(setup.address, channel);
  config = new AccountConfigurationServiceClient(setup.address, channel);
  raw = new RawClient(setup.address, channel);
}));
test.after(async () => {
  tokens?.close();
  rotation?.close();
  config?.close();
  raw?.close();
  await setup?.stop();
});

const alive = () => assert.is(setup.routingProcess!.child.exitCode, null, 'the routing server is still running');

test('GetToken: any resource_uri is OK, INVALID_ARGUMENT or PERMISSION_DENIED (RESOURCE_EXHAUSTED past the message limit)', async () => {
  await assertProperty(
    fc.asyncProperty(anyString, async (resourceUri) => {
      const got = await codeOf(unaryCall(tokens.getToken, tokens, { resourceUri }, bearerMetadata(refresh)));
      tally.add('GetToken', got.code);
      expectCode('GetToken', got, resourceUri.length > 1_000_000 ? [RESOURCE_EXHAUSTED] : [OK, INVALID_ARGUMENT, PERMISSION_DENIED], { resourceUri });
    }),
    RUNS,
  );
  tally.print('GetToken');
  alive();
});

test('TokenService, RefreshTokenService and AccountConfigurationService: any bad credential is UNAUTHENTICATED (RESOURCE_EXHAUSTED once this address has sent too many)', async () => {
  await assertProperty(
    fc.asyncProperty(metadataValue, fc.constantFrom('GetToken', 'RotateRefreshToken', 'GetAccountConfiguration'), async (value, method) => {
      const md = authMd(value);
      const call =
        method === 'GetToken' ? unaryCall(tokens.getToken, tokens, { resourceUri: 'https://storage.azure.com' }, md)
        : method === 'RotateRefreshToken' ? unaryCall(rotation.rotateRefreshToken, rotation, {}, md)
        : unaryCall(config.getAccountConfiguration, config, {}, md);
      const got = await codeOf(call);
      tally.add('bad refresh-token credentials', got.code);
      // Past a burst of refresh tokens that do not authenticate, an address is answered RESOURCE_EXHAUSTED without a registry read.
      expectCode(method, got, [UNAUTHENTICATED, RESOURCE_EXHAUSTED], { value });
    }),
    RUNS,
  );
  tally.print('bad refresh-token credentials');
  alive();
});

/** An account with any field values. */
const anyAccount = fc.record({
  name: anyString,
  displayName: anyString,
  state: fc.oneof(fc.constantFrom(0, 1, 2, 3), anyInt),
  allowedResourceUris: fc.array(anyString, { maxLength: 4 }),
  managedIdentity: fc.option(fc.record({ clientId: anyString, tenantId: anyString, secretName: anyString, credentialKind: fc.oneof(fc.constantFrom(0, 1, 2), anyInt) }), { nil: undefined }),
  fhirProperties: fc.option(fc.record({ exportJobConfiguration: fc.record({ defaultContainer: fc.option(anyString, { nil: undefined }), maximumNumberOfConcurrentJobsAllowed: fc.option(fc.nat(), { nil: undefined }), rollingFileSizeInMb: fc.option(fc.nat(), { nil: undefined }), storageAccountUri: fc.option(anyString, { nil: undefined }) }) }), { nil: undefined }),
  etag: anyString,
});

test('AccountService (admin): any field values get OK or the status the input deserves, never INTERNAL', async () => {
  const a = setup.accounts;
  const ops = fc.oneof(
    fc.record({ op: fc.constant('CreateAccount'), account: anyAccount }),
    fc.record({ op: fc.constant('UpdateAccount'), account: anyAccount, mask: fc.array(fc.oneof(anyString, fc.constantFrom('display_name', 'allowed_resource_uris', 'state', 'managed_identity', 'fhir_properties', 'fhir_properties.export_job_configuration')), { maxLength: 4 }) }),
    fc.record({ op: fc.constant('GetAccount'), name: anyString }),
    fc.record({ op: fc.constant('ListAccounts'), pageSize: anyInt, pageToken: anyString }),
    fc.record({ op: fc.constant('IssueRefreshToken'), name: anyString }),
    fc.record({ op: fc.constant('ListRefreshTokens'), name: anyString }),
    fc.record({ op: fc.constant('RevokeRefreshTokens'), name: anyString, tokenId: anyString }),
  );
  await assertProperty(
    fc.asyncProperty(ops, async (input) => {
      if ('name' in input && (input.name === 'fuzz' || input.name === 'fuzz-rotate')) return;
      const call =
        input.op === 'CreateAccount' ? unaryCall(a.createAccount, a, { account: input.account }, adminMd)
        : input.op === 'UpdateAccount' ? unaryCall(a.updateAccount, a, { account: input.account, updateMask: input.mask }, adminMd)
        : input.op === 'GetAccount' ? unaryCall(a.getAccount, a, { name: input.name }, adminMd)
        : input.op === 'ListAccounts' ? unaryCall(a.listAccounts, a, { pageSize: input.pageSize, pageToken: input.pageToken }, adminMd)
        : input.op === 'IssueRefreshToken' ? unaryCall(a.issueRefreshToken, a, { accountName: input.name }, adminMd)
        : input.op === 'ListRefreshTokens' ? unaryCall(a.listRefreshTokens, a, { accountName: input.name }, adminMd)
        : unaryCall(a.revokeRefreshTokens, a, { accountName: input.name, tokenId: input.tokenId }, adminMd);
      const got = await codeOf(call);
      tally.add('AccountService', got.code);
      expectCode(input.op, got, [OK, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, ABORTED, RESOURCE_EXHAUSTED], input);
    }),
    RUNS,
  );
  tally.print('AccountService');
  alive();
});

test('AccountService: any non-admin credential is UNAUTHENTICATED', async () => {
  const a = setup.accounts;
  await assertProperty(
    fc.asyncProperty(fc.oneof(metadataValue, fc.constant(`Bearer ${refresh}`)), async (value) => {
      const got = await codeOf(unaryCall(a.listAccounts, a, { pageSize: 1, pageToken: '' }, authMd(value)));
      tally.add('AccountService bad credentials', got.code);
      expectCode('ListAccounts', got, [UNAUTHENTICATED], { value });
    }),
    Math.ceil(RUNS / 2),
  );
  tally.print('AccountService bad credentials');
  alive();
});

const methods: [string, () => Metadata][] = [
  ['/fhirmesh.routing.v1.TokenService/GetToken', () => bearerMetadata(refresh)],
  ['/fhirmesh.routing.v1.RefreshTokenService/RotateRefreshToken', () => bearerMetadata(rotateOnly)],
  ['/fhirmesh.routing.v1.AccountConfigurationService/GetAccountConfiguration', () => bearerMetadata(refresh)],
  ['/fhirmesh.routing.v1.AccountService/CreateAccount', () => adminMd],
  ['/fhirmesh.routing.v1.AccountService/UpdateAccount', () => adminMd],
  ['/fhirmesh.routing.v1.AccountService/GetAccount', () => adminMd],
  ['/fhirmesh.routing.v1.AccountService/ListAccounts', () => adminMd],
  ['/fhirmesh.routing.v1.AccountService/IssueRefreshToken', () => adminMd],
  ['/fhirmesh.routing.v1.AccountService/ListRefreshTokens', () => adminMd],
  ['/fhirmesh.routing.v1.AccountService/RevokeRefreshTokens', () => new Metadata()],
  ['/grpc.health.v1.Health/Check', () => new Metadata()],
];

test('random bytes as the raw message of every method: never INTERNAL or UNKNOWN', async () => {
  const bytes = fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 8 },
    { arbitrary: fc.constantFrom(new Uint8Array(0), new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), new Uint8Array([0x0a, 0x05, 0x61]), new Uint8Array([0xff]), new Uint8Array(1024 * 1024 + 10).fill(0x41)), weight: 1 },
  );
  await assertProperty(
    fc.asyncProperty(fc.constantFrom(...methods), bytes, async ([path, md], message) => {
      const got = await codeOf(raw.call(path, message, md()));
      tally.add('raw bytes', got.code);
      expectCode(path, got, [OK, INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, NOT_FOUND, ALREADY_EXISTS, ABORTED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION], { path, message });
    }),
    RUNS * 2,
  );
  tally.print('raw bytes');
  alive();
});

test('random bytes as the request of the health service\'s Watch stream: never INTERNAL or UNKNOWN', async () => {
  const bytes = fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 8 }, { arbitrary: fc.constantFrom(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), new Uint8Array([0xff])), weight: 1 });
  await assertProperty(
    fc.asyncProperty(bytes, async (message) => {
      const got = await codeOf(raw.firstOfStream('/grpc.health.v1.Health/Watch', message));
      tally.add('health Watch raw bytes', got.code);
      // A decodable request gets the named service's status (SERVICE_UNKNOWN for unknown names) as a first message.
      expectCode('Health/Watch', got, [OK, INVALID_ARGUMENT], { message });
    }),
    RUNS,
  );
  tally.print('health Watch raw bytes');
  alive();
});

test('after all of it, a good request is still served', async () => {
  const good = await unaryCall(tokens.getToken, tokens, { resourceUri: 'https://storage.azure.com' }, bearerMetadata(refresh));
  assert.ok(good.accessToken);
  alive();
});

test.run();
