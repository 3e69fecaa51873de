/** The mesh on the stand-ins with a few synthetic patients, and the HTTP calls the SMART end-to-end tests make. */
import * as assert from 'uvu/assert';
import { createCosmosClient } from '../../../common/cosmos.ts';
import { startMeshSetup, type MeshSetup } from '../../../dev/mesh-setup.ts';
import { httpsPost, type HttpAnswer } from '../../../fhir-server/http/smart/client-credentials.ts';
import { openCosmosResourceStore } from '../../../fhir-server/store/cosmos-resource-store.ts';
import { seedSynthetic } from '../../../fhir-server/seed/seed-synthetic.ts';
import { https } from '../../support/https.ts';

/** Starts the mesh (account `name`, `allowEndpoints` reachable by jwks_uri fetches) and loads `patients` synthetic patients. */
export async function startSeededMesh(name: string, patients = 4, allowEndpoints: string[] = []): Promise<MeshSetup> {
  const mesh = await startMeshSetup({ accountName: name, allowEndpoints });
  const cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: mesh.routing.standIns.tls.caPem });
  try {
    const store = await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! });
    await seedSynthetic(store, { patients, seed: `smart-${name}` });
  } finally {
    cosmos.dispose();
  }
  return mesh;
}

/** POSTs a form to the token endpoint. */
export function postToken(mesh: MeshSetup, form: string): Promise<HttpAnswer> {
  return httpsPost(`${mesh.fhir.baseUrl}/auth/token`, form, { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, mesh.routing.standIns.tls.caPem);
}

/** Kicks off `path`, polls the status URL until the manifest, and answers both. */
export async function runExport(mesh: MeshSetup, path: string, token: string): Promise<{ statusUrl: string; manifest: { output: { type: string; url: string; count: number }[]; requiresAccessToken: boolean } }> {
  const ca = mesh.routing.standIns.tls.caPem;
  const kickoff = await https(`${mesh.fhir.baseUrl}${path}`, { ca, token, headers: { prefer: 'respond-async' } });
  assert.is(kickoff.status, 202, kickoff.body);
  const statusUrl = String(kickoff.headers['content-location']);
  for (let i = 0; i < 240; i++) {
    const status = await https(statusUrl, { ca, token });
    if (status.status === 200) return { statusUrl, manifest: JSON.parse(status.body) };
    assert.is(status.status, 202, status.body);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('export did not complete in time');
}
