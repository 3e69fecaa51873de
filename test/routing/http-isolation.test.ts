/**
 * The routing server's gRPC thread carries no HTTP/1.1 traffic: its requests
 * to Cosmos DB, Key Vault, Entra ID and the admin JWKS, and the metrics
 * scrapes it answers, all run in worker threads. Such traffic in the gRPC
 * thread costs every later call (common/http/isolated-http-client.ts), so a
 * new in-thread client or listener is a regression this test catches.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { startStandIns, type StandIns } from '../../dev/standins.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { getToken, tokenClient } from '../faults/support/routing-calls.ts';

const probe = fileURLToPath(new URL('../support/http-probe.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'http-probe-'));
let standIns: StandIns;
let setup: RoutingSetup | undefined;

const counts = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { client: number; server: number };

test.before(loud('before', async () => {
  standIns = await startStandIns();
}));

test.after(async () => {
  await setup?.stop();
  await standIns?.stop();
});

test('the probe counts HTTP requests a main thread makes', async () => {
  const file = join(dir, 'self-check.json');
  const script = `import('node:https').then(({ get }) => get(${JSON.stringify(`${standIns.keyVault.url}/healthz`)}, { ca: process.env.CA }, (res) => res.resume()).on('error', () => {}))`;
  await promisify(execFile)(process.execPath, ['--import', probe, '-e', script], { env: { ...process.env, HTTP_PROBE_FILE: file, CA: standIns.tls.caPem } });
  assert.equal(counts(file), { client: 1, server: 0 });
});

test('provisioning, a cold GetToken and metrics scrapes: all outbound and metrics HTTP runs outside the gRPC thread', async () => {
  const file = join(dir, 'routing.json');
  process.env.ROUTING_NODE_ARGS = `--import ${probe}`;
  process.env.HTTP_PROBE_FILE = file;
  try {
    setup = await startRoutingSetup({ standIns, mode: 'child-process' });
  } finally {
    delete process.env.ROUTING_NODE_ARGS;
    delete process.env.HTTP_PROBE_FILE;
  }
  const jwksBefore = standIns.entra.stats().jwksRequests;
  // An admin call (the routing server fetches the admin JWKS), then a cold token (Cosmos DB, Key Vault, Entra ID).
  const account = await setup.provisionAccount('isolated-http');
  const client = tokenClient(setup.address, standIns.tls.caPem);
  const token = await getToken(client, account.refreshToken);
  client.close();
  assert.ok(token.accessToken.length > 0);
  // The traffic did happen: the identity's token came from Entra ID, and the admin JWKS was fetched.
  assert.is(standIns.entra.stats().byAppId[account.clientId.toLowerCase()]?.issued, 1);
  assert.ok(standIns.entra.stats().jwksRequests > jwksBefore, 'the admin JWKS was fetched');
  assert.is((await https(setup.metricsUrl!, { ca: standIns.tls.caPem })).status, 200);
  assert.is((await https(setup.metricsUrl!, { ca: standIns.tls.caPem })).status, 200);
  await setup.stop();
  setup = undefined;
  assert.equal(counts(file), { client: 0, server: 0 });
});

test.run();
