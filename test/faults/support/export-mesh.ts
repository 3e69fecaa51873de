/**
 * The mesh for export fault tests, without an fhir-server in this process:
 * stand-ins, routing server, one provisioned account, the FHIR_* environment
 * for fhir-server processes, a resource store on the account's database (to
 * seed and to compare against) and REST bearer tokens.
 */
import type { CosmosClient } from '@azure/cosmos';
import { ClientSecretCredential } from '@azure/identity';
import { randomBytes } from 'node:crypto';
import { createCosmosClient } from '../../../common/cosmos.ts';
import { FHIR_API, fhirEnvironment } from '../../../dev/mesh-setup.ts';
import { startRoutingSetup, type ProvisionedAccount, type RoutingSetup } from '../../../dev/routing-setup.ts';
import type { StandInsOptions } from '../../../dev/standins.ts';
import { entraCredentialOptions } from '../../../common/auth/entra-credential-options.ts';
import { openCosmosResourceStore, type CosmosResourceStore } from '../../../fhir-server/store/cosmos-resource-store.ts';
import { CosmosJobStore } from '../../../fhir-server/export/engine/cosmos-job-store.ts';

/** A running mesh for fault tests. */
export interface ExportMesh {
  routing: RoutingSetup;
  account: ProvisionedAccount;
  /** FHIR_* environment for fhir-server processes. */
  env: Record<string, string>;
  /** The local CA (PEM). */
  ca: string;
  store: CosmosResourceStore;
  cosmos: CosmosClient;
  /** The account's export job records. */
  jobs: CosmosJobStore;
  /** A REST bearer token with the export and read roles. */
  bearer(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the mesh; `fhirEnv` goes over the fhir-server environment. */
export async function startExportMesh(accountName: string, fhirEnv: Record<string, string> = {}, standIns: StandInsOptions = {}): Promise<ExportMesh> {
  const routing = await startRoutingSetup(standIns);
  const s = routing.standIns;
  s.entra.registerResource(FHIR_API);
  const account = await routing.provisionAccount(accountName);
  const env = fhirEnvironment(routing, account, { FHIR_SMART_ENABLED: 'false', ...fhirEnv });
  const cosmos = createCosmosClient({ endpoint: s.cosmos.endpoint, key: s.cosmos.key, caPem: s.tls.caPem });
  const databaseId = env.FHIR_COSMOS_DATABASE!;
  const store = await openCosmosResourceStore(cosmos, { databaseId });
  const { container } = await cosmos.database(databaseId).containers.createIfNotExists({ id: env.FHIR_COSMOS_JOBS_CONTAINER ?? 'exportJobs', partitionKey: { paths: ['/id'] } });
  const secret = randomBytes(24).toString('base64url');
  const client = s.entra.registerApplication({ displayName: 'fault-test client', secrets: [secret], roles: { [FHIR_API]: ['Fhir.Export', 'Fhir.Read', 'Fhir.Write'] } });
  const credential = new ClientSecretCredential(s.entra.tenantId, client.appId, secret, entraCredentialOptions({ authorityHost: s.entra.authorityHost, caPem: s.tls.caPem }));
  return {
    routing,
    account,
    env,
    ca: s.tls.caPem,
    store,
    cosmos,
    jobs: new CosmosJobStore(container),
    bearer: async () => (await credential.getToken(`${FHIR_API}/.default`))!.token,
    stop: async () => {
      cosmos.dispose();
      await routing.stop();
    },
  };
}

/** Stores `n` small Observations (ids `obs-0` …). */
export async function seedObservations(store: CosmosResourceStore, n: number): Promise<void> {
  const resources = Array.from({ length: n }, (_, i) => ({ resourceType: 'Observation', id: `obs-${i}`, status: 'final', code: { text: `value ${i}` }, subject: { reference: `Patient/p${i % 25}` } }));
  const result = await store.bulkUpsert(resources);
  if (result.failed.length > 0) throw new Error(`${result.failed.length} Observations not stored`);
}
