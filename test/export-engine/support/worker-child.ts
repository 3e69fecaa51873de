/**
 * An export worker in its own process, for the crash test. Reads its settings
 * from the environment variable EXPORT_CHILD (JSON: cosmos endpoint and key,
 * CA file, database and jobs container, blob URL, Entra tenant, authority and
 * the writer app's id and secret, engine options, page delay), starts a worker
 * pool and prints `checkpoint <jobId> <item>` after every checkpoint.
 */
import { ClientSecretCredential } from '@azure/identity';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { trustCa } from '../../../common/azure-tls.ts';
import { createCosmosClient } from '../../../common/cosmos.ts';
import { createLogger } from '../../../common/logging.ts';
import { openExportEngine } from '../../../fhir-server/export/engine/open.ts';
import { openCosmosResourceStore } from '../../../fhir-server/store/cosmos-resource-store.ts';

interface ChildSettings {
  cosmosEndpoint: string;
  cosmosKey: string;
  caFile: string;
  databaseId: string;
  jobsContainerId: string;
  tenantId: string;
  authorityHost: string;
  appId: string;
  secret: string;
  options: Record<string, unknown>;
  pageDelayMs: number;
}

const settings = JSON.parse(process.env.EXPORT_CHILD ?? '{}') as ChildSettings;
const caPem = readFileSync(settings.caFile, 'utf8');
const cosmos = createCosmosClient({ endpoint: settings.cosmosEndpoint, key: settings.cosmosKey, caPem });
const store = await openCosmosResourceStore(cosmos, { databaseId: settings.databaseId });
const credential = new ClientSecretCredential(settings.tenantId, settings.appId, settings.secret, {
  authorityHost: settings.authorityHost,
  disableInstanceDiscovery: true,
  additionalPolicies: trustCa(caPem),
});
const engine = await openExportEngine({
  cosmos,
  databaseId: settings.databaseId,
  jobsContainerId: settings.jobsContainerId,
  store,
  credential,
  caPem,
  options: settings.options,
  workerId: `child-${process.pid}`,
  logger: createLogger('export-child', 'silent'),
  hooks: {
    afterPage: () => sleep(settings.pageDelayMs),
    afterCheckpoint: (jobId, item) => {
      process.stdout.write(`checkpoint ${jobId} ${item}\n`);
    },
  },
});
engine.pool.start();
process.stdout.write('worker started\n');
