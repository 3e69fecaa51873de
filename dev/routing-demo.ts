/**
 * `npm run routing:demo`: the local stand-ins, a routing server and one demo
 * account whose managed identity is a certificate in Key Vault; prints
 * copy-paste `buf curl` commands and runs until Ctrl-C.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './certs.ts';
import { startRoutingSetup } from './routing-setup.ts';
import { stopOnSignals } from '../common/process.ts';

const setup = await startRoutingSetup({ mode: 'child-process' });
const account = await setup.provisionAccount('demo', { exportJobConfiguration: { rollingFileSizeInMb: 64 } });
const dir = join(repoRoot, '.local');
mkdirSync(dir, { recursive: true });
const tokenFile = join(dir, 'operator-refresh-token');
writeFileSync(tokenFile, account.refreshToken + '\n', { mode: 0o600 });
const adminFile = join(dir, 'demo-admin-token');
writeFileSync(adminFile, (await setup.adminToken()) + '\n', { mode: 0o600 });
const ca = setup.standIns.tls.caFile;
const url = `https://${setup.address}`;
process.stdout.write(`
Routing server: ${url}  (TLS, CA ${ca})
Demo account "demo": identity ${account.clientId}, Key Vault secret ${account.secretName}
Refresh token in ${tokenFile}; an admin token (1 h) in ${adminFile}

  # list services (reflection)
  npx buf curl --cacert ${ca} --protocol grpc --list-services ${url}

  # a storage token for the demo account's managed identity
  npx buf curl --cacert ${ca} --protocol grpc \\
    -H "authorization: Bearer $(cat ${tokenFile})" \\
    -d '{"resource_uri":"https://storage.azure.com"}' \\
    ${url}/fhirmesh.routing.v1.TokenService/GetToken

  # the account as an admin sees it
  npx buf curl --cacert ${ca} --protocol grpc \\
    -H "authorization: Bearer $(cat ${adminFile})" -d '{"name":"demo"}' \\
    ${url}/fhirmesh.routing.v1.AccountService/GetAccount

  # health
  npx buf curl --cacert ${ca} --protocol grpc -d '{}' ${url}/grpc.health.v1.Health/Check

Ctrl-C stops everything.
`);
process.stdout.write(`READY ${JSON.stringify({ routingAddress: setup.address, caFile: ca, refreshTokenFile: tokenFile })}\n`);
stopOnSignals(() => setup.stop());
