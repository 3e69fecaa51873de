/**
 * `npm start`: the whole mesh on loopback, run from the compiled code — the
 * Azure stand-ins in this process, the routing server and the fhir-server each
 * in its own supervised process (restarted with backoff on the same ports when
 * one dies), a demo account whose managed identity is a certificate in Key
 * Vault, deterministic sample data — then copy-paste commands, a `READY {json}`
 * line for scripts, and a clean stop on Ctrl-C / SIGTERM, or when the process
 * that started this one (npm) is gone.
 *
 *   npm start                    300 patients
 *   npm start -- --patients 50
 *
 * ROUTING_* and FHIR_* settings in the environment reach the services (e.g.
 * `FHIR_LOG_LEVEL=info npm start`).
 */
import { Command } from 'commander';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createCosmosClient } from '../common/cosmos.ts';
import { onParentExit, stopOnSignals } from '../common/process.ts';
import { patientGroup } from '../fhir-server/seed/synthetic.ts';
import { seedSynthetic } from '../fhir-server/seed/seed-synthetic.ts';
import { openCosmosResourceStore } from '../fhir-server/store/cosmos-resource-store.ts';
import { repoRoot } from './certs.ts';
import { FHIR_API, fhirEnvironment, meshClients } from './mesh-setup.ts';
import { entryArgs } from './node-entry.ts';
import { routingNodeArgs } from './routing-process.ts';
import { dialAddress, startRoutingSetup, type RoutingSetup } from './routing-setup.ts';
import { startStandIns, type StandIns } from './standins.ts';
import { startBanner } from './start-banner.ts';
import { SupervisedProcess } from './supervisor.ts';

const opts = new Command('start')
  .option('--patients <n>', 'synthetic patients to load', '300')
  .option('--seed <s>', 'seed of the synthetic data', 'demo')
  .parse()
  .opts<{ patients: string; seed: string }>();

/** One line about the mesh itself (a restart, a stop) on stderr; the services' own log lines go there too. */
const say = (line: string): void => void process.stderr.write(`npm start: ${line}\n`);
const forward = (line: string): void => void process.stderr.write(`${line}\n`);

/** ROUTING_* and FHIR_* settings of this environment, passed on to the services. */
function settingsFromEnvironment(prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith(prefix) && e[1] !== undefined));
}

const started = Date.now();
const dir = join(repoRoot, '.local');
mkdirSync(dir, { recursive: true });
// An older npm start wrote the fhir-server's own refresh token here; it is not for people to use.
rmSync(join(dir, 'demo-refresh-token'), { force: true });

let standIns: StandIns | undefined;
let routing: RoutingSetup | undefined;
let fhir: SupervisedProcess | undefined;
const timers: NodeJS.Timeout[] = [];
const stop = async (): Promise<void> => {
  for (const timer of timers) clearInterval(timer);
  await fhir?.stop();
  await routing?.stop();
  await standIns?.stop();
};
stopOnSignals(stop, (reason) => say(`stopping (${reason})`), (err) => say(`stop failed: ${(err as Error).message}`));
// npm killed (SIGKILL sends nothing on): stop as on SIGTERM.
onParentExit(process.ppid, () => process.kill(process.pid, 'SIGTERM'));

try {
  standIns = await startStandIns();
  routing = await startRoutingSetup({
    standIns,
    env: settingsFromEnvironment('ROUTING_'),
    launch: async (env) => {
      const supervised = new SupervisedProcess({
        name: 'routing server',
        args: [...routingNodeArgs(), ...entryArgs('../routing-server/main', import.meta.url)],
        env,
        readyPrefix: 'ROUTING_READY',
        pinPorts: (ready) => ({ ROUTING_PORT: String(ready.port), ...(ready.metricsUrl ? { ROUTING_METRICS_PORT: new URL(ready.metricsUrl).port } : {}) }),
        log: say,
        onLine: forward,
      });
      const ready = await supervised.start();
      return { address: ready.address!, ...(ready.metricsUrl ? { metricsUrl: ready.metricsUrl } : {}), stop: () => supervised.stop() };
    },
  });
  standIns.entra.registerResource(FHIR_API);
  // The account's first refresh token is the fhir-server's; the operator gets a family of their own.
  const account = await routing.provisionAccount('demo');
  const operatorToken = await routing.issueRefreshToken('demo');
  const fhirEnv = fhirEnvironment(routing, account, settingsFromEnvironment('FHIR_'));
  fhir = new SupervisedProcess({
    name: 'fhir-server',
    args: entryArgs('../fhir-server/main', import.meta.url),
    env: fhirEnv,
    readyPrefix: 'FHIR_READY',
    pinPorts: (ready) => ({ FHIR_PORT: new URL(ready.baseUrl!).port, FHIR_GRPC_PORT: ready.grpcAddress!.split(':').pop()! }),
    log: say,
    onLine: forward,
  });
  const fhirReady = await fhir.start();
  const base = fhirReady.baseUrl!;

  const ca = standIns.tls.caPem;
  const cosmos = createCosmosClient({ endpoint: fhirEnv.FHIR_COSMOS_ENDPOINT!, key: fhirEnv.FHIR_COSMOS_KEY, caPem: ca });
  const store = await openCosmosResourceStore(cosmos, { databaseId: fhirEnv.FHIR_COSMOS_DATABASE! });
  const patients = Number(opts.patients);
  const seeded = await seedSynthetic(store, { patients, seed: opts.seed });
  await store.close(); // the fhir-server's exports then wait for no writes of this process
  cosmos.dispose();
  const groupId = patientGroup({ patients, seed: opts.seed }).id;

  const clients = meshClients(routing, base);
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const operatorTokenFile = file('operator-refresh-token', `${operatorToken}\n`);
  const bearerTokenFile = file('demo-bearer-token', `${await clients.bearer()}\n`);
  const adminTokenFile = file('demo-admin-token', `${await routing.adminToken()}\n`);
  // Entra ID tokens live an hour: the files are renewed while the mesh runs, so the printed commands keep working.
  const setup = routing;
  timers.push(
    setInterval(() => {
      void Promise.all([clients.bearer(), setup.adminToken()]).then(
        ([bearer, admin]) => (file('demo-bearer-token', `${bearer}\n`), file('demo-admin-token', `${admin}\n`)),
        (err: unknown) => say(`could not renew the demo tokens: ${(err as Error).message}`),
      );
    }, 10 * 60_000),
  );
  // A SMART Backend Services client (ES384 key pair); its key and a tiny assertion signer go to .local/.
  const smartClient = await clients.registerSmartClient({ scope: 'system/*.read', alg: 'ES384', name: 'npm start demo' });
  const smartKeyFile = file('demo-smart-client-key.pem', smartClient.key.privateKeyPem);
  const smartAssertionScript = file(
    'smart-assertion.mjs',
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
  );
  const caFile = standIns.tls.caFile;
  // `fhirmesh` (cli/) takes its connection defaults from .local/mesh.json while this process runs.
  const meshFile = {
    fhirBaseUrl: base,
    routingAddress: routing.address,
    caFile,
    bearerTokenFile,
    refreshTokenFile: operatorTokenFile,
    adminTokenFile,
    tenantId: standIns.entra.tenantId,
    pid: process.pid,
  };
  file('mesh.json', `${JSON.stringify(meshFile, null, 2)}\n`);

  process.stdout.write(
    startBanner({
      seconds: (Date.now() - started) / 1000,
      resources: seeded.resources,
      patients,
      groupId,
      base,
      exportGrpcAddress: dialAddress(fhirReady.grpcAddress!),
      routingAddress: routing.address,
      routingMetricsUrl: routing.metricsUrl,
      caFile,
      bearerTokenFile,
      operatorTokenFile,
      smartClientId: smartClient.clientId,
      smartAssertionScript: relative(repoRoot, smartAssertionScript),
    }),
  );
  process.stdout.write(
    `READY ${JSON.stringify({
      fhirBaseUrl: base,
      exportGrpcAddress: dialAddress(fhirReady.grpcAddress!),
      routingAddress: routing.address,
      caFile,
      bearerToken: await clients.bearer(),
      bearerTokenFile,
      refreshTokenFile: operatorTokenFile,
      groupId,
      smartClientId: smartClient.clientId,
      smartKeyFile,
      smartKid: smartClient.key.kid,
      tokenEndpoint: smartClient.tokenEndpoint,
    })}\n`,
  );
} catch (err) {
  say(`could not start the mesh: ${(err as Error).message}`);
  await stop().catch(() => undefined);
  process.exit(1);
}
