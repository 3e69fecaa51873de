/**
 * Refresh-token lifecycle against the routing server running as its own
 * process on the Cosmos stand-in: one successor per token however many
 * rotations race, reuse of a rotated-out token revokes its family, one
 * registry read for a cold token presented by many calls at once, and a
 * flood of bad tokens from one address bounded by its read budget
 * (registry reads counted by the server's own metrics).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status, type ServiceError } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { RefreshTokenServiceClient, type RotateRefreshTokenResponse } from '../../gen/fhirmesh/routing/v1/refresh_token_service.ts';
import { RefreshTokenState } from '../../gen/fhirmesh/routing/v1/account.ts';
import type { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { getToken, retryAfterMs, tokenClient } from '../faults/support/routing-calls.ts';
import { parseScrape } from '../observability/support/prom-text.ts';
import { expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';

let setup: RoutingSetup;
let tokens: TokenServiceClient;
let rotations: RefreshTokenServiceClient;

const rotate = (refreshToken: string): Promise<RotateRefreshTokenResponse> => unaryCall(rotations.rotateRefreshToken, rotations, {}, bearerMetadata(refreshToken), 10_000);

/** The server's count of refresh-token document reads. */
async function registryReads(): Promise<number> {
  const res = await https(setup.metricsUrl!, { ca: setup.standIns.tls.caPem, headers: { accept: 'text/plain' } });
  return parseScrape(res.body).value('fhirmesh_routing_refresh_token_reads_total');
}

async function states(accountName: string): Promise<RefreshTokenState[]> {
  const res = await unaryCall(setup.accounts.listRefreshTokens, setup.accounts, { accountName }, bearerMetadata(await setup.adminToken()));
  return res.tokens.map((t) => t.state).sort();
}

test.before(loud('before', async () => {
  setup = await startRoutingSetup({ mode: 'child-process' });
  const credentials = tlsChannelCredentials(setup.standIns.tls.caPem);
  tokens = tokenClient(setup.address, setup.standIns.tls.caPem);
  rotations = new RefreshTokenServiceClient(setup.address, credentials);
}));

test.after(async () => {
  tokens?.close();
  rotations?.close();
  await setup?.stop();
});

test('twelve rotations of one token at once yield one successor; rotating it again returns that successor', async () => {
  const account = await setup.provisionAccount('lc-race');
  const answers = await Promise.all(Array.from({ length: 12 }, () => rotate(account.refreshToken)));
  assert.equal(new Set(answers.map((a) => a.refreshToken)).size, 1, 'one successor value');
  assert.equal(new Set(answers.map((a) => a.tokenId)).size, 1, 'one successor id');
  const again = await rotate(account.refreshToken);
  assert.is(again.tokenId, answers[0]!.tokenId, 'a later rotation inside the window returns the same successor');
  assert.equal(await states('lc-race'), [RefreshTokenState.REFRESH_TOKEN_STATE_ACTIVE, RefreshTokenState.REFRESH_TOKEN_STATE_ROTATED].sort());
  assert.ok((await getToken(tokens, again.refreshToken)).accessToken.length > 0, 'the successor works');
});

test('a token whose successor was already rotated revokes the family, inside its grace window', async () => {
  const account = await setup.provisionAccount('lc-reuse');
  const second = await rotate(account.refreshToken);
  const third = await rotate(second.refreshToken);
  // A thief replays the first token 0 s after its rotation: the chain has moved on twice.
  await expectStatus(rotate(account.refreshToken), status.UNAUTHENTICATED, /family is now revoked/);
  await expectStatus(getToken(tokens, third.refreshToken), status.UNAUTHENTICATED, /revoked/);
  assert.ok((await states('lc-reuse')).every((s) => s === RefreshTokenState.REFRESH_TOKEN_STATE_REVOKED));
});

test('one cold token presented by 1,000 calls at once is read from the registry once', async () => {
  const account = await setup.provisionAccount('lc-cold');
  const before = await registryReads();
  const answers = await Promise.all(Array.from({ length: 1_000 }, () => getToken(tokens, account.refreshToken)));
  assert.ok(answers.every((a) => a.accessToken.length > 0));
  const reads = (await registryReads()) - before;
  console.log(`  1,000 concurrent cold calls with one token: ${reads} registry read(s)`);
  assert.is(reads, 1);
});

test('1,000 calls with random tokens from one address: a bounded number of registry reads, then RESOURCE_EXHAUSTED with retry-after-ms', async () => {
  const account = await setup.provisionAccount('lc-flood');
  await getToken(tokens, account.refreshToken); // cached: the hot path must keep answering
  const before = await registryReads();
  const started = Date.now();
  const results = await Promise.allSettled(Array.from({ length: 1_000 }, () => getToken(tokens, `fmrt_${randomBytes(32).toString('base64url')}`)));
  const seconds = (Date.now() - started) / 1000;
  const reads = (await registryReads()) - before;
  const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as ServiceError).code : status.OK));
  const exhausted = results.filter((r) => r.status === 'rejected' && (r.reason as ServiceError).code === status.RESOURCE_EXHAUSTED);
  console.log(`  1,000 random tokens in ${seconds.toFixed(1)} s: ${reads} registry reads; ${exhausted.length} RESOURCE_EXHAUSTED`);
  assert.ok(codes.every((c) => c === status.UNAUTHENTICATED || c === status.RESOURCE_EXHAUSTED), 'every bad token refused');
  // The budget: a burst of 20, then 5 a second.
  assert.ok(reads <= 20 + Math.ceil(seconds * 5) + 1, `${reads} reads in ${seconds} s`);
  const wait = retryAfterMs((exhausted[0] as PromiseRejectedResult).reason as ServiceError);
  assert.ok(wait !== undefined && wait > 0 && wait <= 1_000, `retry-after-ms ${wait}`);
  assert.ok((await getToken(tokens, account.refreshToken)).accessToken.length > 0, 'a cached token is still served');
  await new Promise((r) => setTimeout(r, wait));
  await expectStatus(getToken(tokens, `fmrt_${randomBytes(32).toString('base64url')}`), status.UNAUTHENTICATED, /unknown/);
});

test.run();
