/**
 * The routing server (its own process) killed for 30 s in the middle of
 * exports, then started again on the same port. Storage tokens live 25 s here,
 * so the fhir-server's current token runs out during the outage: an export
 * started right after the kill writes with the token it holds while it lasts;
 * one started after that token expired waits, its token request retrying with
 * backoff (within FHIR_ROUTING_TOKEN_WAIT_SECONDS, default 120 s), and
 * completes once the routing server is back. No job fails.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status, type ServiceError } from '@grpc/grpc-js';
import { createCosmosClient } from '../../common/cosmos.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { spawnRoutingServer, type RoutingProcess } from '../../dev/routing-process.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { getToken, sleep, tokenClient } from './support/routing-calls.ts';

const OUTAGE_MS = 30_000;
const TOKEN_SECONDS = 25;
let mesh: MeshSetup;
let restarted: RoutingProcess | undefined;
let ca: string;
let patients = 0;

interface Manifest {
  output: { type: string; count: number }[];
  error: unknown[];
}

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'outage', mode: 'child-process', tokenLifetimeSeconds: TOKEN_SECONDS });
  ca = mesh.routing.standIns.tls.caPem;
  const cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: ca });
  const store = await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! });
  await seedSynthetic(store, { patients: 15, seed: 'routing-outage' });
  patients = (await store.count({ resourceType: 'Patient' })) as number;
  cosmos.dispose();
}));

test.after(async () => {
  await mesh?.fhir.stop().catch(() => undefined);
  await restarted?.stop();
  await mesh?.routing.stop();
});

async function kickOff(): Promise<string> {
  const token = await mesh.bearer(['Fhir.Export', 'Fhir.Read']);
  const res = await https(`${mesh.fhir.baseUrl}/$export?_type=Patient,Observation`, { ca, token, headers: { prefer: 'respond-async' } });
  assert.is(res.status, 202, res.body);
  return String(res.headers['content-location']);
}

async function completion(statusUrl: string, withinMs: number): Promise<Manifest> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    const res = await https(statusUrl, { ca, token: await mesh.bearer(['Fhir.Export', 'Fhir.Read']) });
    if (res.status === 200) return JSON.parse(res.body) as Manifest;
    assert.is(res.status, 202, `the job failed: ${res.status} ${res.body.slice(0, 300)}`);
    await sleep(500);
  }
  throw new Error('export did not complete in time');
}

const exported = (m: Manifest, type: string) => m.output.filter((o) => o.type === type).reduce((n, o) => n + o.count, 0);

test('a 30 s routing server outage during exports: the held token is used while it lasts, then token requests wait and the exports complete', async () => {
  const { entra } = mesh.routing.standIns;
  const identityIssued = () => entra.stats().byAppId[mesh.account.clientId.toLowerCase()]?.issued ?? 0;
  const first = await completion(await kickOff(), 30_000);
  assert.is(exported(first, 'Patient'), patients, 'before the outage');

  const port = mesh.routing.address.split(':').pop()!;
  const retriesBefore = mesh.fhir.tokenClient.caller.stats.retries;
  const issuedBefore = identityIssued();
  mesh.routing.routingProcess!.child.kill('SIGKILL');
  const killedAt = Date.now();
  const probe = tokenClient(mesh.routing.address, ca);
  try {
    await getToken(probe, mesh.account.refreshToken);
    assert.unreachable('the routing server is down');
  } catch (e) {
    assert.is((e as ServiceError).code, status.UNAVAILABLE);
  } finally {
    probe.close();
  }

  // Right after the kill: the token the fhir-server holds is still good.
  const during = completion(await kickOff(), 120_000).then((m) => ({ m, atMs: Date.now() - killedAt }));
  during.catch(() => undefined);
  // After the held token's expiry (it was issued before the kill, for 25 s): a new one is needed.
  await sleep(TOKEN_SECONDS * 1000 + 1_000 - (Date.now() - killedAt));
  const late = completion(await kickOff(), 120_000).then((m) => ({ m, atMs: Date.now() - killedAt }));
  late.catch(() => undefined);

  await sleep(OUTAGE_MS - (Date.now() - killedAt));
  restarted = await spawnRoutingServer({ ...mesh.routing.env, ROUTING_PORT: port });
  const restartedAt = Date.now() - killedAt;

  const a = await during;
  const b = await late;
  for (const { m } of [a, b]) {
    assert.equal(m.error, [], 'no errors in the manifest');
    assert.is(exported(m, 'Patient'), patients, 'every Patient exported');
    assert.is(exported(m, 'Observation'), exported(first, 'Observation'), 'every Observation exported');
  }
  const retries = mesh.fhir.tokenClient.caller.stats.retries - retriesBefore;
  assert.ok(retries > 0, 'token requests were retried during the outage');
  assert.ok(b.atMs >= restartedAt, 'the late export finished only after the routing server was back');
  assert.ok(identityIssued() > issuedBefore, 'a new storage token was issued after the restart');
  console.log(
    `  outage ${restartedAt} ms; export started at the kill done at +${a.atMs} ms; export started after the token expired done at +${b.atMs} ms; token call retries ${retries}`,
  );
});

test.run();
