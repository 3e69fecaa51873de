/**
 * A client-supplied destination through the whole mesh: POST `$export` with a
 * container SAS URL of the client's own storage account; the URL is kept in Key
 * Vault (never in the job record), the files land in that container, the
 * manifest lists the blobs' own URLs (no SAS, no access token needed: the client
 * reads them with its own credentials), and the secret is deleted when the job ends.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CosmosClient } from '@azure/cosmos';
import { ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { blobSasVersion, createBlobServiceClient } from '../../common/blob.ts';
import { createCosmosClient } from '../../common/cosmos.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { openCosmosResourceStore, type CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';

let mesh: MeshSetup;
let ca: string;
let cosmos: CosmosClient;
let store: CosmosResourceStore;

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'e2e-dest' });
  ca = mesh.routing.standIns.tls.caPem;
  cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: ca });
  store = await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! });
  await seedSynthetic(store, { patients: 10, seed: 'e2e-destination' });
}));
test.after(async () => {
  cosmos?.dispose();
  await mesh?.stop();
});

/** Every live resource of `type` as the store serves it, by id. */
async function storeJson(type: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let continuation;
  do {
    const page: Awaited<ReturnType<CosmosResourceStore['queryForExport']>> = await store.queryForExport({ resourceType: type, pageSize: 500, ...(continuation ? { continuation } : {}) });
    for (const item of page.items) if (item.json) out.set(item.id, item.json);
    continuation = page.continuation;
  } while (continuation);
  return out;
}

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
  let manifest: { requiresAccessToken: boolean; output: { type: string; url: string; count: number }[] } | undefined;
  for (let i = 0; i < 60 && !manifest; i++) {
    const status = await https(statusUrl, { ca, token });
    if (status.status === 200) manifest = JSON.parse(status.body);
    else {
      assert.is(status.status, 202, status.body);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  assert.ok(manifest, 'completed');
  assert.not.ok(/sig=|[?&]s[vpert]=/.test(JSON.stringify(manifest)), 'no SAS in the manifest');
  assert.is(manifest!.requiresAccessToken, false, 'the client reads its own container with its own credentials');
  const patients = manifest!.output.filter((o) => o.type === 'Patient').reduce((n, o) => n + o.count, 0);
  assert.is(patients, 10);
  // Each listed URL is the blob in the client's container; with the client's own SAS appended it downloads the file.
  const expected = await storeJson('Patient');
  const seen = new Set<string>();
  for (const file of manifest!.output) {
    assert.ok(file.url.startsWith(`${container.url}/`) && !file.url.includes('?'), file.url);
    const res = await https(`${file.url}?${sas}`, { ca, headers: { accept: '*/*' } });
    assert.is(res.status, 200, res.body.slice(0, 300));
    const lines = res.body.split('\n');
    assert.is(lines.pop(), '', 'the file ends with a newline');
    assert.is(lines.length, file.count, `${file.url} count`);
    for (const line of lines) {
      const id = (JSON.parse(line) as { id: string }).id;
      assert.not.ok(seen.has(id), `${id} listed once`);
      seen.add(id);
      assert.is(line, expected.get(id), `Patient/${id} byte-equal to the store's read`);
    }
  }
  assert.is(seen.size, expected.size, 'every Patient');
  // Without the client's SAS the blob is not readable: the URL alone grants nothing.
  assert.is((await https(manifest!.output[0]!.url, { ca, headers: { accept: '*/*' } })).status >= 400, true);
  // Neither the job document nor anything else in the jobs container holds the SAS.
  const { resources: jobDocs } = await cosmos.database(mesh.fhirEnv.FHIR_COSMOS_DATABASE!).container(mesh.fhirEnv.FHIR_COSMOS_JOBS_CONTAINER ?? 'exportJobs').items.readAll().fetchAll();
  assert.ok(jobDocs.length >= 1, 'the job document was read');
  const signature = new URLSearchParams(sas).get('sig')!;
  for (const doc of jobDocs) {
    const text = JSON.stringify(doc);
    assert.not.ok(text.includes('sig=') || text.includes(signature) || text.includes(encodeURIComponent(signature)), 'no SAS in a job document');
  }
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
