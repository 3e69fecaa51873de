/**
 * Composition of the export engine on Azure services: jobs in the account's
 * Cosmos database, files in Blob Storage written with the export's token
 * credential (the routing credential), client destinations read from and
 * deleted in Key Vault.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { CosmosClient } from '@azure/cosmos';
import type { Logger } from 'pino';
import type { AddressGuard } from '../../../common/net/guarded-connect.ts';
import type { ResourceStore } from '../../store/resource-store.ts';
import type { EngineHooks } from './context.ts';
import { openCosmosJobStore } from './cosmos-job-store.ts';
import { BlobDestinations, type DestinationSecrets } from './destinations.ts';
import { ExportEngine } from './export-engine.ts';
import type { JobStore } from './job-store.ts';
import { guardCredential } from './guarded-credential.ts';
import { keyVaultDestinationSecrets } from './key-vault-secrets.ts';
import type { ExportEngineOptions } from './options.ts';
import { TokenWaits } from './waits.ts';

/** What {@link openExportEngine} needs. */
export interface OpenExportEngineOptions {
  /** Cosmos client of the account's database. */
  cosmos: CosmosClient;
  /** The account's database. */
  databaseId: string;
  /** Jobs container (default `jobs`). */
  jobsContainerId?: string;
  /** The resources to export. */
  store: ResourceStore;
  /** Token credential for the default storage account (the routing credential). */
  credential: TokenCredential;
  /** Client destinations: a Key Vault and the FHIR service's own credential for it, or any `DestinationSecrets`. */
  keyVault?: { vaultUrl: string; credential: TokenCredential } | { secrets: DestinationSecrets };
  /** CA to trust for storage and Key Vault endpoints. */
  caPem?: string;
  /** Where client destinations may connect (default: public addresses only). */
  clientDestinationGuard?: AddressGuard;
  /** Export settings. */
  options?: Partial<ExportEngineOptions>;
  logger?: Logger;
  workerId?: string;
  hooks?: EngineHooks;
  /** Wraps the job store (metrics observe its writes). */
  observeJobs?: (jobs: JobStore) => JobStore;
  /** Called with each storage token's expiry (for metrics and tests). */
  onStorageToken?: (expiresOnTimestamp: number) => void;
}

/** Opens the jobs container and builds the engine (its workers not started: call `engine.pool.start()`). */
export async function openExportEngine(o: OpenExportEngineOptions): Promise<ExportEngine> {
  const cosmosJobs = await openCosmosJobStore(o.cosmos, { databaseId: o.databaseId, ...(o.jobsContainerId ? { containerId: o.jobsContainerId } : {}) });
  const jobs = o.observeJobs ? o.observeJobs(cosmosJobs) : cosmosJobs;
  let secrets: DestinationSecrets | undefined;
  if (o.keyVault && 'secrets' in o.keyVault) secrets = o.keyVault.secrets;
  else if (o.keyVault) secrets = keyVaultDestinationSecrets({ vaultUrl: o.keyVault.vaultUrl, credential: o.keyVault.credential, ...(o.caPem ? { caPem: o.caPem } : {}) });
  const tokenWaits = new TokenWaits();
  const tokenWaitMs = o.options?.tokenWaitSeconds === undefined ? undefined : o.options.tokenWaitSeconds * 1000;
  const destinations = new BlobDestinations({
    credential: guardCredential(o.credential, { waits: tokenWaits, ...(o.onStorageToken ? { onToken: o.onStorageToken } : {}), ...(tokenWaitMs !== undefined ? { tokenWaitMs } : {}) }),
    ...(o.options?.storageAccountUri ? { storageAccountUri: o.options.storageAccountUri } : {}),
    ...(secrets ? { secrets } : {}),
    ...(o.caPem ? { caPem: o.caPem } : {}),
    ...(o.clientDestinationGuard ? { clientGuard: o.clientDestinationGuard } : {}),
  });
  return new ExportEngine({
    jobs,
    store: o.store,
    destinations,
    ...(o.options ? { options: o.options } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.workerId ? { workerId: o.workerId } : {}),
    ...(o.hooks ? { hooks: o.hooks } : {}),
    tokenWaits,
  });
}
