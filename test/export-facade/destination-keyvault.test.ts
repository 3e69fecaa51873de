/**
 * Client-supplied destinations end to end through the REST kick-off: the SAS
 * URL is written to the Key Vault stand-in through the real SecretClient (with
 * a token from the Entra stand-in), the job request holds only the secret
 * name, the URL never reaches a log line (pino output captured), non-public
 * or non-https destinations are refused unless allowed, and a refused job
 * leaves no secret behind.
 */
import { test } from 'uvu';
import { HostPortAllowList } from '../../common/net/host-allow-list.ts';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import type { FastifyInstance } from 'fastify';
import { trustCa } from '../../common/azure-tls.ts';
import { createLogger } from '../../common/logging.ts';
import { ensureLocalTls, type LocalTls } from '../../dev/certs.ts';
import { startEntra, type EntraStandIn } from '../../dev/entra/index.ts';
import { startKeyVault, type KeyVaultStandIn } from '../../dev/keyvault/index.ts';
import type { HostLookup } from '../../fhir-server/export/facade/destination-host.ts';
import { destinationContentType, KeyVaultDestinationVault } from '../../fhir-server/export/facade/destination-vault.ts';
import { loud } from '../support/hooks.ts';
import { call, exportApp, issue, jobIdOf, parameters } from './support/app.ts';
import { MemoryExportJobs } from './support/memory-jobs.ts';

let tls: LocalTls;
let entra: EntraStandIn;
let vault: KeyVaultStandIn;
let credential: ClientSecretCredential;
let reader: SecretClient;
const logLines: string[] = [];
const logger = createLogger('export-facade-test', 'trace', { write: (line: string) => void logLines.push(line) });

const signature = `SIG${randomUUID().replace(/-/g, '')}`;
const sas = `sv=2024-08-04&sr=c&sp=racwl&se=2031-01-01T00%3A00%3A00Z&sig=${signature}`;
const publicUrl = `https://acct.blob.core.windows.net/exports?${sas}`;
// Public DNS answers for the names these tests use (the machine may have no resolver).
const lookup: HostLookup = async (host) => {
  const table: Record<string, string[]> = { 'acct.blob.core.windows.net': ['20.60.1.2'], 'internal.example': ['10.1.2.3'], 'metadata.example': ['169.254.169.254'] };
  if (!table[host]) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  return table[host]!.map((address) => ({ address, family: 4 }));
};

test.before(
  loud('before', async () => {
    tls = await ensureLocalTls();
    entra = await startEntra({ tls });
    vault = await startKeyVault({ tls, entra: { jwksUri: entra.jwksUri, issuer: entra.issuer(), tenantId: entra.tenantId, authorityHost: entra.authorityHost } });
    const secret = `s-${randomUUID()}`;
    const registered = entra.registerApplication({ displayName: 'fhir-server', secrets: [secret] });
    vault.grant(registered.objectId, ['get', 'set', 'delete', 'list']);
    credential = new ClientSecretCredential(entra.tenantId, registered.appId, secret, { authorityHost: entra.authorityHost, disableInstanceDiscovery: true, additionalPolicies: trustCa(tls.caPem) });
    reader = new SecretClient(vault.url, credential, { disableChallengeResourceVerification: true, additionalPolicies: trustCa(tls.caPem) });
  }),
);
test.after(async () => {
  await vault?.stop();
  await entra?.stop();
});

async function appWith(jobs = new MemoryExportJobs(), allowed: string[] = []): Promise<{ app: FastifyInstance; jobs: MemoryExportJobs }> {
  const destinations = { vault: new KeyVaultDestinationVault({ vaultUrl: vault.url, credential, caPem: tls.caPem }), hostPolicy: { lookup, allow: HostPortAllowList.parse(allowed) } };
  const { app } = await exportApp({ jobs, destinations, logger });
  return { app, jobs };
}

const kickOff = (app: FastifyInstance, url: string, level = '/$export') => call(app, 'POST', level, 'alice', { body: parameters({ name: '_destination', valueUrl: url }) });

/** Reads a secret as plain data (RestErrors rethrown plainly: uvu's reporter trips over them). */
async function readSecret(name: string) {
  try {
    return await reader.getSecret(name);
  } catch (err) {
    throw new Error(`getSecret ${name}: ${(err as { statusCode?: number }).statusCode} ${(err as Error).message}`);
  }
}

test('a client container URL goes to Key Vault; the job keeps the secret name and the container URL without its SAS; no log line holds the SAS', async () => {
  const { app, jobs } = await appWith();
  try {
    const response = await kickOff(app, publicUrl, '/Group/g1/$export');
    assert.is(response.statusCode, 202, response.body);
    jobIdOf(response);
    const destination = jobs.started.at(-1)!.destination;
    assert.is(destination.kind, 'client');
    if (destination.kind !== 'client') return;
    assert.equal(Object.keys(destination).sort(), ['containerUrl', 'kind', 'secretName']);
    assert.is(destination.containerUrl, publicUrl.split('?')[0], 'the container URL without its query');
    assert.match(destination.secretName, /^export-destination-[0-9a-f-]{36}$/);
    const stored = await readSecret(destination.secretName);
    assert.is(stored.value, publicUrl);
    assert.is(stored.properties.contentType, destinationContentType);
    assert.equal(stored.properties.expiresOn, new Date('2031-01-01T00:00:00Z'));
    assert.equal(stored.properties.tags, { purpose: 'fhir-export-destination', host: 'acct.blob.core.windows.net' });
    assert.not.match(JSON.stringify(jobs.started), new RegExp(signature));
    assert.not.match(response.body, new RegExp(signature));
    // A second kick-off gets its own secret.
    const again = await kickOff(app, publicUrl);
    assert.is(again.statusCode, 202);
    const second = jobs.started.at(-1)!.destination;
    assert.ok(second.kind === 'client' && second.secretName !== destination.secretName);
  } finally {
    await app.close();
  }
  assert.ok(logLines.length > 4, 'the app logged its requests');
  assert.ok(logLines.some((line) => line.includes('export queued')));
  const leaked = logLines.filter((line) => line.includes(signature) || line.includes('sig='));
  assert.equal(leaked, []);
});

test('loopback, private, link-local and non-https destinations are refused before anything is stored', async () => {
  const { app } = await appWith();
  const setsBefore = vault.stats().byOperation.setSecret?.total ?? 0;
  try {
    const cases: [string, RegExp][] = [
      [`https://127.0.0.1:10000/devstoreaccount1/exports?${sas}`, /loopback/],
      [`https://[::1]:10000/devstoreaccount1/exports?${sas}`, /loopback/],
      [`https://[::ffff:127.0.0.1]/exports?${sas}`, /IPv4-mapped/],
      [`https://10.0.0.4/exports?${sas}`, /private/],
      [`https://internal.example/exports?${sas}`, /private/],
      [`https://169.254.169.254/exports?${sas}`, /link-local/],
      [`https://metadata.example/exports?${sas}`, /link-local/],
      [`https://[fe80::1]/exports?${sas}`, /link-local/],
      [`http://acct.blob.core.windows.net/exports?${sas}`, /https/],
      [`https://nowhere.example/exports?${sas}`, /does not resolve/],
    ];
    for (const [url, why] of cases) {
      const response = await kickOff(app, url);
      assert.is(response.statusCode, 400, `${url}: ${response.body}`);
      assert.equal(issue(response).expression, ['_destination']);
      assert.match(issue(response).diagnostics!, why);
      assert.not.match(response.body, new RegExp(signature));
    }
  } finally {
    await app.close();
  }
  assert.is(vault.stats().byOperation.setSecret?.total ?? 0, setsBefore, 'nothing was written to Key Vault');
  assert.equal(logLines.filter((line) => line.includes(signature)), []);
});

test('the allow-list admits a local Azurite on 127.0.0.1:10000, and no other port or host', async () => {
  const { app, jobs } = await appWith(new MemoryExportJobs(), ['127.0.0.1:10000']);
  try {
    const url = `https://127.0.0.1:10000/devstoreaccount1/exports?${sas}`;
    const response = await kickOff(app, url);
    assert.is(response.statusCode, 202, response.body);
    const destination = jobs.started.at(-1)!.destination;
    assert.is(destination.kind === 'client' && (await readSecret(destination.secretName)).value, url);
    assert.is((await kickOff(app, `https://127.0.0.2:10000/devstoreaccount1/exports?${sas}`)).statusCode, 400, 'only the named host');
    assert.is((await kickOff(app, `https://127.0.0.1:10001/devstoreaccount1/exports?${sas}`)).statusCode, 400, 'only the named port');
    assert.is((await kickOff(app, `https://127.0.0.1/devstoreaccount1/exports?${sas}`)).statusCode, 400, 'not the default port either');
  } finally {
    await app.close();
  }
});

test('when the engine refuses the job (429), the destination secret is deleted again', async () => {
  const { app } = await appWith(new MemoryExportJobs({ maxActive: 0, retryAfterSeconds: 9 }));
  const before = new Set(Object.keys(vault.stats().bySecret));
  try {
    const response = await kickOff(app, publicUrl);
    assert.is(response.statusCode, 429);
    assert.is(response.headers['retry-after'], '9');
  } finally {
    await app.close();
  }
  const created = Object.entries(vault.stats().bySecret).filter(([name]) => !before.has(name) && name.startsWith('export-destination-'));
  assert.is(created.length, 1);
  const [name, counts] = created[0]!;
  assert.equal([counts.setSecret?.succeeded, counts.deleteSecret?.succeeded], [1, 1]);
  try {
    await reader.getSecret(name);
    assert.unreachable('the secret should be gone');
  } catch (err) {
    assert.is((err as { statusCode?: number }).statusCode, 404);
  }
});

test('Key Vault down: 503 with Retry-After, nothing about the URL in the answer or the log', async () => {
  const { app, jobs } = await appWith();
  const started = jobs.started.length;
  vault.setFault({ status: 503, retryAfterSeconds: 0 });
  try {
    const response = await kickOff(app, publicUrl);
    assert.is(response.statusCode, 503, response.body);
    assert.is(response.headers['retry-after'], '30');
    assert.is(issue(response).code, 'transient');
    assert.not.match(response.body, /sig=|acct\.blob/);
  } finally {
    vault.clearFault();
    await app.close();
  }
  assert.is(jobs.started.length, started);
  assert.equal(logLines.filter((line) => line.includes(signature)), []);
});

test('without a Key Vault, client destinations are refused as not supported', async () => {
  const { app } = await exportApp({ destinations: { hostPolicy: { lookup } } });
  try {
    const response = await kickOff(app, publicUrl);
    assert.equal([response.statusCode, issue(response).code, issue(response).expression], [400, 'not-supported', ['_destination']]);
  } finally {
    await app.close();
  }
});

test.run();
