/**
 * Bad input at every REST route of a running fhir-server (through its fastify
 * app, with a valid token of every role): FHIR create/read/update/delete,
 * batch/transaction, `$export` kick-off (GET and POST), status, download,
 * cancel, `/_admin`, and unknown paths — random paths, parameters, headers,
 * content types and bodies (random JSON, invalid JSON, huge bodies). The
 * server never answers 5xx, every error is an OperationOutcome, and the status
 * class fits (401 only without a valid token).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { loud } from '../support/hooks.ts';
import { anyString, metadataValue, nastyStrings, runs, Tally, assertProperty } from './support/fuzz.ts';

/** Percent-encodes any string (lone surrogates become U+FFFD first, as a client's UTF-8 encoder would). */
const enc = (text: string) => encodeURIComponent(Buffer.from(text, 'utf8').toString('utf8'));

const RUNS = runs(300);
let mesh: MeshSetup;
let token: string;
const tally = new Tally();
const HUGE_BODY = JSON.stringify({ resourceType: 'Patient', id: 'huge', text: { div: 'x'.repeat(11 * 1024 * 1024) } });

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'fuzz-rest', fhirEnv: { FHIR_EXPORT_ALLOWED_DESTINATION_HOSTS: '' } });
  token = await mesh.bearer();
}));
test.after(async () => mesh?.stop());

/** A path segment: valid, random, encoded or hostile. */
const segment = fc.oneof(
  { arbitrary: fc.constantFrom('Patient', 'Observation', 'Group', 'Bundle', 'metadata', '$export', '_export', '_admin', 'configuration', 'files', 'p1', 'Patient-1.ndjson', '_history', '%2e%2e', '..', '.', '%00', '%', '%ZZ'), weight: 3 },
  { arbitrary: fc.webSegment(), weight: 2 },
  { arbitrary: anyString.map((s) => enc(s.slice(0, 300))), weight: 2 },
);
const path = fc.array(segment, { minLength: 0, maxLength: 5 }).map((parts) => `/${parts.join('/')}`);
const query = fc.oneof(
  fc.constant(''),
  fc.array(fc.tuple(fc.oneof(fc.constantFrom('_type', '_since', '_until', '_outputFormat', '_typeFilter', '_elements', '_container', '_destination', 'patient', 'includeAssociatedData', 'organizeOutputBy', '_format', '_pretty'), anyString), anyString), { maxLength: 4 })
    .map((pairs) => `?${pairs.map(([k, v]) => `${enc(k)}=${enc(v.slice(0, 2000))}`).join('&')}`),
  fc.constantFrom('?', '?&&', '?_type', '?_type=Patient&_type=Patient', '?%zz=1', '?_since=2020-13-45', '?_outputFormat=text/csv', '?_container=..%2F..'),
);
const contentType = fc.option(fc.oneof(fc.constantFrom('application/fhir+json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/fhir+json; fhirVersion=9', ''), anyString.map((s) => s.replace(/[^\x20-\x7e]/g, ''))), { nil: undefined });
const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v));
const resourceJson = fc.record({ resourceType: fc.oneof(fc.constantFrom('Patient', 'Observation', 'Bundle', 'Parameters', 'Group'), anyString), id: fc.option(anyString, { nil: undefined }), meta: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }), extra: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }) }).map((v) => JSON.stringify(v));
const body = fc.option(
  fc.oneof(
    { arbitrary: json, weight: 3 },
    { arbitrary: resourceJson, weight: 3 },
    { arbitrary: fc.string({ maxLength: 200 }), weight: 2 },
    { arbitrary: fc.constantFrom('{', '{"resourceType":', '[1,2', '\u0000', '{"resourceType":"Patient","id":"a"}garbage', '{"__proto__":{"polluted":1},"resourceType":"Patient"}', '{"constructor":{"prototype":{"x":1}}}', HUGE_BODY, '['.repeat(10_000)), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')), weight: 1 },
  ),
  { nil: undefined },
);
const extraHeaders = fc.dictionary(
  fc.constantFrom('prefer', 'accept', 'if-match', 'if-none-exist', 'if-none-match', 'x-correlation-id', 'content-encoding', 'x-forwarded-host', 'x-forwarded-proto', 'host'),
  fc.oneof(fc.constantFrom('respond-async', 'handling=strict', 'handling=lenient', 'return=representation', 'W/"1"', '*', 'application/fhir+json', 'application/fhir+ndjson', 'gzip', 'evil.example'), metadataValue),
  { maxKeys: 3 },
);

type Outcome = { resourceType?: string; issue?: unknown[] };

/** Checks one response: no 5xx (503 only with Retry-After), errors are OperationOutcomes. */
function check(what: string, request: InjectOptions, res: { statusCode: number; body: string; headers: Record<string, unknown> }): void {
  const shown = () => `${what}: ${request.method} ${String(request.url).slice(0, 200)} ${JSON.stringify(request.headers ?? {}).slice(0, 300)} body ${String(request.payload ?? '').slice(0, 200)} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
  if (res.statusCode >= 500 && !(res.statusCode === 503 && res.headers['retry-after'])) throw new Error(`server error: ${shown()}`);
  if (res.statusCode >= 400 && request.method !== 'HEAD') {
    let parsed: Outcome | undefined;
    try {
      parsed = JSON.parse(res.body) as Outcome;
    } catch {
      throw new Error(`error body is not JSON: ${shown()}`);
    }
    if (parsed?.resourceType !== 'OperationOutcome' || !Array.isArray(parsed.issue) || parsed.issue.length === 0) throw new Error(`error body is not an OperationOutcome: ${shown()}`);
  }
}

async function send(what: string, request: InjectOptions, allowUnauthenticated = false): Promise<number> {
  const res = await mesh.fhir.app.inject(request);
  tally.add(what, `${Math.floor(res.statusCode / 100)}xx`);
  check(what, request, res);
  if (!allowUnauthenticated && res.statusCode === 401) throw new Error(`${what}: 401 with a valid token: ${request.method} ${String(request.url).slice(0, 200)} ${res.body.slice(0, 200)}`);
  return res.statusCode;
}

const methods = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') as fc.Arbitrary<InjectOptions['method']>;

test('any method, path, query, headers and body: never 5xx, errors are OperationOutcomes', async () => {
  await assertProperty(
    fc.asyncProperty(methods, path, query, contentType, body, extraHeaders, async (method, p, q, type, payload, headers) => {
      const request: InjectOptions = { method, url: `${p}${q}`, headers: { ...headers, authorization: `Bearer ${token}`, ...(type !== undefined ? { 'content-type': type } : {}) }, ...(payload !== undefined && method !== 'GET' && method !== 'HEAD' ? { payload } : {}) };
      await send('REST any route', request);
    }),
    RUNS,
  );
  tally.print('REST any route');
});

test('FHIR create/update/read/delete with random ids, bodies and content types: never 5xx, errors are OperationOutcomes', async () => {
  const id = fc.oneof(fc.constantFrom('p1', 'a'.repeat(64), 'a'.repeat(65), '-', '.', 'a.b', 'A-Za-z0-9'), anyString);
  await assertProperty(
    fc.asyncProperty(fc.constantFrom('create', 'update', 'read', 'delete'), fc.constantFrom('Patient', 'Observation', 'patient', 'Foo', 'Bundle'), id, contentType, body, extraHeaders, async (op, type, rid, ct, payload, headers) => {
      const url = `/${type}${op === 'create' ? '' : `/${enc(rid)}`}`;
      const method = { create: 'POST', update: 'PUT', read: 'GET', delete: 'DELETE' }[op] as InjectOptions['method'];
      await send('FHIR CRUD', { method, url, headers: { ...headers, authorization: `Bearer ${token}`, 'content-type': ct ?? 'application/fhir+json' }, ...(payload !== undefined && (op === 'create' || op === 'update') ? { payload } : {}) });
    }),
    RUNS,
  );
  tally.print('FHIR CRUD');
});

test('batch and transaction bundles with random entries: never 5xx, errors are OperationOutcomes', async () => {
  const entry = fc.record({
    fullUrl: fc.option(fc.oneof(fc.constantFrom('urn:uuid:1', 'urn:uuid:2', 'Patient/p1', 'http://x/Patient/1'), anyString), { nil: undefined }),
    resource: fc.option(fc.oneof(fc.record({ resourceType: fc.constantFrom('Patient', 'Observation', 'Bundle'), id: fc.option(anyString, { nil: undefined }), subject: fc.option(fc.record({ reference: fc.oneof(fc.constantFrom('urn:uuid:1', 'Patient/p1', 'Patient/'), anyString) }), { nil: undefined }) }), fc.jsonValue({ maxDepth: 2 })), { nil: undefined }),
    request: fc.option(fc.record({ method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), anyString), url: fc.oneof(fc.constantFrom('Patient', 'Patient/p1', 'Observation/o1', '/Patient', 'Patient?name=x', '../x', 'metadata', '$export'), anyString), ifMatch: fc.option(anyString, { nil: undefined }), ifNoneExist: fc.option(anyString, { nil: undefined }) }), { nil: undefined }),
  });
  const bundle = fc.record({ resourceType: fc.oneof(fc.constant('Bundle'), anyString), type: fc.oneof(fc.constantFrom('batch', 'transaction', 'collection', 'searchset'), anyString), entry: fc.oneof(fc.array(entry, { maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })) });
  await assertProperty(
    fc.asyncProperty(bundle, extraHeaders, async (b, headers) => {
      await send('batch/transaction', { method: 'POST', url: '/', headers: { ...headers, authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, payload: JSON.stringify(b) });
    }),
    RUNS,
  );
  tally.print('batch/transaction');
});

test('$export kick-off (GET and POST, three levels), status, cancel and download with random input: never 5xx, errors are OperationOutcomes', async () => {
  const parameters = fc.array(
    fc.record({ name: fc.oneof(fc.constantFrom('_type', '_since', '_until', '_outputFormat', '_typeFilter', '_elements', '_container', '_destination', 'patient', 'includeAssociatedData'), anyString), value: fc.oneof(fc.record({ valueString: anyString }), fc.record({ valueUrl: anyString }), fc.record({ valueReference: fc.record({ reference: anyString }) }), fc.record({ valueInteger: fc.integer() }), fc.jsonValue({ maxDepth: 2 })) }).map(({ name, value }) => ({ name, ...(typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { value }) })),
    { maxLength: 4 },
  );
  const kickoffPath = fc.oneof(fc.constantFrom('/$export', '/Patient/$export', '/Group/g1/$export'), fc.webSegment().map((s) => `/Group/${s}/$export`), anyString.map((s) => `/Group/${enc(s.slice(0, 200))}/$export`));
  const jobPath = fc.tuple(fc.oneof(fc.constantFrom('x', 'no-such-job', '..', '%2e%2e', 'a'.repeat(200)), anyString.map((s) => enc(s.slice(0, 300)))), fc.oneof(fc.constant(undefined), fc.constantFrom('Patient-1.ndjson', '..%2f..%2fetc', 'x'), anyString.map((s) => enc(s.slice(0, 300))))).map(([job, file]) => `/_export/${job}${file === undefined ? '' : `/files/${file}`}`);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('get-kickoff' as const), path: kickoffPath, query }),
    fc.record({ kind: fc.constant('post-kickoff' as const), path: kickoffPath, payload: fc.oneof(parameters.map((p) => JSON.stringify({ resourceType: 'Parameters', parameter: p })), body.map((b) => b ?? '')), type: contentType }),
    fc.record({ kind: fc.constant('job' as const), path: jobPath, method: fc.constantFrom('GET', 'DELETE', 'POST', 'PUT') as fc.Arbitrary<InjectOptions['method']> }),
  );
  await assertProperty(
    fc.asyncProperty(op, extraHeaders, async (o, headers) => {
      const h = { prefer: 'respond-async', ...headers, authorization: `Bearer ${token}` };
      const request: InjectOptions =
        o.kind === 'get-kickoff' ? { method: 'GET', url: `${o.path}${o.query}`, headers: h }
        : o.kind === 'post-kickoff' ? { method: 'POST', url: o.path, headers: { ...h, 'content-type': o.type ?? 'application/fhir+json' }, payload: o.payload }
        : { method: o.method, url: o.path, headers: h };
      await send('$export routes', request);
    }),
    RUNS,
  );
  tally.print('$export routes');
});

test('random credentials on every route class: 401 + WWW-Authenticate + OperationOutcome, never 5xx', async () => {
  const route = fc.constantFrom<[InjectOptions['method'], string]>(['GET', '/Patient/p1'], ['PUT', '/Patient/p1'], ['POST', '/'], ['GET', '/$export'], ['GET', '/_export/x'], ['DELETE', '/_export/x'], ['GET', '/_export/x/files/a.ndjson'], ['GET', '/_admin/configuration']);
  await assertProperty(
    fc.asyncProperty(route, metadataValue, async ([method, url], authorization) => {
      const request: InjectOptions = { method, url, headers: { authorization, 'content-type': 'application/fhir+json', prefer: 'respond-async' }, ...(method === 'GET' || method === 'DELETE' ? {} : { payload: '{"resourceType":"Patient","id":"p1"}' }) };
      const res = await mesh.fhir.app.inject(request);
      tally.add('REST bad credentials', `${Math.floor(res.statusCode / 100)}xx`);
      check('REST bad credentials', request, res);
      assert.is(res.statusCode, 401, `${method} ${url} with ${authorization.slice(0, 60)}: ${res.body.slice(0, 200)}`);
      assert.ok(res.headers['www-authenticate'], 'WWW-Authenticate');
    }),
    Math.ceil(RUNS / 2),
  );
  tally.print('REST bad credentials');
});

test('after all of it, a good request is still served', async () => {
  const put = await mesh.fhir.app.inject({ method: 'PUT', url: '/Patient/after-fuzz', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, payload: JSON.stringify({ resourceType: 'Patient', id: 'after-fuzz' }) });
  assert.ok(put.statusCode === 200 || put.statusCode === 201, put.body);
  const read = await mesh.fhir.app.inject({ method: 'GET', url: '/Patient/after-fuzz', headers: { authorization: `Bearer ${token}` } });
  assert.is(read.statusCode, 200);
  assert.ok(nastyStrings.length > 0);
});

test.run();
