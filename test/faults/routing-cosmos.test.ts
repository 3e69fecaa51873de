/**
 * Cosmos DB (the registry) out of reach of the routing server process, through
 * a proxy that refuses connections: at start the server starts anyway with
 * health NOT_SERVING and answers UNAVAILABLE naming Cosmos DB, then becomes
 * SERVING once Cosmos DB is back, without a restart. Mid-run, tokens already
 * cached keep being served past the account and refresh-token cache times
 * (last-known documents), uncached callers get UNAVAILABLE with retry-after-ms,
 * and everything recovers once the proxy forwards again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import type { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { tlsChannelCredentials } from '../../common/grpc/client.ts';
import { startFaultProxy, type FaultProxy } from '../../dev/fault-proxy.ts';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { startStandIns, type StandIns } from '../../dev/standins.ts';
import { claims, expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { checkHealth } from './support/routing-health.ts';
import { assertNoSecret, getToken, retryAfterMs, sleep, tokenClient, untilAnswered } from './support/routing-calls.ts';

let standIns: StandIns;
let cosmosProxy: FaultProxy;
let setup: RoutingSetup;
let client: TokenServiceClient;

test.before(loud('before', async () => {
  standIns = await startStandIns();
  cosmosProxy = await startFaultProxy({ targetPort: Number(new URL(standIns.cosmos.endpoint).port), startCut: 'refuse' });
  // Short cache times, so the mid-run outage outlasts them.
  setup = await startRoutingSetup({
    standIns,
    mode: 'child-process',
    env: { ROUTING_COSMOS_ENDPOINT: cosmosProxy.url('/'), ROUTING_CACHE_ACCOUNT_SECONDS: '1', ROUTING_CACHE_REFRESH_TOKEN_SECONDS: '1' },
  });
  client = tokenClient(setup.address, standIns.tls.caPem);
}));

test.after(async () => {
  client?.close();
  await setup?.stop();
  await cosmosProxy?.stop();
  await standIns?.stop();
});

test('started while Cosmos DB is unreachable: NOT_SERVING, UNAVAILABLE naming Cosmos DB, then SERVING once it is back', async () => {
  const credentials = tlsChannelCredentials(standIns.tls.caPem);
  assert.is(await checkHealth(setup.address, credentials), 'NOT_SERVING');
  assert.is(await checkHealth(setup.address, credentials, 'fhirmesh.routing.v1.TokenService'), 'NOT_SERVING');
  const err = await expectStatus(getToken(client, `fmrt_${'x'.repeat(43)}`), status.UNAVAILABLE, /registry database \(Cosmos DB\)/);
  assert.ok((retryAfterMs(err) ?? 0) > 0, 'retry-after-ms given');
  assertNoSecret(err.details);
  console.log(`  at start: ${err.details} [retry-after-ms ${retryAfterMs(err)}]`);
  // Callers retrying after each retry-after-ms: the registry gate's back-off grows (1, 2, 4 s) past the time
  // Cosmos DB takes to be seen again. Once health says SERVING, no call may still be refused by that back-off.
  let backoffMs = retryAfterMs(err) ?? 0;
  for (let i = 0; i < 2; i++) {
    await sleep(backoffMs + 100);
    backoffMs = retryAfterMs(await expectStatus(getToken(client, `fmrt_${'x'.repeat(43)}`), status.UNAVAILABLE, /registry database \(Cosmos DB\)/)) ?? 0;
  }
  assert.ok(backoffMs >= 3_000, `the gate is shut for ${backoffMs} ms`);
  const healthUrl = setup.metricsUrl!.replace(/\/metrics$/, '/health');
  const starting = await https(healthUrl, { ca: standIns.tls.caPem });
  assert.is(starting.status, 503, 'not able to serve at all: a load balancer takes it out');
  assert.is(JSON.parse(starting.body).status, 'starting', starting.body);

  await cosmosProxy.restore();
  const started = Date.now();
  let health = 'NOT_SERVING';
  while (health !== 'SERVING' && Date.now() - started < 45_000) {
    await sleep(250);
    health = await checkHealth(setup.address, credentials);
  }
  assert.is(health, 'SERVING', 'ready without a restart');
  console.log(`  SERVING ${Date.now() - started} ms after Cosmos DB came back`);
  const ready = await https(healthUrl, { ca: standIns.tls.caPem });
  assert.is(ready.status, 200, ready.body);
  const account = await setup.provisionAccount('cosmos-late');
  assert.is(claims((await getToken(client, account.refreshToken)).accessToken).appid, account.clientId);
});

test('mid-run outage: cached tokens keep being served past the cache times; others get UNAVAILABLE; recovers', async () => {
  const cached = await setup.provisionAccount('cosmos-cached');
  const cold = await setup.provisionAccount('cosmos-cold');
  const before = (await getToken(client, cached.refreshToken)).accessToken;
  await cosmosProxy.cut('refuse');
  try {
    // Past the refresh-token (1 s) and account (1 s, served up to 10 s) cache times.
    await sleep(11_000);
    for (let i = 0; i < 5; i++) assert.is((await getToken(client, cached.refreshToken)).accessToken, before, 'cached token served');
    const err = await expectStatus(getToken(client, cold.refreshToken), status.UNAVAILABLE, /registry database \(Cosmos DB\) is unavailable/);
    assert.ok((retryAfterMs(err) ?? 0) > 0, 'retry-after-ms given');
    assertNoSecret(err.details);
    console.log(`  mid-run: ${err.details} [retry-after-ms ${retryAfterMs(err)}]`);
    assert.is(await checkHealth(setup.address, tlsChannelCredentials(standIns.tls.caPem)), 'SERVING', 'cached tokens are still served, so the instance stays in rotation');
  } finally {
    await cosmosProxy.restore();
  }
  const { value, failures } = await untilAnswered(() => getToken(client, cold.refreshToken));
  assert.is(claims(value.accessToken).appid, cold.clientId, 'recovered without a restart');
  console.log(`  recovered after ${failures.length} more UNAVAILABLE answers; proxy ${JSON.stringify(cosmosProxy.stats())}`);
});

test.run();
