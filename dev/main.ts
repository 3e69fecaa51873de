/** Runs the four local Azure stand-ins in one process until SIGINT/SIGTERM: `npm run stand-ins`. */
import { startStandIns } from './standins.ts';
import { stopOnSignals } from '../common/process.ts';

const s = await startStandIns({ tokenLifetimeSeconds: Number(process.env.ENTRA_TOKEN_LIFETIME_SECONDS ?? 3600) });
const endpoints = {
  caFile: s.tls.caFile,
  entra: { url: s.entra.url, tenantId: s.entra.tenantId, adminKey: s.entra.adminKey },
  keyVault: { url: s.keyVault.url, adminKey: s.keyVault.adminKey },
  cosmos: { endpoint: s.cosmos.endpoint, key: s.cosmos.key },
  blob: { url: s.blob.blobUrl, accountName: s.blob.accountName },
};
process.stdout.write(`STANDINS_READY ${JSON.stringify(endpoints)}\n`);
stopOnSignals(() => s.stop());
