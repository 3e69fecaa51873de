/**
 * A process that starts a transaction and dies in the middle of applying it,
 * leaving its journal `applying`. Run by transactions.test.ts with:
 *   COSMOS_ENDPOINT, COSMOS_KEY, COSMOS_CA (PEM), DATABASE_ID, CRASH_AT (op index), OPS (JSON array of WriteOp),
 *   TIMEOUT_MS (optional transaction deadline)
 * Writes go one at a time; before the write of op CRASH_AT the process kills itself.
 */
import { createCosmosClient } from '../../../common/cosmos.ts';
import { openCosmosResourceStore } from '../../../fhir-server/store/cosmos-resource-store.ts';
import type { WriteOp } from '../../../fhir-server/store/resource-store.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const crashAt = Number(env('CRASH_AT'));
const client = createCosmosClient({ endpoint: env('COSMOS_ENDPOINT'), key: env('COSMOS_KEY'), caPem: env('COSMOS_CA') });
const store = await openCosmosResourceStore(client, {
  databaseId: env('DATABASE_ID'),
  concurrency: 1,
  ...(process.env.TIMEOUT_MS ? { transactionTimeoutMs: Number(process.env.TIMEOUT_MS) } : {}),
  hooks: {
    beforeWrite(index) {
      if (index === crashAt) {
        process.stdout.write(`crashing before op ${index}\n`);
        process.kill(process.pid, 'SIGKILL');
      }
    },
  },
});
await store.transaction(JSON.parse(env('OPS')) as WriteOp[]);
process.stdout.write('transaction finished without crashing\n');
