/**
 * UNAVAILABLE is retried with backoff (honouring `retry-after-ms`) until the
 * dependency is back: Entra ID down behind the routing server, and the routing
 * server itself gone and restarted on the same port. Retries end at the overall deadline.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { createServer } from 'node:net';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { startRoutingServer, type RunningRoutingServer } from '../../routing-server/app.ts';
import { loadRoutingConfig } from '../../routing-server/config.ts';
import { createLogger } from '../../common/logging.ts';
import { RoutingTokenError } from '../../fhir-server/routing/routing-token-error.ts';
import { claims } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { GET_TOKEN, eventually, startInstance, type FhirInstance } from './support/instance.ts';

const STORAGE = 'https://storage.azure.com';
let setup: RoutingSetup;
const instances: FhirInstance[] = [];
const servers: RunningRoutingServer[] = [];

async function routingServerOn(port: number): Promise<RunningRoutingServer> {
  const config = loadRoutingConfig(undefined, { ...setup.env, ROUTING_PORT: String(port), ROUTING_SHUTDOWN_GRACE_SECONDS: '0' });
  const server = await startRoutingServer(config, createLogger('routing-server', 'silent'));
  servers.push(server);
  return server;
}

test.before(loud('before', async () => {
  setup = await startRoutingSetup();
}));

test.after(async () => {
  for (const instance of instances) await instance.close();
  for (const server of servers) await server.stop().catch(() => undefined);
  await setup?.stop();
});

test('UNAVAILABLE while Entra ID is down is retried after the server\'s retry-after-ms, and succeeds once it is back', async () => {
  // The routing server's own Key Vault token must already be cached: the fault hits every Entra ID request.
  const warm = await setup.provisionAccount('rt-warm');
  const warmInstance = await startInstance(setup, { databaseId: 'fhir-rt-warm', bootstrapRefreshToken: warm.refreshToken });
  instances.push(warmInstance);
  await warmInstance.tokens.getToken(STORAGE);
  const account = await setup.provisionAccount('rt-entra-down');
  const fhir = await startInstance(setup, { databaseId: 'fhir-rt-entra', bootstrapRefreshToken: account.refreshToken, retry: { overallTimeoutMs: 45_000 } });
  instances.push(fhir);
  const { entra } = setup.standIns;
  entra.resetStats();
  entra.setFault({ status: 503 });
  let pending: Promise<unknown> | undefined;
  try {
    pending = fhir.tokens.getToken(STORAGE, { correlationId: 'retry-test' });
    pending.catch(() => undefined);
    const retried = await eventually(() => fhir.retries.length >= 1, 30_000);
    assert.ok(retried, 'the client retried while Entra ID was failing');
  } finally {
    entra.clearFault();
  }
  const got = (await pending) as { token: string };
  assert.is(claims(got.token).appid, account.clientId, 'recovered without a restart');
  assert.ok((entra.stats().byAppId[account.clientId.toLowerCase()]?.faulted ?? 0) >= 1, 'Entra ID really failed');
  for (const event of fhir.retries) {
    assert.is(event.code, 'UNAVAILABLE');
    assert.ok(event.retryAfterMs !== undefined, 'the routing server said how long to wait');
    assert.ok(event.delayMs >= event.retryAfterMs!, `waited ${event.delayMs} ms, asked ${event.retryAfterMs} ms`);
  }
  assert.is(fhir.calls.get(GET_TOKEN), fhir.retries.length + 1, 'one call per attempt');
});

test('the routing server going away and coming back on the same port: retried until it answers', async () => {
  const account = await setup.provisionAccount('rt-restart');
  const first = await routingServerOn(0);
  const port = first.port;
  const fhir = await startInstance(setup, {
    databaseId: 'fhir-rt-restart',
    bootstrapRefreshToken: account.refreshToken,
    address: first.address,
    retry: { overallTimeoutMs: 45_000, initialDelayMs: 100, maxDelayMs: 1_000 },
  });
  instances.push(fhir);
  assert.ok((await fhir.accountConfiguration.get()).accountName, 'works before the outage');
  await first.stop();
  const pending = fhir.tokens.getToken(STORAGE);
  pending.catch(() => undefined);
  assert.ok(await eventually(() => fhir.retries.length >= 2, 20_000), 'retried while the server was down');
  await routingServerOn(port);
  const got = await pending;
  assert.is(claims(got.token).appid, account.clientId);
  assert.ok(fhir.retries.every((e) => e.code === 'UNAVAILABLE'), fhir.retries.map((e) => e.code).join());
  // Backoff grows (with jitter) rather than hammering: later waits are not all at the first step.
  const delays = fhir.retries.map((e) => e.delayMs);
  assert.ok(Math.max(...delays) > 100, `delays ${delays.join(', ')}`);
});

test('retries stop at the overall deadline with a typed UNAVAILABLE error', async () => {
  const account = await setup.provisionAccount('rt-deadline');
  const gone = await routingServerOn(0);
  await gone.stop();
  const fhir = await startInstance(setup, {
    databaseId: 'fhir-rt-deadline',
    bootstrapRefreshToken: account.refreshToken,
    address: gone.address,
    retry: { overallTimeoutMs: 1_500, initialDelayMs: 100 },
  });
  instances.push(fhir);
  let err: unknown;
  try {
    await fhir.tokens.getToken(STORAGE);
  } catch (e) {
    err = e;
  }
  assert.instance(err, RoutingTokenError);
  const e = err as RoutingTokenError;
  assert.is(e.code, status.UNAVAILABLE);
  assert.ok(e.attempts > 1, `attempts ${e.attempts}`);
  assert.is(e.attempts, fhir.retries.length + 1);
  assert.not.match(e.message, /fmrt_/);
});

test('a call that starts just after the routing server came back gets through within a short retry budget (the reconnect backoff fits in it)', async () => {
  const account = await setup.provisionAccount('rt-back');
  const first = await routingServerOn(0);
  const port = first.port;
  const budgetMs = 3_000;
  const fhir = await startInstance(setup, { databaseId: 'fhir-rt-back', bootstrapRefreshToken: account.refreshToken, address: first.address, retry: { overallTimeoutMs: budgetMs, initialDelayMs: 100 } });
  instances.push(fhir);
  assert.ok((await fhir.accountConfiguration.get()).accountName, 'works before the outage (no token cached)');
  await first.stop();
  // A long outage with calls going on: the channel's reconnect backoff grows to its cap. The port
  // is held by a listener that drops every connection, so each reconnect attempt is seen.
  let attempts = 0;
  let onAttempt = () => {};
  const dropper = createServer((socket) => {
    attempts++;
    socket.destroy();
    onAttempt();
  });
  await new Promise<void>((resolve) => dropper.listen(port, '127.0.0.1', resolve));
  const outageEnds = Date.now() + 10_000;
  while (Date.now() < outageEnds) await fhir.tokens.getToken('https://vault.azure.net').catch(() => undefined);
  // The server comes back the moment a reconnect attempt has failed: the next attempt is a whole backoff away.
  fhir.connection.channel.getConnectivityState(true);
  await new Promise<void>((resolve) => (onAttempt = resolve));
  await new Promise<void>((resolve) => dropper.close(() => resolve()));
  assert.ok(attempts > 3, `reconnect attempts during the outage: ${attempts}`);
  await routingServerOn(port);
  const started = Date.now();
  const got = await fhir.tokens.getToken(STORAGE);
  assert.is(claims(got.token).appid, account.clientId, `token within the ${budgetMs} ms budget (took ${Date.now() - started} ms)`);
});

test.run();
