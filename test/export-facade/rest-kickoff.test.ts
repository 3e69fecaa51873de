/**
 * Kick-off through the REST routes (fastify inject on the app from buildApp):
 * GET and POST at the three levels, malformed parameters answered 400 with the
 * parameter named, strict vs lenient, bodies, 429 past the job limit, and the
 * CapabilityStatement.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { baseUrlResolver } from '../../fhir-server/http/base-url.ts';
import { base, call, exportApp, issue, jobIdOf, parameters, type ExportApp } from './support/app.ts';
import { MemoryExportJobs } from './support/memory-jobs.ts';

let subject: ExportApp;

test.before(async () => {
  subject = await exportApp();
});
test.after(async () => {
  await subject?.app.close();
});

test('GET kick-off at system, Patient and Group level: 202, absolute Content-Location, the request as sent', async () => {
  const cases = [
    { url: '/$export?_type=Patient,Observation&_since=2024-01-01T00:00:00Z', level: 'system' },
    { url: '/Patient/$export?_type=Observation', level: 'patient' },
    { url: '/Group/grp-1/$export?_outputFormat=ndjson', level: 'group', groupId: 'grp-1' },
  ];
  for (const c of cases) {
    const response = await call(subject.app, 'GET', c.url);
    assert.is(response.statusCode, 202, response.body);
    const id = jobIdOf(response);
    assert.equal(issue(response), { severity: 'information', code: 'informational', diagnostics: `Export job ${id} queued` });
    const started = subject.jobs.started.at(-1)!;
    assert.is(started.level, c.level);
    assert.is(started.groupId, c.groupId);
    assert.is(started.requestUrl, `${base}${c.url}`);
    assert.equal(started.destination, { kind: 'default', container: 'fhir-export' });
  }
  assert.equal(subject.jobs.started[0]!.types, ['Patient', 'Observation']);
  assert.is(subject.jobs.started[0]!.since, '2024-01-01T00:00:00.000Z');
});

test('POST kick-off with a Parameters body at the three levels; the manifest request URL carries no parameters', async () => {
  const body = parameters(
    { name: '_type', valueString: 'Patient,Observation' },
    { name: '_typeFilter', valueString: 'Observation?status=final' },
    { name: '_since', valueInstant: '2024-01-01T00:00:00+01:00' },
    { name: '_container', valueString: 'team-exports' },
  );
  for (const [path, level] of [['/$export', 'system'], ['/Patient/$export', 'patient'], ['/Group/g7/$export', 'group']] as const) {
    const response = await call(subject.app, 'POST', path, 'alice', { body });
    assert.is(response.statusCode, 202, response.body);
    jobIdOf(response);
    const started = subject.jobs.started.at(-1)!;
    assert.is(started.level, level);
    assert.is(started.requestUrl, `${base}${path}`);
    assert.equal(started.typeFilters, ['Observation?status=final']);
    assert.is(started.since, '2023-12-31T23:00:00.000Z');
    assert.equal(started.destination, { kind: 'default', container: 'team-exports' });
  }
  const withPatients = await call(subject.app, 'POST', '/Group/g7/$export', 'alice', { body: parameters({ name: 'patient', valueReference: { reference: 'Patient/p1' } }, { name: 'patient', valueReference: { reference: 'Patient/p2' } }) });
  assert.is(withPatients.statusCode, 202, withPatients.body);
  assert.equal(subject.jobs.started.at(-1)!.patients, ['Patient/p1', 'Patient/p2']);
});

test('every malformed parameter is a 400 OperationOutcome naming the parameter', async () => {
  const cases: [string, string][] = [
    ['/$export?_outputFormat=application/json', '_outputFormat'],
    ['/$export?_outputFormat=ndjson&_outputFormat=ndjson', '_outputFormat'],
    ['/$export?_since=2024-01-01', '_since'],
    ['/$export?_since=2999-01-01T00:00:00Z', '_since'],
    ['/$export?_since=2024-01-01T00:00:00Z&_since=2024-01-02T00:00:00Z', '_since'],
    ['/$export?_until=not-a-time', '_until'],
    ['/$export?_since=2024-02-01T00:00:00Z&_until=2024-01-01T00:00:00Z', '_until'],
    ['/$export?_type=Patient,,Observation', '_type'],
    ['/$export?_type=patient', '_type'],
    ['/$export?_typeFilter=Observation', '_typeFilter'],
    ['/$export?_type=Patient&_typeFilter=Observation%3Fstatus%3Dfinal', '_typeFilter'],
    ['/$export?_typeFilter=Observation%3F_sort%3Ddate', '_typeFilter'],
    ['/$export?_elements=Patient.name.given', '_elements'],
    ['/Patient/$export?patient=Patient/1', 'patient'],
    ['/$export?includeAssociatedData=Every%20thing', 'includeAssociatedData'],
    ['/$export?_container=../secrets', '_container'],
    ['/$export?_container=a%2Fb', '_container'],
    ['/$export?_container=UPPER', '_container'],
    ['/$export?_destination=https%3A%2F%2Facct.blob.core.windows.net%2Fc1%3Fsig%3Dx', '_destination'],
    ['/Group/bad%20id/$export', 'Group id'],
  ];
  for (const [url, parameter] of cases) {
    const response = await call(subject.app, 'GET', url, 'alice', { headers: { prefer: 'respond-async, handling=lenient' } });
    assert.is(response.statusCode, 400, `${url}: ${response.body}`);
    assert.match(String(response.headers['content-type']), /^application\/fhir\+json/);
    const first = issue(response);
    assert.is(first.code, 'invalid', url);
    assert.equal(first.expression, [parameter], url);
    assert.ok(first.diagnostics!.includes(parameter), `${url}: ${first.diagnostics}`);
  }
  const post = await call(subject.app, 'POST', '/$export', 'alice', { body: parameters({ name: 'patient', valueReference: { reference: 'Patient/1' } }) });
  assert.is(post.statusCode, 400);
  assert.equal(issue(post).expression, ['patient']);
});

test('strict handling (the default) refuses unknown parameters and unknown types, saying so; lenient accepts and notes what it left out', async () => {
  const strict = await call(subject.app, 'GET', '/$export?_count=5&_type=Patient');
  assert.is(strict.statusCode, 400);
  assert.equal([issue(strict).code, issue(strict).expression], ['not-supported', ['_count']]);
  const strictType = await call(subject.app, 'GET', '/$export?_type=Observation,Foo');
  assert.is(strictType.statusCode, 400);
  assert.match(issue(strictType).diagnostics!, /Foo.*refused/);
  for (const refused of [strict, strictType]) assert.not.match(issue(refused).diagnostics!, /left out|ignored/, 'a refusal never says something was left out');
  const lenient = await call(subject.app, 'GET', '/$export?_count=5&_type=Observation,Foo', 'alice', { headers: { prefer: 'respond-async, handling=lenient' } });
  assert.is(lenient.statusCode, 202, lenient.body);
  const started = subject.jobs.started.at(-1)!;
  assert.equal([started.handling, started.types, started.notes.length], ['lenient', ['Observation'], 2]);
  const issues = lenient.json().issue as { severity: string; diagnostics: string }[];
  assert.equal(issues.slice(1).map((i) => i.severity), ['warning', 'warning']);
  assert.match(issues[1]!.diagnostics, /_count.*ignored/);
  assert.match(issues[2]!.diagnostics, /Foo.*left out/);
});

test('an unknown includeAssociatedData value: 400 not-supported when strict; when lenient the kick-off is accepted with the others and the value noted', async () => {
  const strict = await call(subject.app, 'GET', '/$export?includeAssociatedData=RelevantProvenanceResources,Everything');
  assert.is(strict.statusCode, 400, strict.body);
  assert.equal([issue(strict).code, issue(strict).expression], ['not-supported', ['includeAssociatedData']]);
  assert.match(issue(strict).diagnostics!, /Everything is not supported.*refused/);
  const lenient = await call(subject.app, 'GET', '/$export?includeAssociatedData=Everything&includeAssociatedData=RelevantProvenanceResources', 'alice', { headers: { prefer: 'respond-async, handling=lenient' } });
  assert.is(lenient.statusCode, 202, lenient.body);
  const started = subject.jobs.started.at(-1)!;
  assert.equal(started.includeAssociatedData, ['RelevantProvenanceResources']);
  assert.equal(started.notes.length, 1);
  assert.match(started.notes[0]!, /includeAssociatedData Everything is not supported.*ignored/);
});

test('Patient and Group level: _type may name types outside the Patient compartment, repeated or comma-separated; the kick-off is accepted in strict handling', async () => {
  for (const url of ['/Patient/$export?_type=Observation,Practitioner&_type=Organization', '/Group/g1/$export?_type=Practitioner&_type=Observation,Location']) {
    const response = await call(subject.app, 'GET', url);
    assert.is(response.statusCode, 202, `${url}: ${response.body}`);
    const started = subject.jobs.started.at(-1)!;
    assert.is(started.handling, 'strict');
    assert.ok(started.types.includes('Practitioner') && started.types.includes('Observation'), started.types.join());
  }
  const only = await call(subject.app, 'GET', '/Patient/$export?_type=Organization');
  assert.is(only.statusCode, 202, 'a type list of only such types is not "all types" and not refused');
  assert.equal(subject.jobs.started.at(-1)!.types, ['Organization']);
});

test('headers: Prefer respond-async is required; Accept must allow FHIR JSON; POST bodies must be FHIR Parameters JSON', async () => {
  const noPrefer = await call(subject.app, 'GET', '/$export', 'alice', { headers: { prefer: '' } });
  assert.equal([noPrefer.statusCode, issue(noPrefer).expression], [400, ['Prefer']]);
  const xml = await call(subject.app, 'GET', '/$export', 'alice', { headers: { accept: 'application/fhir+xml' } });
  assert.equal([xml.statusCode, issue(xml).code, issue(xml).expression], [400, 'not-supported', ['Accept']]);
  assert.not.match(issue(xml).diagnostics!, /left out|ignored|went ahead/);
  const withQuery = await call(subject.app, 'POST', '/$export?_type=Patient', 'alice', { body: parameters() });
  assert.is(withQuery.statusCode, 400);
  const notJson = await call(subject.app, 'POST', '/$export', 'alice', { body: '{"resourceType":' });
  assert.equal([notJson.statusCode, issue(notJson).code], [400, 'invalid']);
  const notParameters = await call(subject.app, 'POST', '/$export', 'alice', { body: { resourceType: 'Patient' } });
  assert.is(notParameters.statusCode, 400);
  const text = await call(subject.app, 'POST', '/$export', 'alice', { body: 'x', headers: { 'content-type': 'text/plain' } });
  assert.is(text.statusCode, 415);
  const started = subject.jobs.started.length;
  assert.is((await call(subject.app, 'HEAD', '/$export')).statusCode, 404, 'HEAD starts nothing');
  assert.is(subject.jobs.started.length, started);
});

test('Accept: missing, or ruling out application/fhir+json, is refused with 400 under strict handling (the default); lenient handling proceeds and says so', async () => {
  const bare = { prefer: 'respond-async', authorization: 'Bearer alice' };
  const started = subject.jobs.started.length;
  const missing = await subject.app.inject({ method: 'GET', url: '/$export', headers: bare });
  assert.equal([missing.statusCode, issue(missing).code, issue(missing).expression], [400, 'invalid', ['Accept']]);
  assert.match(issue(missing).diagnostics!, /no Accept header.*refused/);
  const strictXml = await subject.app.inject({ method: 'GET', url: '/$export', headers: { ...bare, prefer: 'respond-async, handling=strict', accept: 'application/fhir+xml' } });
  assert.equal([strictXml.statusCode, issue(strictXml).expression], [400, ['Accept']]);
  const post = await subject.app.inject({ method: 'POST', url: '/Patient/$export', headers: { ...bare, 'content-type': 'application/fhir+json' }, payload: JSON.stringify(parameters()) });
  assert.is(post.statusCode, 400);
  assert.is(subject.jobs.started.length, started, 'nothing was started');
  for (const accept of [undefined, 'application/fhir+xml']) {
    const lenient = await subject.app.inject({ method: 'GET', url: '/$export', headers: { ...bare, prefer: 'respond-async, handling=lenient', ...(accept ? { accept } : {}) } });
    assert.is(lenient.statusCode, 202, lenient.body);
    assert.match(String(lenient.headers['content-type']), /^application\/fhir\+json/);
    assert.match(subject.jobs.started.at(-1)!.notes[0]!, /Accept.*went ahead under lenient handling/);
  }
  for (const accept of ['application/fhir+json', 'application/json', '*/*', 'text/html, application/fhir+json;q=0.5']) {
    assert.is((await subject.app.inject({ method: 'GET', url: '/$export', headers: { ...bare, accept } })).statusCode, 202, accept);
  }
});

test('kick-off past the engine\'s job limit: 429 with Retry-After (the engine\'s, else the configured default)', async () => {
  for (const [limits, expected] of [[{ maxActive: 2, retryAfterSeconds: 17 }, '17'], [{ maxActive: 2 }, '60']] as const) {
    const { app } = await exportApp({ jobs: new MemoryExportJobs(limits) });
    try {
      for (let i = 0; i < 2; i++) assert.is((await call(app, 'GET', '/$export')).statusCode, 202);
      const refused = await call(app, 'GET', '/$export');
      assert.is(refused.statusCode, 429);
      assert.is(refused.headers['retry-after'], expected);
      assert.is(issue(refused).code, 'throttled');
    } finally {
      await app.close();
    }
  }
});

test('authorization: every route asks for export access; no token is 401, no role is 403', async () => {
  const before = subject.accesses.length;
  assert.is((await call(subject.app, 'GET', '/$export', null)).statusCode, 401);
  assert.is((await call(subject.app, 'GET', '/$export', 'reader')).statusCode, 403);
  assert.is((await call(subject.app, 'GET', '/_export/abc', null)).statusCode, 401);
  assert.is((await call(subject.app, 'DELETE', '/_export/abc', null)).statusCode, 401);
  assert.is((await call(subject.app, 'GET', '/_export/abc/files/Patient-1.ndjson', null)).statusCode, 401);
  assert.equal(subject.accesses.slice(before), ['export', 'export', 'export', 'export', 'export']);
});

test('links never come from the Host header: a forged Host changes nothing; only a trusted proxy forwards an origin', async () => {
  const forged = { host: 'evil.example:8443', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', forwarded: 'host=evil.example;proto=http' };
  const links = async (trustedProxies: string[], headers: Record<string, string>) => {
    const baseUrl = baseUrlResolver({ listenBase: () => 'https://fhir.internal:8443', prefix: '/fhir', trustedProxies });
    const { app, jobs } = await exportApp({ prefix: '/fhir', baseUrl });
    try {
      const kicked = await app.inject({ method: 'GET', url: '/fhir/Patient/$export?_type=Observation', headers: { prefer: 'respond-async', accept: 'application/fhir+json', authorization: 'Bearer alice', ...headers } });
      assert.is(kicked.statusCode, 202, kicked.body);
      const location = String(kicked.headers['content-location']);
      const id = location.slice(location.lastIndexOf('/') + 1);
      jobs.complete(id, { output: [{ type: 'Observation', fileName: 'Observation-1.ndjson', lines: ['{}'] }] });
      const manifest = (await app.inject({ method: 'GET', url: `/fhir/_export/${id}`, headers: { authorization: 'Bearer alice', ...headers } })).json() as { request: string; output: { url: string }[] };
      return [location, manifest.request, manifest.output[0]!.url];
    } finally {
      await app.close();
    }
  };
  // inject() connects from 127.0.0.1: untrusted unless listed.
  for (const link of await links([], forged)) assert.match(link, /^https:\/\/fhir\.internal:8443\/fhir\/(_export\/|Patient\/\$export\?_type=Observation$)/, link);
  for (const link of await links(['10.0.0.0/8', '::1'], forged)) assert.match(link, /^https:\/\/fhir\.internal:8443\/fhir\//, link);
  const viaProxy = await links(['127.0.0.1'], { host: 'fhir.internal', 'x-forwarded-host': 'FHIR.Example.org', 'x-forwarded-proto': 'https' });
  for (const link of viaProxy) assert.match(link, /^https:\/\/fhir\.example\.org\/fhir\//, link);
  const rfc7239 = await links(['127.0.0.0/8'], { forwarded: 'for=10.1.2.3;host="fhir.example.org:9443";proto=https' });
  for (const link of rfc7239) assert.match(link, /^https:\/\/fhir\.example\.org:9443\/fhir\//, link);
  // A trusted proxy forwarding a malformed host is ignored, not echoed.
  for (const link of await links(['127.0.0.1'], { 'x-forwarded-host': 'evil.example/path?x=<script>' })) assert.match(link, /^https:\/\/fhir\.internal:8443\/fhir\//, link);
});

test('the CapabilityStatement lists $export at system, Patient and Group level and instantiates the IG', async () => {
  const statement = (await subject.app.inject({ method: 'GET', url: '/metadata' })).json();
  assert.ok(statement.instantiates.includes('http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'));
  const rest = statement.rest[0];
  assert.equal(rest.operation.map((o: { name: string; definition: string }) => [o.name, o.definition]), [['export', 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export']]);
  const opsOf = (type: string) => rest.resource.find((r: { type: string }) => r.type === type).operation?.map((o: { definition: string }) => o.definition);
  assert.equal(opsOf('Patient'), ['http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export']);
  assert.equal(opsOf('Group'), ['http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export']);
  assert.is(opsOf('Observation'), undefined);
});

test.run();
