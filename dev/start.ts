/**
 * `npm start`: the whole mesh on loopback — Azure stand-ins, routing server,
 * a demo account whose managed identity is a certificate in Key Vault, a
 * fhir-server with its export workers, deterministic sample data — then
 * copy-paste commands, a `READY {json}` line for scripts, and a clean stop on
 * Ctrl-C / SIGTERM.
 *
 *   npm start                    300 patients
 *   npm start -- --patients 50
 */
import { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCosmosClient } from '../common/cosmos.ts';
import { openCosmosResourceStore } from '../fhir-server/store/cosmos-resource-store.ts';
import { seedSynthetic } from '../fhir-server/seed/seed-synthetic.ts';
import { repoRoot } from './certs.ts';
import { startMeshSetup } from './mesh-setup.ts';
import { stopOnSignals } from '../common/process.ts';

const opts = new Command('start')
  .option('--patients <n>', 'synthetic patients to load', '300')
  .option('--seed <s>', 'seed of the synthetic data', 'demo')
  .parse()
  .opts<{ patients: string; seed: string }>();

const started = Date.now();
const mesh = await startMeshSetup({ accountName: 'demo', mode: 'child-process' });
stopOnSignals(() => mesh.stop());

const ca = mesh.routing.standIns.tls.caPem;
const cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: ca });
const store = await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! });
const seeded = await seedSynthetic(store, { patients: Number(opts.patients), seed: opts.seed });
cosmos.dispose();

const dir = join(repoRoot, '.local');
mkdirSync(dir, { recursive: true });
const refreshTokenFile = join(dir, 'demo-refresh-token');
writeFileSync(refreshTokenFile, `${mesh.account.refreshToken}\n`, { mode: 0o600 });
const bearerToken = await mesh.bearer();
const tokenFile = join(dir, 'demo-bearer-token');
writeFileSync(tokenFile, `${bearerToken}\n`, { mode: 0o600 });
const caFile = mesh.routing.standIns.tls.caFile;
const base = mesh.fhir.baseUrl;
const routing = `https://${mesh.routing.address}`;

// `fhirmesh` (cli/) takes its connection defaults from .local/mesh.json while this process runs.
const adminTokenFile = join(dir, 'demo-admin-token');
writeFileSync(adminTokenFile, `${await mesh.routing.adminToken()}\n`, { mode: 0o600 });
// A SMART Backend Services client (ES384 key pair); its key and a tiny assertion signer go to .local/.
const smartClient = await mesh.registerSmartClient({ scope: 'system/*.read', alg: 'ES384', name: 'npm start demo' });
const smartKeyFile = join(dir, 'demo-smart-client-key.pem');
writeFileSync(smartKeyFile, smartClient.key.privateKeyPem, { mode: 0o600 });
const smartAssertionScript = join(dir, 'smart-assertion.mjs');
writeFileSync(
  smartAssertionScript,
  [
    '// Prints a SMART client assertion for the demo client (ES384, 2 minutes).',
    "import { SignJWT } from 'jose';",
    "import { createPrivateKey, randomUUID } from 'node:crypto';",
    "import { readFileSync } from 'node:fs';",
    `const key = createPrivateKey(readFileSync(${JSON.stringify(smartKeyFile)}, 'utf8'));`,
    `const clientId = ${JSON.stringify(smartClient.clientId)};`,
    `process.stdout.write(await new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: ${JSON.stringify(smartClient.key.kid)}, typ: 'JWT' }).setIssuer(clientId).setSubject(clientId).setAudience(${JSON.stringify(smartClient.tokenEndpoint)}).setJti(randomUUID()).setIssuedAt().setExpirationTime('2m').sign(key));`,
    '',
  ].join('\n'),
  { mode: 0o600 },
);
const meshFile = { fhirBaseUrl: base, routingAddress: mesh.routing.address, caFile, bearerTokenFile: tokenFile, refreshTokenFile, adminTokenFile, tenantId: mesh.routing.standIns.entra.tenantId, pid: process.pid };
writeFileSync(join(dir, 'mesh.json'), `${JSON.stringify(meshFile, null, 2)}\n`, { mode: 0o600 });

process.stdout.write(`
fhirmesh is up in ${((Date.now() - started) / 1000).toFixed(1)} s — ${seeded.resources} resources of ${opts.patients} patients loaded.

  FHIR base        ${base}
  ExportService    ${mesh.fhir.grpcAddress} (gRPC, TLS)
  routing server   ${mesh.routing.address} (gRPC, TLS)
  CA               ${caFile}
  bearer token     ${tokenFile} (Fhir.Read/Write/Export/Admin, 1 h)
  refresh token    ${refreshTokenFile} (the demo account's, for the routing server)

  TOKEN=$(cat ${tokenFile})
  curl --cacert ${caFile} -i -H "Authorization: Bearer $TOKEN" -H 'Accept: application/fhir+json' -H 'Prefer: respond-async' '${base}/$export?_type=Patient,Observation'
  curl --cacert ${caFile} -H "Authorization: Bearer $TOKEN" <Content-Location from above>
  curl --cacert ${caFile} -H "Authorization: Bearer $TOKEN" <an output url from the manifest>

  npx buf curl --cacert ${caFile} --protocol grpc --list-services ${routing}
  npx buf curl --cacert ${caFile} --protocol grpc -H "authorization: Bearer $(cat ${refreshTokenFile})" \\
    -d '{"resource_uri":"https://storage.azure.com"}' ${routing}/fhirmesh.routing.v1.TokenService/GetToken

  SMART Backend Services (client ${smartClient.clientId}, key ${smartKeyFile}; docs/smart-backend-services.md):
  curl --cacert ${caFile} ${base}/.well-known/smart-configuration
  SMART=$(curl --cacert ${caFile} -s ${smartClient.tokenEndpoint} -d grant_type=client_credentials -d 'scope=system/Patient.read system/Observation.read' \\
    -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer -d client_assertion=$(node ${smartAssertionScript}) \\
    | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')
  curl --cacert ${caFile} -i -H "Authorization: Bearer $SMART" -H 'Accept: application/fhir+json' -H 'Prefer: respond-async' '${base}/$export?_type=Patient,Observation'

  Metrics (Prometheus text; docs/observability.md):
  curl --cacert ${caFile} ${mesh.routing.metricsUrl ?? '(routing metrics off)'}
  curl --cacert ${caFile} -H "Authorization: Bearer $TOKEN" ${base}/metrics

  npx fhirmesh account list          (operator CLI, defaults from .local/mesh.json; docs/cli.md)
  npx fhirmesh export run --type Patient --dir out

Ctrl-C stops everything.
`);
process.stdout.write(
  `READY ${JSON.stringify({ fhirBaseUrl: base, exportGrpcAddress: mesh.fhir.grpcAddress, routingAddress: mesh.routing.address, caFile, bearerToken, refreshTokenFile, smartClientId: smartClient.clientId, smartKeyFile, smartKid: smartClient.key.kid, tokenEndpoint: smartClient.tokenEndpoint })}\n`,
);
