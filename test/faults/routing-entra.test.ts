/**
 * Entra ID answering 500, or 429 with Retry-After, for a while: the routing
 * server (its own process) makes exactly one token request per acquisition
 * attempt (no retries in @azure/identity, MSAL or the routing server), answers
 * UNAVAILABLE with `retry-after-ms` (at least what Entra ID asked for), sends
 * nothing to Entra ID while it backs off, keeps serving cached tokens, and
 * succeeds once Entra ID answers again. The fhir-server's token client is the
 * one layer that retries.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { startRoutingSetup, type ProvisionedAccount, type RoutingSetup } from '../../dev/routing-setup.ts';
import { startStandIns, type StandIns } from '../../dev/standins.ts';
import { startInstance } from '../fhir-routing/support/instance.ts';
import { claims } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { assertNoSecret, getToken, retryAfterMs, STORAGE, tokenClient, untilAnswered } from './support/routing-calls.ts';

let standIns: StandIns;
let setup: RoutingSetup;
let client: TokenServiceClient;
let warm: ProvisionedAccount;

const requestsOf = (account: ProvisionedAccount) => standIns.entra.stats().byAppId[account.clientId.toLowerCase()] ?? { total: 0, issued: 0, faulted: 0, failed: 0 };

test.before(loud('before', async () => {
  standIns = await startStandIns();
  setup = await startRoutingSetup({ standIns, mode: 'child-process' });
  client = tokenClient(setup.address, standIns.tls.caPem);
  // A cached token, and the routing server's own Key Vault token, before any fault.
  warm = await setup.provisionAccount('entra-warm');
  await getToken(client, warm.refreshToken);
}));

test.after(async () => {
  standIns?.entra.clearFault();
  client?.close();
  await setup?.stop();
  await standIns?.stop();
});

test('three 500s: four token requests for one cold acquisition, UNAVAILABLE with retry-after-ms, cached tokens still served', async () => {
  const account = await setup.provisionAccount('entra-500');
  standIns.entra.setFault({ status: 500, count: 3 });
  let cachedServed = 0;
  let parallelRefused = 0;
  const { value, failures } = await untilAnswered(async () => {
    try {
      return await getToken(client, account.refreshToken);
    } catch (e) {
      const err = e as ServiceError;
      if (err.code === status.UNAVAILABLE) {
        // Callers arriving during the back-off are refused at once, without a request to Entra ID.
        const before = requestsOf(account).total;
        const others = await Promise.allSettled([1, 2, 3].map(() => getToken(client, account.refreshToken)));
        parallelRefused += others.filter((r) => r.status === 'rejected' && (r.reason as ServiceError).code === status.UNAVAILABLE).length;
        assert.is(requestsOf(account).total, before, 'no token request while backing off');
        // The hot path needs no Entra ID.
        if (claims((await getToken(client, warm.refreshToken)).accessToken).appid === warm.clientId) cachedServed++;
      }
      throw e;
    }
  });
  assert.is(claims(value.accessToken).appid, account.clientId);
  assert.is(failures.length, 3, 'one failed call per fault');
  for (const f of failures) {
    assert.match(f.details, /Entra ID is unavailable \(HTTP 500/);
    assertNoSecret(f.details);
    assert.ok(f.retryAfterMs !== undefined && f.retryAfterMs > 0, `retry-after-ms ${f.retryAfterMs}`);
  }
  assert.equal(requestsOf(account), { total: 4, issued: 1, failed: 0, faulted: 3 }, 'N faults, N + 1 requests');
  assert.is(parallelRefused, 9, 'callers during the back-off got UNAVAILABLE');
  assert.is(cachedServed, 3, 'the cached token was served during the outage');
  console.log(`  500 x3: retry-after-ms ${failures.map((f) => f.retryAfterMs).join(', ')}; Entra requests ${requestsOf(account).total}`);
});

test('429 with Retry-After: the routing server asks callers to wait at least that long; N + 1 requests', async () => {
  const account = await setup.provisionAccount('entra-429');
  standIns.entra.setFault({ status: 429, count: 2, retryAfterSeconds: 3 });
  const { value, failures } = await untilAnswered(() => getToken(client, account.refreshToken));
  assert.is(claims(value.accessToken).appid, account.clientId);
  assert.is(failures.length, 2);
  for (const f of failures) {
    assert.match(f.details, /Entra ID is unavailable \(HTTP 429, AADSTS90055\)/);
    assert.ok((f.retryAfterMs ?? 0) >= 3_000, `Retry-After 3 s honoured: retry-after-ms ${f.retryAfterMs}`);
  }
  assert.equal(requestsOf(account), { total: 3, issued: 1, failed: 0, faulted: 2 });
  console.log(`  429 x2 (Retry-After 3): retry-after-ms ${failures.map((f) => f.retryAfterMs).join(', ')}; Entra requests ${requestsOf(account).total}`);
});

test('through the fhir-server token client: it alone retries, honouring retry-after-ms, and gets the token', async () => {
  const account = await setup.provisionAccount('entra-client');
  const fhir = await startInstance(setup, { databaseId: 'fhir-entra-client', bootstrapRefreshToken: account.refreshToken });
  try {
    standIns.entra.setFault({ status: 429, count: 2, retryAfterSeconds: 2 });
    const token = await fhir.tokens.getToken(STORAGE);
    assert.is(claims(token.token).appid, account.clientId);
    assert.is(fhir.retries.length, 2, 'one client retry per fault');
    for (const r of fhir.retries) {
      assert.is(r.code, 'UNAVAILABLE');
      assert.ok((r.retryAfterMs ?? 0) >= 2_000 && r.delayMs >= r.retryAfterMs!, `waited ${r.delayMs} ms for retry-after-ms ${r.retryAfterMs}`);
    }
    assert.is(requestsOf(account).total, 3, 'Entra ID saw N + 1 requests');
    console.log(`  client: retries ${fhir.retries.map((r) => `${r.delayMs}ms`).join(', ')}; Entra requests ${requestsOf(account).total}`);
  } finally {
    await fhir.close();
  }
});

test("the routing server's own Key Vault token under 500s: UNAVAILABLE naming Entra ID, then recovered", async () => {
  const account = await setup.provisionAccount('entra-kv');
  // A second routing server process over the same registry: no Key Vault token yet.
  const fresh = await startRoutingSetup({ standIns, mode: 'child-process' });
  const freshClient = tokenClient(fresh.address, standIns.tls.caPem);
  try {
    standIns.entra.resetStats();
    standIns.entra.setFault({ status: 500, count: 2 });
    const { value, failures } = await untilAnswered(() => getToken(freshClient, account.refreshToken));
    assert.is(claims(value.accessToken).appid, account.clientId);
    assert.is(failures.length, 2);
    for (const f of failures) assert.match(f.details, /Entra ID/);
    assert.is(standIns.entra.stats().tokenRequests.total, 4, 'two faulted, one Key Vault token, one identity token');
  } finally {
    freshClient.close();
    await fresh.stop();
  }
});

test.run();
