/**
 * Destinations: a client's container SAS URL kept in Key Vault is read by name,
 * written to anonymously with the SAS, and the secret is deleted when the job
 * ends; a destination that refuses the export's identity (a token for the wrong
 * audience: Azurite's 403), or an identity that gets no token at all, fails the
 * job with a clear failure and no output.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { SecretClient } from '@azure/keyvault-secrets';
import { ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { trustCa } from '../../common/azure-tls.ts';
import { blobSasVersion } from '../../common/blob.ts';
import { loud } from '../support/hooks.ts';
import { caller, exactlyOnce, exportRequest, it, linesOf, startExportFixture, storeJson, waitForEnd, type ExportFixture } from './support/fixture.ts';

let fx: ExportFixture;
let vaultApp: { appId: string; credential: TokenCredential };
let secrets: SecretClient;

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    await fx.store.bulkUpsert(Array.from({ length: 150 }, (_, i) => ({ resourceType: 'Observation', id: `o-${i}`, status: 'final', code: { text: `n${i}` } })));
    await fx.store.bulkUpsert(Array.from({ length: 10 }, (_, i) => ({ resourceType: 'Patient', id: `p-${i}` })));
    vaultApp = fx.credentialFor();
    fx.standIns.keyVault.grant(vaultApp.appId, ['get', 'list', 'delete', 'purge']);
    secrets = new SecretClient(fx.standIns.keyVault.url, vaultApp.credential, { disableChallengeResourceVerification: true, additionalPolicies: trustCa(fx.standIns.tls.caPem) });
  }),
);
test.after(async () => {
  await fx?.stop();
});

/** A container SAS URL signed with the account key (as a client would hand one over). */
async function containerSasUrl(container: string): Promise<string> {
  const { blob } = fx.standIns;
  await fx.blobs.getContainerClient(container).createIfNotExists();
  const sas = generateBlobSASQueryParameters(
    { containerName: container, permissions: ContainerSASPermissions.parse('racwl'), startsOn: new Date(Date.now() - 60_000), expiresOn: new Date(Date.now() + 3_600_000), version: blobSasVersion },
    new StorageSharedKeyCredential(blob.accountName, blob.accountKey),
  ).toString();
  return `${blob.blobUrl}/${container}?${sas}`;
}

async function secretExists(name: string): Promise<boolean> {
  try {
    await secrets.getSecret(name);
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw new Error(`getSecret: ${(error as { statusCode?: number }).statusCode}`);
  }
}

/** A credential that asks for tokens of another resource than the one it is asked for. */
function wrongAudience(inner: TokenCredential): TokenCredential {
  return { getToken: (_scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> => inner.getToken('https://vault.azure.net/.default', options) };
}

it('a client destination from Key Vault is written with its SAS, and its secret is deleted when the job ends', async () => {
  const url = await containerSasUrl('client-box');
  fx.standIns.keyVault.putSecret('dest-1', url, { contentType: 'text/uri-list' });
  const engine = await fx.engine({}, { keyVault: { vaultUrl: fx.standIns.keyVault.url, credential: vaultApp.credential } });
  const request = exportRequest({ types: ['Observation', 'Patient'], destination: { kind: 'client', secretName: 'dest-1' } });
  const { id } = await engine.start(request, caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  assert.equal(view.request.destination, { kind: 'client', secretName: 'dest-1' });
  exactlyOnce(await linesOf(fx.blobs, 'client-box', view, 'Observation'), await storeJson(fx.store, 'Observation'), 'Observation');
  exactlyOnce(await linesOf(fx.blobs, 'client-box', view, 'Patient'), await storeJson(fx.store, 'Patient'), 'Patient');
  const record = (await fx.jobsOf(engine).read(id))!;
  assert.not.ok(JSON.stringify(record).includes('sig='), 'the stored job holds no SAS');
  for (let i = 0; i < 100 && !(await fx.jobsOf(engine).read(id))!.destinationReleased; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok((await fx.jobsOf(engine).read(id))!.destinationReleased);
  assert.is(await secretExists('dest-1'), false);
  assert.is(await engine.openFile(id, 'Patient-1.ndjson', caller), undefined, 'files of a client destination are read from its own storage');
});

it('a cancelled or failed job deletes its client destination secret too', async () => {
  fx.standIns.keyVault.putSecret('dest-2', await containerSasUrl('client-box-2'), { contentType: 'text/uri-list' });
  const engine = await fx.engine({}, { keyVault: { vaultUrl: fx.standIns.keyVault.url, credential: vaultApp.credential }, startWorkers: false });
  const { id } = await engine.start(exportRequest({ destination: { kind: 'client', secretName: 'dest-2' } }), caller);
  await engine.cancel(id, caller);
  assert.is(await secretExists('dest-2'), false);
  fx.standIns.keyVault.putSecret('dest-3', 'not a url', { contentType: 'text/uri-list' });
  const bad = await fx.engine({}, { keyVault: { vaultUrl: fx.standIns.keyVault.url, credential: vaultApp.credential } });
  const failed = await waitForEnd(bad, (await bad.start(exportRequest({ destination: { kind: 'client', secretName: 'dest-3' } }), caller)).id);
  assert.is(failed.status, 'failed');
  assert.equal(failed.failure?.code, 'invalid');
  assert.not.match(failed.failure!.message, /not a url/);
  assert.is(await secretExists('dest-3'), false);
});

it('a Key Vault outage longer than its client retries is retried from the checkpoint and the job completes', async () => {
  fx.standIns.keyVault.putSecret('dest-4', await containerSasUrl('client-box-4'), { contentType: 'text/uri-list' });
  const engine = await fx.engine({}, { keyVault: { vaultUrl: fx.standIns.keyVault.url, credential: vaultApp.credential }, startWorkers: false });
  const { id } = await engine.start(exportRequest({ types: ['Patient'], destination: { kind: 'client', secretName: 'dest-4' } }), caller);
  fx.standIns.keyVault.setFault({ status: 503, count: 5 });
  engine.pool.start();
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  assert.ok((await fx.jobsOf(engine).read(id))!.restartCount >= 1, 'the outage cost a restart');
  exactlyOnce(await linesOf(fx.blobs, 'client-box-4', view, 'Patient'), await storeJson(fx.store, 'Patient'), 'Patient');
});

it('a storage refusal (a token for the wrong audience: 403) fails the job with a clear failure and no output', async () => {
  const { credential } = fx.credentialFor();
  const engine = await fx.engine({}, { credential: wrongAudience(credential) });
  const { id } = await engine.start(exportRequest({ types: ['Observation'], destination: { kind: 'default', container: 'refused' } }), caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'failed');
  assert.equal({ code: view.failure?.code, httpStatus: view.failure?.httpStatus }, { code: 'forbidden', httpStatus: 403 });
  assert.match(view.failure!.message, /Blob Storage refused the export \(403/);
  assert.not.match(view.failure!.message, /eyJ/);
  assert.equal(view.output, []);
  assert.equal((await fx.jobsOf(engine).read(id))!.restartCount, 0, 'a refusal is not retried');
});

it('an identity that gets no token (its app disabled) fails the job without retries and with no output', async () => {
  const app = fx.credentialFor();
  fx.standIns.entra.updateApplication(app.appId, { disabled: true });
  const engine = await fx.engine({}, { credential: app.credential });
  const { id } = await engine.start(exportRequest({ types: ['Observation'], destination: { kind: 'default', container: 'revoked' } }), caller);
  const view = await waitForEnd(engine, id);
  assert.is(view.status, 'failed');
  assert.equal({ code: view.failure?.code, httpStatus: view.failure?.httpStatus }, { code: 'forbidden', httpStatus: 403 });
  assert.match(view.failure!.message, /got no storage token/);
  assert.equal(view.output, []);
});

test.run();
