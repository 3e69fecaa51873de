/**
 * A fhir-server starting while its routing server is unreachable (a proxy in
 * front of the routing server process refuses connections). Chosen behaviour:
 * it waits up to FHIR_ROUTING_STARTUP_WAIT_SECONDS for the account's export
 * overrides; if the routing server comes back within that wait, it starts with
 * them; if not, it starts with its own export settings and keeps re-reading in
 * the background until the overrides arrive.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startFaultProxy, type FaultProxy } from '../../dev/fault-proxy.ts';
import { startRoutingSetup, type ProvisionedAccount, type RoutingSetup } from '../../dev/routing-setup.ts';
import type { RunningFhirServer } from '../../fhir-server/app.ts';
import { eventually } from '../fhir-routing/support/instance.ts';
import { loud } from '../support/hooks.ts';
import { startFhirFor } from './support/routing-mesh.ts';
import { sleep } from './support/routing-calls.ts';

let setup: RoutingSetup;
let proxy: FaultProxy;
const servers: RunningFhirServer[] = [];
const OVERRIDES = { numberOfPagesPerCommit: 7 };

test.before(loud('before', async () => {
  setup = await startRoutingSetup({ mode: 'child-process' });
  proxy = await startFaultProxy({ targetPort: Number(setup.address.split(':').pop()) });
}));

test.after(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  await proxy?.stop();
  await setup?.stop();
});

async function account(name: string): Promise<ProvisionedAccount> {
  return setup.provisionAccount(name, { exportJobConfiguration: OVERRIDES });
}

test('routing unreachable for the whole start-up wait: starts with its own settings, then applies the overrides once it answers', async () => {
  const acct = await account('start-late');
  await proxy.cut('refuse');
  const started = Date.now();
  const fhir = await startFhirFor(setup, acct, proxy.address, { FHIR_ROUTING_STARTUP_WAIT_SECONDS: '3', FHIR_ROUTING_HEALTH_CHECK_SECONDS: '1' });
  servers.push(fhir);
  const startMs = Date.now() - started;
  const snapshot = fhir.configuration.current();
  assert.is(snapshot.exportSources.numberOfPagesPerCommit, 'default', 'started with its own value');
  assert.is.not(snapshot.export.numberOfPagesPerCommit, OVERRIDES.numberOfPagesPerCommit);
  const health = await fhir.app.inject({ method: 'GET', url: '/health' });
  assert.is(health.statusCode, 200, 'serving FHIR while the routing server is away');
  const healthBody = async () => JSON.parse((await fhir.app.inject({ method: 'GET', url: '/health' })).body) as { status: string; reasons?: { problem: string; action: string }[] };
  assert.ok(await eventually(async () => (await healthBody()).reasons?.[0]?.problem === 'routing-unreachable', 10_000), `degraded, naming the routing server: ${JSON.stringify(await healthBody())}`);
  assert.is((await healthBody()).status, 'degraded');
  await sleep(2_000);
  await proxy.restore();
  const restored = Date.now();
  assert.ok(await eventually(async () => (await healthBody()).status === 'ok', 20_000), 'ok again once the routing server answers');
  const applied = await eventually(() => fhir.configuration.current().exportSources.numberOfPagesPerCommit === 'account', 45_000);
  assert.ok(applied, 'the overrides arrived without a restart');
  assert.is(fhir.configuration.current().export.numberOfPagesPerCommit, OVERRIDES.numberOfPagesPerCommit);
  console.log(`  started in ${startMs} ms with defaults; overrides applied ${Date.now() - restored} ms after the routing server came back`);
});

test('routing back within the start-up wait: starts with the overrides', async () => {
  const acct = await account('start-wait');
  await proxy.cut('refuse');
  const started = Date.now();
  const pending = startFhirFor(setup, acct, proxy.address, { FHIR_ROUTING_STARTUP_WAIT_SECONDS: '30' });
  pending.then((s) => servers.push(s), () => undefined);
  await sleep(2_000);
  await proxy.restore();
  const fhir = await pending;
  assert.is(fhir.configuration.current().exportSources.numberOfPagesPerCommit, 'account', 'waited for the overrides');
  assert.is(fhir.configuration.current().export.numberOfPagesPerCommit, OVERRIDES.numberOfPagesPerCommit);
  console.log(`  started in ${Date.now() - started} ms (routing away for the first 2 s)`);
});

test.run();
