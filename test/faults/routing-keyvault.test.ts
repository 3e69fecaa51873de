/**
 * Key Vault out of reach of the routing server process: at start (a proxy that
 * refuses connections) and mid-run (the stand-in answering 503 with
 * Retry-After). The server starts and stays SERVING (Key Vault is read only
 * when an identity's credential is needed); calls that need Key Vault get
 * UNAVAILABLE naming it (never a secret) with retry-after-ms; tokens already
 * cached keep being served; it recovers without a restart.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import type { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { tlsChannelCredentials } from '../../common/grpc/client.ts';
import { proxyFor, type FaultProxy } from '../../dev/fault-proxy.ts';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { startStandIns, type StandIns } from '../../dev/standins.ts';
import { claims, expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { checkHealth } from './support/routing-health.ts';
import { assertNoSecret, getToken, retryAfterMs, tokenClient, untilAnswered } from './support/routing-calls.ts';

let standIns: StandIns;
let vaultProxy: FaultProxy;
let setup: RoutingSetup;
let client: TokenServiceClient;

test.before(loud('before', async () => {
  standIns = await startStandIns();
  vaultProxy = await proxyFor(standIns.keyVault.url, { startCut: 'refuse' });
  setup = await startRoutingSetup({ standIns, mode: 'child-process', env: { ROUTING_KEYVAULT_URL: vaultProxy.url() } });
  client = tokenClient(setup.address, standIns.tls.caPem);
}));

test.after(async () => {
  standIns?.keyVault.clearFault();
  client?.close();
  await setup?.stop();
  await vaultProxy?.stop();
  await standIns?.stop();
});

test('started while Key Vault is unreachable: SERVING, UNAVAILABLE naming Key Vault, then tokens once it is back', async () => {
  assert.is(await checkHealth(setup.address, tlsChannelCredentials(standIns.tls.caPem)), 'SERVING');
  const account = await setup.provisionAccount('kv-late');
  const err = await expectStatus(getToken(client, account.refreshToken), status.UNAVAILABLE, /Key Vault is unavailable \(ECONNREFUSED\)/);
  assert.ok((retryAfterMs(err) ?? 0) > 0, 'retry-after-ms given');
  assertNoSecret(err.details);
  console.log(`  at start: ${err.details} [retry-after-ms ${retryAfterMs(err)}]`);
  const healthUrl = setup.metricsUrl!.replace(/\/metrics$/, '/health');
  const degraded = await https(healthUrl, { ca: standIns.tls.caPem });
  assert.is(degraded.status, 200, 'degraded is still 200: cached tokens are served, another instance would fare no better');
  const body = JSON.parse(degraded.body) as { status: string; reasons: string[]; dependencies: { name: string; state: string }[] };
  assert.is(body.status, 'degraded', degraded.body);
  assert.match(body.reasons.join(' '), /Key Vault is failing \(ECONNREFUSED\)/);
  await vaultProxy.restore();
  const { value, failures } = await untilAnswered(() => getToken(client, account.refreshToken));
  assert.is(claims(value.accessToken).appid, account.clientId, 'recovered without a restart');
  const recovered = JSON.parse((await https(healthUrl, { ca: standIns.tls.caPem })).body) as typeof body;
  assert.is(recovered.status, 'ok', JSON.stringify(recovered));
  assert.is(recovered.dependencies.find((d) => d.name === 'Key Vault')?.state, 'up');
  console.log(`  recovered after ${failures.length} more UNAVAILABLE answers`);
});

test('mid-run 503 with Retry-After: cached tokens served, others told to wait at least that long, one read per attempt', async () => {
  const cached = await setup.provisionAccount('kv-cached');
  const cold = await setup.provisionAccount('kv-cold');
  const before = (await getToken(client, cached.refreshToken)).accessToken;
  standIns.keyVault.resetStats();
  standIns.keyVault.setFault({ status: 503, retryAfterSeconds: 2 });
  const failures: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const err = await expectStatus(getToken(client, cold.refreshToken), status.UNAVAILABLE, /Key Vault is unavailable \(HTTP 503\)/);
      assertNoSecret(err.details);
      assert.ok((retryAfterMs(err) ?? 0) >= 1_000, `retry-after-ms ${retryAfterMs(err)}`);
      failures.push(`${retryAfterMs(err)}`);
      for (let j = 0; j < 3; j++) assert.is((await getToken(client, cached.refreshToken)).accessToken, before, 'cached token served');
    }
    assert.is(standIns.keyVault.stats().faulted, 1, 'one Key Vault read; the others were refused during the back-off');
  } finally {
    standIns.keyVault.clearFault();
  }
  const first = Number(failures[0]);
  assert.ok(first >= 2_000, `Key Vault's Retry-After (2 s) honoured: ${first} ms`);
  const { value } = await untilAnswered(() => getToken(client, cold.refreshToken));
  assert.is(claims(value.accessToken).appid, cold.clientId, 'recovered without a restart');
  console.log(`  mid-run: retry-after-ms ${failures.join(', ')}; Key Vault ${JSON.stringify({ faulted: standIns.keyVault.stats().faulted, requests: standIns.keyVault.stats().requests })}`);
});

test.run();
