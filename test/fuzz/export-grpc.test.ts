/**
 * Bad input at the fhir-server's gRPC ExportService: random, boundary, huge
 * and unicode kick-off fields (levels, types, filters, instants, destinations),
 * random job ids, random credentials and random bytes as the raw message. The
 * service never answers INTERNAL or UNKNOWN, answers the status the input
 * deserves, and still serves a good request afterwards.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Metadata, status } from '@grpc/grpc-js';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { ExportServiceClient, type StartExportRequest } from '../../gen/fhirmesh/fhir/v1/export_service.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { anyInt, anyString, codeOf, expectCode, metadataValue, RawClient, runs, Tally, assertProperty } from './support/fuzz.ts';

const RUNS = runs(300);
const { OK, INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, NOT_FOUND, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, UNAVAILABLE } = status;
let mesh: MeshSetup;
let client: ExportServiceClient;
let raw: RawClient;
let token: string;
const tally = new Tally();

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'fuzz-export', fhirEnv: { FHIR_EXPORT_ALLOWED_DESTINATION_HOSTS: '' } });
  const channel = tlsChannelCredentials(mesh.routing.standIns.tls.caPem);
  client = new ExportServiceClient(mesh.fhir.grpcAddress, channel);
  raw = new RawClient(mesh.fhir.grpcAddress, channel);
  token = await mesh.bearer(['Fhir.Export']);
}));
test.after(async () => {
  client?.close();
  raw?.close();
  await mesh?.stop();
});

/** Mostly `valid`, sometimes anything. */
const mostly = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: other, weight: 1 });
const typeName = mostly(fc.constantFrom('Patient', 'Observation', 'Group', 'Encounter'), fc.oneof(fc.constantFrom('patient', 'Binary', 'OperationOutcome', 'Foo'), anyString));
const instant = mostly(fc.constant(undefined), fc.date({ min: new Date(-62_135_596_800_000), max: new Date(253_402_300_799_000), noInvalidDate: true }));
const destination = mostly(fc.constant(undefined), 
  fc.oneof(
    fc.record({ $case: fc.constant('defaultStorage' as const), value: fc.record({ container: fc.oneof(fc.constantFrom('fhir-export', 'abc', 'a--b', '../x'), anyString) }) }),
    fc.record({ $case: fc.constant('containerSas' as const), value: fc.record({ containerSasUrl: fc.oneof(anyString, fc.webUrl().map((u) => `${u}/exports?sv=1&sr=c&sig=abc`)) }) }),
  ).map((kind) => ({ kind })),
);
const startRequest: fc.Arbitrary<StartExportRequest> = fc.record({
  level: mostly(fc.constantFrom(1, 2), fc.oneof(fc.constantFrom(0, 3), anyInt)),
  groupId: mostly(fc.constant(''), fc.oneof(fc.constant('g1'), anyString)),
  outputFormat: mostly(fc.constantFrom('', 'application/fhir+ndjson', 'ndjson'), fc.oneof(fc.constant('text/csv'), anyString)),
  since: instant,
  until: instant,
  types: fc.array(typeName, { maxLength: 5 }),
  typeFilters: mostly(fc.constant([]), fc.array(fc.oneof(fc.constantFrom('Observation?status=final', 'Patient?', '?x=1', 'Patient?_id=1&_id=2'), anyString), { maxLength: 3 })),
  elements: mostly(fc.constant([]), fc.array(fc.oneof(fc.constantFrom('id', 'Patient.name', 'meta', '.'), anyString), { maxLength: 3 })),
  patients: mostly(fc.constant([]), fc.array(fc.oneof(fc.constantFrom('Patient/1', 'Group/1', 'Patient/'), anyString), { maxLength: 3 })),
  includeAssociatedData: mostly(fc.constant([]), fc.array(fc.oneof(fc.constantFrom('LatestProvenanceResources', '_custom'), anyString), { maxLength: 2 })),
  handling: mostly(fc.constantFrom(0, 1, 2), anyInt),
  destination,
  requestUrl: mostly(fc.constant(''), anyString),
});

test('StartExport: any field values are OK, INVALID_ARGUMENT, NOT_FOUND or RESOURCE_EXHAUSTED (never INTERNAL)', async () => {
  await assertProperty(
    fc.asyncProperty(startRequest, async (request) => {
      const got = await codeOf(unaryCall(client.startExport, client, request, bearerMetadata(token)));
      tally.add('StartExport', got.code);
      const sas = request.destination?.kind?.$case === 'containerSas';
      expectCode('StartExport', got, [OK, INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, ...(sas ? [UNAVAILABLE] : [])], request);
    }),
    RUNS,
  );
  tally.print('StartExport');
});

test('GetExport and CancelExport: any job id is NOT_FOUND (or answers the caller\'s own job)', async () => {
  await assertProperty(
    fc.asyncProperty(anyString, fc.boolean(), async (jobId, cancel) => {
      const got = await codeOf(cancel ? unaryCall(client.cancelExport, client, { jobId }, bearerMetadata(token)) : unaryCall(client.getExport, client, { jobId }, bearerMetadata(token)));
      tally.add('GetExport/CancelExport', got.code);
      expectCode(cancel ? 'CancelExport' : 'GetExport', got, jobId.length > 1_000_000 ? [RESOURCE_EXHAUSTED, NOT_FOUND] : [NOT_FOUND, FAILED_PRECONDITION], { jobId });
    }),
    RUNS,
  );
  tally.print('GetExport/CancelExport');
});

test('ExportService: any bad credential is UNAUTHENTICATED', async () => {
  await assertProperty(
    fc.asyncProperty(metadataValue, async (value) => {
      const md = new Metadata();
      md.set('authorization', value);
      const got = await codeOf(unaryCall(client.getExport, client, { jobId: 'x' }, md));
      tally.add('ExportService bad credentials', got.code);
      expectCode('GetExport', got, [UNAUTHENTICATED], { value });
    }),
    Math.ceil(RUNS / 2),
  );
  tally.print('ExportService bad credentials');
});

test('random bytes as the raw message of every ExportService method: never INTERNAL or UNKNOWN', async () => {
  const paths = ['StartExport', 'GetExport', 'CancelExport'].map((m) => `/fhirmesh.fhir.v1.ExportService/${m}`);
  const bytes = fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 8 },
    { arbitrary: fc.constantFrom(new Uint8Array(0), new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), new Uint8Array([0xff]), new Uint8Array(5 * 1024 * 1024).fill(0x41)), weight: 1 },
  );
  await assertProperty(
    fc.asyncProperty(fc.constantFrom(...paths), bytes, fc.boolean(), async (path, message, authenticated) => {
      const got = await codeOf(raw.call(path, message, authenticated ? bearerMetadata(token) : new Metadata()));
      tally.add('ExportService raw bytes', got.code);
      expectCode(path, got, [OK, INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, RESOURCE_EXHAUSTED, FAILED_PRECONDITION], { path, message });
    }),
    RUNS,
  );
  tally.print('ExportService raw bytes');
});

test('after all of it, a good request is still served', async () => {
  const got = await codeOf(unaryCall(client.getExport, client, { jobId: 'no-such-job' }, bearerMetadata(token)));
  assert.is(got.code, NOT_FOUND, got.details);
  assert.is((await https(`${mesh.fhir.baseUrl}/health`, { ca: mesh.routing.standIns.tls.caPem })).status, 200);
});

test.run();
