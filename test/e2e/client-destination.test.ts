/**
 * A client-supplied destination through the whole mesh: POST `$export` with a
 * container SAS URL of the client's own storage account; the URL is kept in Key
 * Vault (never in the job record), the files land in that container, and the
 * secret is deleted when the job ends.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { blobSasVersion, createBlobServiceClient } from '../../common/blob.ts';
import { createCosmosClient } from '../../common/cosmos.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';

let mesh: MeshSetup;
let ca: string;

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'e2e-dest' });
  ca = mesh.routing.standIns.tls.caPem;
  const cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: ca });
  const store = await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! });
  await seedSynthetic(store, { patients: 10, seed: 'e2e-destination' });
  cosmos.dispose();
}));
test.after(async () => mesh?.stop());

test('files go to the container a client supplied; its SAS lives in Key Vault only while the job runs', async () => {
  const { blob, keyVault } = mesh.routing.standIns;
  const shared = new StorageSharedKeyCredential(blob.accountName, blob.accountKey);
  const service = createBlobServiceClient({ url: blob.blobUrl, credential: shared, caPem: ca });
  const container = service.getContainerClient('client-owned');
  await container.createIfNotExists();
  const sas = generateBlobSASQueryParameters(
    { containerName: 'client-owned', permissions: ContainerSASPermissions.parse('racwl'), startsOn: new Date(Date.now() - 60_000), expiresOn: new Date(Date.now() + 3_600_000), version: blobSasVersion },
    shared,
  ).toString();
  const sasUrl = `${container.url}?${sas}`;
  const token = await mesh.bearer(['Fhir.Export']);
  keyVault.resetStats();
  const kickoff = await https(`${mesh.fhir.baseUrl}/$export`, {
    method: 'POST',
    ca,
    token,
    headers: { prefer: 'respond-async' },
    body: { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Patient' }, { name: '_destination', valueUrl: sasUrl }] },
  });
  assert.is(kickoff.status, 202, kickoff.body);
  const statusUrl = String(kickoff.headers['content-location']);
  let manifest: { output: { type: string; url: string; count: number }[] } | undefined;
  for (let i = 0; i < 60 && !manifest; i++) {
    const status = await https(statusUrl, { ca, token });
    if (status.status === 200) manifest = JSON.parse(status.body);
    else {
      assert.is(status.status, 202, status.body);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  assert.ok(manifest, 'completed');
  assert.not.ok(JSON.stringify(manifest).includes('sig='), 'no SAS in the manifest');
  const patients = manifest!.output.filter((o) => o.type === 'Patient').reduce((n, o) => n + o.count, 0);
  assert.is(patients, 10);
  // The blobs are in the client's own container.
  const names: string[] = [];
  for await (const item of container.listBlobsFlat()) names.push(item.name);
  assert.ok(names.some((n) => n.endsWith('Patient-1.ndjson')), names.join(', '));
  // The SAS URL was kept in Key Vault and removed when the job ended.
  const stats = keyVault.stats();
  assert.ok((stats.byOperation.setSecret?.succeeded ?? 0) >= 1, 'stored in Key Vault');
  assert.ok((stats.byOperation.deleteSecret?.succeeded ?? 0) >= 1, 'deleted when the job ended');
});

test('a destination on a private address is refused with a 400 naming the parameter, and nothing is stored', async () => {
  const token = await mesh.bearer(['Fhir.Export']);
  mesh.routing.standIns.keyVault.resetStats();
  const res = await https(`${mesh.fhir.baseUrl}/$export`, {
    method: 'POST',
    ca,
    token,
    headers: { prefer: 'respond-async' },
    body: { resourceType: 'Parameters', parameter: [{ name: '_destination', valueUrl: 'https://10.1.2.3/container?sv=1&sig=abc' }] },
  });
  assert.is(res.status, 400);
  assert.match(res.body, /_destination/);
  assert.is(mesh.routing.standIns.keyVault.stats().byOperation.setSecret?.total ?? 0, 0);
});

test.run();
