/**
 * Access taken away in the middle of an export: the account's managed identity
 * disabled in Entra ID (default destination), or the stored access policy behind
 * a client's SAS removed (client destination, Blob Storage answers 403). The job
 * fails with an OperationOutcome naming the cause and carrying no secret; the
 * failed job lists no file, serves none, and a client destination's Key Vault
 * secret is deleted.
 */
import { ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { blobSasVersion, createBlobServiceClient } from '../../common/blob.ts';
import { loud } from '../support/hooks.ts';
import { https, type HttpResponse } from '../support/https.ts';
import { kickoff, pollToEnd } from './support/export-checks.ts';
import { seedObservations, startExportMesh, type ExportMesh } from './support/export-mesh.ts';
import { startServerProcess, type ServerProcess } from './support/export-process.ts';

const tokenLifetimeSeconds = 12;
let mesh: ExportMesh;
let server: ServerProcess;

test.before(loud('before', async () => {
  mesh = await startExportMesh('revoke', { FHIR_EXPORT_MAXIMUM_NUMBER_OF_RESOURCES_PER_QUERY: '20', FHIR_EXPORT_NUMBER_OF_PAGES_PER_COMMIT: '2' }, { tokenLifetimeSeconds });
  await seedObservations(mesh.store, 600);
  server = await startServerProcess(mesh.env, { pageDelayMs: 40, exportOptions: { blockSizeBytes: 4 * 1024, rollingFileSizeBytes: 8 * 1024 } });
}));
test.after(async () => {
  server?.child.kill('SIGKILL');
  await mesh?.stop();
});

/** Waits until the running export at the server parks after a checkpoint (files already committed). */
async function parkAfterCheckpoint(jobId: string): Promise<void> {
  await server.waitFor(new RegExp(`^checkpoint ${jobId} `));
  const from = server.lines.length;
  server.send('hold');
  await server.waitFor(new RegExp(`^held ${jobId} `), { from });
}

/** Asserts a failed job's answer: `status`, issue `code`, diagnostics matching `cause`, no secret, no files. */
async function assertFailedCleanly(end: HttpResponse, jobId: string, token: string, status: number, code: string, cause: RegExp, secrets: string[]): Promise<string> {
  assert.is(end.status, status, end.body.slice(0, 400));
  const outcome = JSON.parse(end.body) as { resourceType: string; issue: { code: string; diagnostics: string }[] };
  assert.is(outcome.resourceType, 'OperationOutcome');
  assert.is(outcome.issue[0]!.code, code);
  assert.match(outcome.issue[0]!.diagnostics, cause);
  assert.not.match(end.body, /eyJ[\w-]+\.|sig=|se=|"output"|ndjson/);
  for (const secret of secrets) assert.not.ok(end.body.includes(secret), 'no secret in the outcome');
  const record = (await mesh.jobs.read(jobId))!;
  assert.is(record.status, 'failed');
  assert.ok(record.output.length >= 1, 'files had been committed before the access went away');
  for (const secret of secrets) assert.not.ok(JSON.stringify(record).includes(secret), 'no secret in the job record');
  const file = await https(`${server.baseUrl}/_export/${jobId}/files/${record.output[0]!.fileName}`, { ca: mesh.ca, token });
  assert.is(file.status, 404, 'a failed job serves none of its files');
  return outcome.issue[0]!.diagnostics;
}

test("the account's identity disabled in Entra ID mid-export: the job fails 403 naming the identity", async () => {
  const token = await mesh.bearer();
  const started = await kickoff(server.baseUrl, '/$export?_type=Observation', mesh.ca, token);
  assert.is(started.status, 202, started.body);
  const statusUrl = String(started.headers['content-location']);
  const jobId = statusUrl.split('/').pop()!;
  await parkAfterCheckpoint(jobId);
  mesh.routing.standIns.entra.updateApplication(mesh.account.clientId, { disabled: true });
  // Tokens issued before the change stay valid until they expire, in Azure as here.
  await sleep((tokenLifetimeSeconds + 2) * 1000);
  server.send('release');
  const end = await pollToEnd(statusUrl, mesh.ca, token, { limitMs: 60_000 });
  const diagnostics = await assertFailedCleanly(end, jobId, token, 403, 'forbidden', /identity got no storage token.*(FAILED_PRECONDITION|disabled|rejected)/i, [mesh.account.refreshToken]);
  process.stdout.write(`OBSERVED identity revoked: ${diagnostics}\n`);
  mesh.routing.standIns.entra.updateApplication(mesh.account.clientId, { disabled: false });
});

test("the client's SAS revoked mid-export (stored access policy removed): Blob Storage 403 fails the job, and its secret is deleted", async () => {
  const { blob, keyVault, tls } = mesh.routing.standIns;
  const shared = new StorageSharedKeyCredential(blob.accountName, blob.accountKey);
  const container = createBlobServiceClient({ url: blob.blobUrl, credential: shared, caPem: tls.caPem }).getContainerClient('client-revoked');
  await container.createIfNotExists();
  const policy = { id: 'export-write', accessPolicy: { permissions: ContainerSASPermissions.parse('racwl').toString(), startsOn: new Date(Date.now() - 60_000), expiresOn: new Date(Date.now() + 3_600_000) } };
  await container.setAccessPolicy(undefined, [policy]);
  const sas = generateBlobSASQueryParameters({ containerName: 'client-revoked', identifier: 'export-write', version: blobSasVersion }, shared).toString();
  const signature = new URLSearchParams(sas).get('sig')!;
  const token = await mesh.bearer();
  keyVault.resetStats();
  const started = await https(`${server.baseUrl}/$export`, {
    method: 'POST', ca: mesh.ca, token, headers: { prefer: 'respond-async' },
    body: { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Observation' }, { name: '_destination', valueUrl: `${container.url}?${sas}` }] },
  });
  assert.is(started.status, 202, started.body);
  const statusUrl = String(started.headers['content-location']);
  const jobId = statusUrl.split('/').pop()!;
  await parkAfterCheckpoint(jobId);
  await container.setAccessPolicy(undefined, []);
  server.send('release');
  const end = await pollToEnd(statusUrl, mesh.ca, token, { limitMs: 60_000 });
  const diagnostics = await assertFailedCleanly(end, jobId, token, 403, 'forbidden', /Blob Storage refused the export \(403/, [signature, encodeURIComponent(signature)]);
  process.stdout.write(`OBSERVED SAS revoked: ${diagnostics}\n`);
  for (let i = 0; i < 50 && (keyVault.stats().byOperation.deleteSecret?.succeeded ?? 0) === 0; i++) await sleep(100);
  assert.ok((keyVault.stats().byOperation.deleteSecret?.succeeded ?? 0) >= 1, "the destination's Key Vault secret was deleted");
});

test.run();
