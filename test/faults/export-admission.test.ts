/**
 * Admission is atomic across instances: limit + 3 kick-offs fired at once at two
 * fhir-server instances sharing one job store get exactly `limit` 202s and 429s
 * with Retry-After for the rest; the admitted jobs run together and each
 * exports every resource exactly once; once they ended a new kick-off is taken.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCosmosClient } from '../../common/cosmos.ts';
import { createLogger } from '../../common/logging.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { startFhirServer, type RunningFhirServer } from '../../fhir-server/app.ts';
import { loadFhirServerConfig } from '../../fhir-server/config/load.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import type { ResourceStore } from '../../fhir-server/store/resource-store.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { checkExactlyOnce, kickoff, pollToEnd, storeJson, type Manifest } from './support/export-checks.ts';

const limit = 3;
let mesh: MeshSetup;
let second: RunningFhirServer;
let store: ResourceStore;
let ca: string;
let dispose: () => void;

test.before(loud('before', async () => {
  // One client fires every kick-off: its own limit is lifted to the account's, which is what is tested here.
  const limits = { FHIR_EXPORT_MAXIMUM_NUMBER_OF_CONCURRENT_JOBS_ALLOWED: String(limit), FHIR_EXPORT_MAXIMUM_NUMBER_OF_CONCURRENT_JOBS_PER_CLIENT: String(limit) };
  mesh = await startMeshSetup({ accountName: 'admission', fhirEnv: { ...limits, FHIR_SMART_ENABLED: 'false' } });
  ca = mesh.routing.standIns.tls.caPem;
  const loaded = loadFhirServerConfig(undefined, mesh.fhirEnv);
  second = await startFhirServer(loaded, createLogger('fhir-server-2', 'warn'));
  const cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: ca });
  dispose = () => cosmos.dispose();
  store = await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! });
  await seedSynthetic(store, { patients: 15, seed: 'admission' });
}));
test.after(async () => {
  dispose?.();
  await second?.stop();
  await mesh?.stop();
});

test(`${limit + 3} simultaneous kick-offs on two instances: exactly ${limit} accepted, the rest 429 + Retry-After; all admitted finish exactly once`, async () => {
  const token = await mesh.bearer(['Fhir.Export', 'Fhir.Read']);
  const bases = [mesh.fhir.baseUrl, second.baseUrl];
  // Warm both instances (token keys, connections) so the kick-offs below really arrive together.
  for (const base of bases) assert.is((await https(`${base}/_export/none`, { ca, token })).status, 404);
  const answers = await Promise.all(Array.from({ length: limit + 3 }, (_, i) => kickoff(bases[i % 2]!, '/$export?_type=Patient,Condition', ca, token)));
  const accepted = answers.filter((a) => a.status === 202);
  const refused = answers.filter((a) => a.status === 429);
  assert.is(accepted.length, limit, answers.map((a) => `${a.status} ${a.body.slice(0, 120)}`).join(' | '));
  assert.is(refused.length, 3);
  for (const answer of refused) {
    assert.ok(Number(answer.headers['retry-after']) > 0, 'Retry-After on 429');
    assert.match(answer.body, /OperationOutcome/);
    assert.match(answer.body, /throttled/);
  }
  const expected = { Patient: await storeJson(store, 'Patient'), Condition: await storeJson(store, 'Condition') };
  const statuses = accepted.map((a) => String(a.headers['content-location']));
  const ends = await Promise.all(statuses.map((url) => pollToEnd(url, ca, token, { limitMs: 60_000 })));
  for (const end of ends) {
    assert.is(end.status, 200, end.body.slice(0, 300));
    const manifest = JSON.parse(end.body) as Manifest;
    for (const type of ['Patient', 'Condition'] as const) {
      const n = await checkExactlyOnce(manifest, type, expected[type], ca, token);
      assert.is(n, expected[type].size);
    }
  }
  // Every admitted job has ended: a new kick-off takes a freed slot.
  const next = await kickoff(second.baseUrl, '/$export?_type=Patient', ca, token);
  assert.is(next.status, 202, next.body);
  const end = await pollToEnd(String(next.headers['content-location']), ca, token);
  assert.is(end.status, 200);
  assert.is(await checkExactlyOnce(JSON.parse(end.body) as Manifest, 'Patient', expected.Patient, ca, token), expected.Patient.size);
});

test.run();
