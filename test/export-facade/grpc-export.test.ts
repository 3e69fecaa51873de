/**
 * `fhirmesh.fhir.v1.ExportService` through a real grpc-js server and client
 * over TLS (local CA), bearer tokens signed by the Entra stand-in and checked
 * by the real verifier; the same validation and jobs as the REST door.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Metadata, Server, status } from '@grpc/grpc-js';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createEntraTokenVerifier } from '../../common/auth/entra-token-verifier.ts';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { serverCredentials } from '../../common/grpc/server-tls.ts';
import { ensureLocalTls, type LocalTls } from '../../dev/certs.ts';
import { startEntra, type EntraStandIn } from '../../dev/entra/index.ts';
import {
  ExportJobState,
  ExportLevel,
  ExportServiceClient,
  Handling,
  StartExportRequest,
} from '../../gen/fhirmesh/fhir/v1/export_service.ts';
import { ExportFrontDoor } from '../../fhir-server/export/facade/front-door.ts';
import { exportService, exportServiceDefinition } from '../../fhir-server/export/facade/grpc-service.ts';
import { facadeOptions } from '../../fhir-server/export/facade/options.ts';
import { expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { MemoryExportJobs } from './support/memory-jobs.ts';

const audience = 'api://fhirmesh-fhir';
let tls: LocalTls;
let entra: EntraStandIn;
let server: Server;
let client: ExportServiceClient;
const jobs = new MemoryExportJobs({ maxActive: 4, retryAfterSeconds: 7 });
const tokens: Record<'alice' | 'bob' | 'reader' | 'stranger', string> = {} as never;

test.before(
  loud('before', async () => {
    tls = await ensureLocalTls();
    entra = await startEntra({ tls });
    const verify = createEntraTokenVerifier({ jwksUri: entra.jwksUri, issuers: [entra.issuer()], audiences: [audience], caPem: tls.caPem });
    const now = Math.floor(Date.now() / 1000);
    const claims = (oid: string, roles: string[]) => ({ aud: audience, iss: entra.issuer(), iat: now, nbf: now, exp: now + 3600, oid, tid: entra.tenantId, roles });
    tokens.alice = await entra.signAccessToken(claims('alice-oid', ['Fhir.Export']));
    tokens.bob = await entra.signAccessToken(claims('bob-oid', ['Fhir.Export']));
    tokens.reader = await entra.signAccessToken(claims('reader-oid', ['Fhir.Read']));
    tokens.stranger = await entra.signAccessToken({ ...claims('x', ['Fhir.Export']), aud: 'api://someone-else' });
    const frontDoor = new ExportFrontDoor({ jobs, options: facadeOptions() });
    server = new Server();
    server.addService(exportServiceDefinition, exportService({ frontDoor, verify, requiredPermission: 'Fhir.Export', baseUrl: 'https://fhir.test' }));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', serverCredentials({ certPem: tls.certPem, keyPem: tls.keyPem }), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    client = new ExportServiceClient(`localhost:${port}`, tlsChannelCredentials(tls.caPem));
  }),
);
test.after(async () => {
  client?.close();
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
  await entra?.stop();
});

const as = (who: keyof typeof tokens) => bearerMetadata(tokens[who]);
const start = (request: Partial<StartExportRequest>, who: keyof typeof tokens = 'alice') => unaryCall(client.startExport, client, StartExportRequest.fromPartial(request), as(who));
const getJob = (jobId: string, who: keyof typeof tokens = 'alice') => unaryCall(client.getExport, client, { jobId }, as(who));
const cancel = (jobId: string, who: keyof typeof tokens = 'alice') => unaryCall(client.cancelExport, client, { jobId }, as(who));

test('StartExport at the three levels queues jobs with the same request the REST door would build', async () => {
  const system = await start({ types: ['Patient', 'Observation'], since: new Date('2024-01-01T00:00:00Z'), outputFormat: 'ndjson' });
  assert.is(system.job!.state, ExportJobState.EXPORT_JOB_STATE_QUEUED);
  assert.is(system.job!.requestUrl, 'https://fhir.test/$export');
  const patient = await start({ level: ExportLevel.EXPORT_LEVEL_PATIENT, patients: ['Patient/1'], typeFilters: ['Observation?status=final'] });
  const group = await start({ level: ExportLevel.EXPORT_LEVEL_GROUP, groupId: 'g1', destination: { kind: { $case: 'defaultStorage', value: { container: 'team-a' } } }, requestUrl: 'https://fhir.test/Group/g1/$export?_type=Patient' });
  const [s, p, g] = jobs.started.slice(-3);
  assert.equal([s!.level, s!.types, s!.since, s!.destination], ['system', ['Patient', 'Observation'], '2024-01-01T00:00:00.000Z', { kind: 'default', container: 'fhir-export' }]);
  assert.equal([p!.level, p!.patients, p!.typeFilters, p!.requestUrl], ['patient', ['Patient/1'], ['Observation?status=final'], 'https://fhir.test/Patient/$export']);
  assert.equal([g!.level, g!.groupId, g!.destination, g!.requestUrl], ['group', 'g1', { kind: 'default', container: 'team-a' }, 'https://fhir.test/Group/g1/$export?_type=Patient']);
  for (const r of [patient, group]) await cancel(r.job!.jobId);
  await cancel(system.job!.jobId);
});

test('malformed fields are INVALID_ARGUMENT naming the parameter; lenient handling notes what strict refuses', async () => {
  const cases: [Partial<StartExportRequest>, RegExp][] = [
    [{ types: ['patient'] }, /^_type /],
    [{ types: ['Patient,,Observation'] }, /^_type /],
    [{ since: new Date(Date.now() + 3_600_000) }, /^_since .*future/],
    [{ since: new Date('2024-02-01T00:00:00Z'), until: new Date('2024-01-01T00:00:00Z') }, /^_until /],
    [{ outputFormat: 'text/csv' }, /^_outputFormat /],
    [{ typeFilters: ['Observation'] }, /^_typeFilter /],
    [{ elements: ['Patient.name.given'] }, /^_elements /],
    [{ patients: ['Patient/1'] }, /^patient .*system-level/],
    [{ level: ExportLevel.EXPORT_LEVEL_PATIENT, patients: ['Practitioner/1'] }, /^patient /],
    [{ destination: { kind: { $case: 'defaultStorage', value: { container: '../etc' } } } }, /^_container /],
    [{ destination: { kind: { $case: 'containerSas', value: { containerSasUrl: 'http://acct.blob.core.windows.net/c1?sig=x' } } } }, /^_destination .*https/],
    [{ level: ExportLevel.EXPORT_LEVEL_GROUP, groupId: 'bad id' }, /^Group id /],
    [{ groupId: 'g1' }, /group_id/],
    [{ requestUrl: 'ftp://x' }, /request_url/],
    // The manifest's `request` is this server's kick-off URL, never another origin or operation the client names.
    [{ requestUrl: 'https://attacker.example/$export' }, /^request_url must be this server's kick-off URL https:\/\/fhir\.test\/\$export/],
    [{ requestUrl: 'http://fhir.test/$export' }, /^request_url /],
    [{ requestUrl: 'https://fhir.test:444/$export' }, /^request_url /],
    [{ requestUrl: 'https://user:pw@fhir.test/$export' }, /^request_url /],
    [{ requestUrl: 'https://fhir.test/Patient/$export' }, /^request_url /],
    [{ requestUrl: 'https://fhir.test/$export#x' }, /^request_url /],
    [{ level: ExportLevel.EXPORT_LEVEL_GROUP, groupId: 'g1', requestUrl: 'https://fhir.test/Group/g2/$export' }, /^request_url /],
    [{ types: ['Foo'] }, /Foo/],
  ];
  for (const [request, message] of cases) await expectStatus(start(request), status.INVALID_ARGUMENT, message);
  const lenient = await start({ types: ['Patient', 'Foo'], handling: Handling.HANDLING_LENIENT });
  assert.equal([jobs.started.at(-1)!.types, jobs.started.at(-1)!.notes.length], [['Patient'], 1]);
  await cancel(lenient.job!.jobId);
  await expectStatus(start({ destination: { kind: { $case: 'containerSas', value: { containerSasUrl: 'https://acct.blob.core.windows.net/exports?sig=x' } } } }), status.INVALID_ARGUMENT, /no Key Vault/);
});

test('GetExport reports progress, then the manifest files with links; failures come back as data', async () => {
  const id = (await start({ types: ['Patient'] })).job!.jobId;
  jobs.run(id, 12000, 26000);
  const running = (await getJob(id)).job!;
  assert.equal([running.state, running.progress], [ExportJobState.EXPORT_JOB_STATE_RUNNING, { resourcesExported: 12000, resourcesTotal: 26000, percent: 46 }]);
  jobs.complete(id, { output: [{ type: 'Patient', fileName: 'Patient-1.ndjson', lines: ['{"resourceType":"Patient","id":"p1"}'] }] });
  const done = (await getJob(id)).job!;
  assert.is(done.state, ExportJobState.EXPORT_JOB_STATE_COMPLETED);
  assert.is(done.requiresAccessToken, true);
  assert.equal(done.output, [{ type: 'Patient', url: `https://fhir.test/_export/${id}/files/Patient-1.ndjson`, count: 1, sizeBytes: 37 }]);
  assert.equal([done.error, done.deleted, done.progress!.percent], [[], [], 100]);
  assert.ok(done.transactionTime instanceof Date && done.expireTime instanceof Date);
  const failing = (await start({})).job!.jobId;
  jobs.fail(failing, { code: 'forbidden', message: 'storage refused the identity', httpStatus: 403 });
  const failed = (await getJob(failing)).job!;
  assert.equal([failed.state, failed.failure], [ExportJobState.EXPORT_JOB_STATE_FAILED, { code: 'forbidden', message: 'storage refused the identity', httpStatus: 403 }]);
});

test("CancelExport, then NOT_FOUND; another caller's job is NOT_FOUND everywhere", async () => {
  const id = (await start({})).job!.jobId;
  await expectStatus(getJob(id, 'bob'), status.NOT_FOUND);
  await expectStatus(cancel(id, 'bob'), status.NOT_FOUND);
  assert.is((await cancel(id)).job!.state, ExportJobState.EXPORT_JOB_STATE_CANCELLED);
  await expectStatus(getJob(id), status.NOT_FOUND, /No export job/);
  await expectStatus(cancel(id), status.NOT_FOUND);
  await expectStatus(getJob('no/such/id'), status.NOT_FOUND);
});

test('RESOURCE_EXHAUSTED past the job limit, with retry-after-ms', async () => {
  const ids: string[] = [];
  let refused;
  for (let i = 0; i < 6 && !refused; i++) {
    try {
      ids.push((await start({})).job!.jobId);
    } catch (err) {
      refused = err as { code: number; metadata: Metadata };
    }
  }
  assert.ok(refused, 'the limit was reached');
  assert.is(refused!.code, status.RESOURCE_EXHAUSTED);
  assert.equal(refused!.metadata.get('retry-after-ms'), ['7000']);
  for (const id of ids) await cancel(id);
});

test('no token or a bad token is UNAUTHENTICATED; a token without the export role is PERMISSION_DENIED', async () => {
  await expectStatus(unaryCall(client.startExport, client, StartExportRequest.fromPartial({}), new Metadata()), status.UNAUTHENTICATED, /bearer token is required/);
  const basic = new Metadata();
  basic.set('authorization', 'Basic abc');
  await expectStatus(unaryCall(client.getExport, client, { jobId: 'x' }, basic), status.UNAUTHENTICATED, /Bearer/);
  await expectStatus(getJob('x', 'stranger'), status.UNAUTHENTICATED, /aud/);
  await expectStatus(unaryCall(client.getExport, client, { jobId: 'x' }, bearerMetadata('not.a.jwt')), status.UNAUTHENTICATED);
  await expectStatus(start({}, 'reader'), status.PERMISSION_DENIED, /Fhir\.Export/);
});

test('signing keys out of reach: UNAVAILABLE with retry-after, not UNAUTHENTICATED (the caller is not at fault)', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port: deadPort } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const verify = createEntraTokenVerifier({ jwksUri: `https://127.0.0.1:${deadPort}/keys`, issuers: [entra.issuer()], audiences: [audience], caPem: tls.caPem });
  const down = new Server();
  down.addService(exportServiceDefinition, exportService({ frontDoor: new ExportFrontDoor({ jobs, options: facadeOptions() }), verify, requiredPermission: 'Fhir.Export', baseUrl: 'https://fhir.test' }));
  const port = await new Promise<number>((resolve, reject) =>
    down.bindAsync('127.0.0.1:0', serverCredentials({ certPem: tls.certPem, keyPem: tls.keyPem }), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const downClient = new ExportServiceClient(`localhost:${port}`, tlsChannelCredentials(tls.caPem));
  try {
    const err = await expectStatus(unaryCall(downClient.getExport, downClient, { jobId: 'any' }, as('alice')), status.UNAVAILABLE, /signing keys cannot be fetched/);
    assert.is(err.metadata.get('retry-after-ms')[0], '5000', 'tells the caller when to retry');
    // A malformed token is still the caller's fault: refused before any key is needed.
    await expectStatus(unaryCall(downClient.getExport, downClient, { jobId: 'any' }, bearerMetadata('garbage')), status.UNAUTHENTICATED);
  } finally {
    downClient.close();
    await new Promise<void>((resolve) => down.tryShutdown(() => resolve()));
  }
});

test.run();
