/**
 * The fhir-server's own Key Vault (client-supplied destinations, SMART signing
 * key) out of reach through a proxy that refuses connections: a kick-off with
 * `_destination` gets 503 + Retry-After (OperationOutcome transient, the SAS
 * not echoed) and keeps nothing; after restore the same kick-off succeeds and
 * its files land in the client's container, each Observation exactly once.
 * A server with SMART enabled starts while Key Vault is unreachable (signing
 * keys are read on first use).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { blobSasVersion, createBlobServiceClient } from '../../common/blob.ts';
import { proxyFor, type FaultProxy } from '../../dev/fault-proxy.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { pollToEnd, storeJson, type Manifest } from './support/export-checks.ts';
import { seedObservations, startExportMesh, type ExportMesh } from './support/export-mesh.ts';
import { startServerProcess, type ServerProcess } from './support/export-process.ts';
import { expectUnavailable } from './support/fhir-outage.ts';

const resources = 60;
let mesh: ExportMesh;
let vault: FaultProxy;
const processes: ServerProcess[] = [];

test.before(loud('before', async () => {
  mesh = await startExportMesh('kv-outage');
  await seedObservations(mesh.store, resources);
  vault = await proxyFor(mesh.env.FHIR_KEYVAULT_URL!, { startCut: 'refuse' });
}));
test.after(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await vault?.stop();
  await mesh?.stop();
});

async function start(env: Record<string, string> = {}): Promise<ServerProcess> {
  const p = await startServerProcess({ ...mesh.env, FHIR_KEYVAULT_URL: vault.url('/'), ...env });
  processes.push(p);
  return p;
}

test('kick-off with _destination while Key Vault is unreachable: 503 + Retry-After, no SAS echoed; succeeds after restore', async () => {
  const { blob } = mesh.routing.standIns;
  const shared = new StorageSharedKeyCredential(blob.accountName, blob.accountKey);
  const container = createBlobServiceClient({ url: blob.blobUrl, credential: shared, caPem: mesh.ca }).getContainerClient('kv-outage-client');
  await container.createIfNotExists();
  const sas = generateBlobSASQueryParameters(
    { containerName: 'kv-outage-client', permissions: ContainerSASPermissions.parse('racwl'), startsOn: new Date(Date.now() - 60_000), expiresOn: new Date(Date.now() + 3_600_000), version: blobSasVersion },
    shared,
  ).toString();
  const signature = new URLSearchParams(sas).get('sig')!;
  const server = await start();
  const token = await mesh.bearer();
  const kickoff = () => https(`${server.baseUrl}/$export`, {
    method: 'POST',
    ca: mesh.ca,
    token,
    headers: { prefer: 'respond-async' },
    body: { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Observation' }, { name: '_destination', valueUrl: `${container.url}?${sas}` }] },
  });
  const refused = await kickoff();
  console.log(`  Key Vault down: ${expectUnavailable(refused, 'kick-off', [signature, sas])}`);
  assert.is(await mesh.jobs.countActive(), 0, 'no job kept');

  await vault.restore();
  const accepted = await kickoff();
  assert.is(accepted.status, 202, accepted.body);
  const end = await pollToEnd(String(accepted.headers['content-location']), mesh.ca, token, { limitMs: 45_000 });
  assert.is(end.status, 200, end.body.slice(0, 400));
  const manifest = JSON.parse(end.body) as Manifest;
  const expected = await storeJson(mesh.store, 'Observation');
  const seen = new Set<string>();
  for (const file of manifest.output) {
    const res = await https(`${file.url}?${sas}`, { ca: mesh.ca, headers: { accept: '*/*' } });
    assert.is(res.status, 200, `${file.url}: ${res.status}`);
    for (const line of res.body.split('\n').filter(Boolean)) {
      const id = (JSON.parse(line) as { id: string }).id;
      assert.ok(!seen.has(id), `${id} exported twice`);
      seen.add(id);
      assert.is(line, expected.get(id), `${id} byte-equal to the store's read`);
    }
  }
  assert.is(seen.size, resources, 'every Observation');
  assert.not.ok(end.body.includes(signature), 'no signature in the manifest');
});

test('SMART enabled with its signing key in Key Vault: starts while Key Vault is unreachable', async () => {
  await vault.cut('refuse');
  try {
    const server = await start({ FHIR_SMART_ENABLED: 'true' });
    const health = await https(`${server.baseUrl}/health`, { ca: mesh.ca });
    assert.is(health.status, 200);
    const discovery = await https(`${server.baseUrl}/.well-known/smart-configuration`, { ca: mesh.ca, headers: { accept: 'application/json' } });
    assert.is(discovery.status, 200, discovery.body.slice(0, 200));
    const read = await https(`${server.baseUrl}/Observation/obs-1`, { ca: mesh.ca, token: await mesh.bearer() });
    assert.is(read.status, 200, `Entra tokens need no Key Vault: ${read.body.slice(0, 200)}`);
  } finally {
    await vault.restore();
  }
});

test.run();
