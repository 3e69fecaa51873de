/**
 * REST security with real Entra ID tokens (ClientSecretCredential against the
 * stand-in): no token is 401 with a Bearer challenge, a token without the
 * access's role is 403, the right role is served; each access needs its own
 * role; delegated scopes count; the principal reaches the export caller; the
 * admin configuration route redacts secrets; disabled auth is loud.
 */
import type { FastifyInstance } from 'fastify';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loud } from '../support/hooks.ts';
import { issueCode, send } from '../fhir/support/app.ts';
import { secrets } from './support/config.ts';
import { bearer, FHIR_API, startAuthFixture, type AuthFixture } from './support/auth-app.ts';

let fx: AuthFixture;
let app: FastifyInstance;
let patientId: string;
const tokens: Record<string, string> = {};

test.before(loud('before', async () => {
  fx = await startAuthFixture();
  app = await fx.buildApp();
  for (const kind of ['reader', 'writer', 'exporter', 'admin', 'none'] as const) tokens[kind] = await fx.clients[kind].token();
}));
test.after(async () => {
  await app?.close();
  await fx?.stop();
});

const patient = { resourceType: 'Patient', name: [{ family: 'Chalmers' }] };

test('without a token every route answers 401 with a Bearer challenge and a login OperationOutcome', async () => {
  for (const [method, url] of [['GET', '/Patient/p1'], ['POST', '/Patient'], ['GET', '/_admin/configuration'], ['GET', '/_probe/export-caller']] as const) {
    const response = await send(app, method, url, method === 'POST' ? patient : undefined);
    assert.is(response.statusCode, 401, `${method} ${url}`);
    assert.is(response.headers['www-authenticate'], 'Bearer realm="fhirmesh-fhir"');
    assert.is(issueCode(response), 'login');
  }
  const basic = await send(app, 'GET', '/Patient/p1', undefined, { authorization: 'Basic dXNlcjpwYXNz' });
  assert.is(basic.statusCode, 401);
});

test('the writer role creates, the reader role reads; each is refused the other with 403 forbidden', async () => {
  const created = await send(app, 'POST', '/Patient', patient, bearer(tokens.writer!));
  assert.is(created.statusCode, 201);
  patientId = created.json().id;
  const read = await send(app, 'GET', `/Patient/${patientId}`, undefined, bearer(tokens.reader!));
  assert.is(read.statusCode, 200);
  assert.is(read.json().id, patientId);

  const readerWrites = await send(app, 'POST', '/Patient', patient, bearer(tokens.reader!));
  assert.is(readerWrites.statusCode, 403);
  assert.is(issueCode(readerWrites), 'forbidden');
  assert.match(readerWrites.json().issue[0].diagnostics, /lacks the Fhir\.Write app role/);
  assert.is(readerWrites.headers['www-authenticate'], 'Bearer realm="fhirmesh-fhir", error="insufficient_scope", scope="Fhir.Write"');
  assert.is((await send(app, 'GET', `/Patient/${patientId}`, undefined, bearer(tokens.writer!))).statusCode, 403);
  assert.is((await send(app, 'PUT', `/Patient/${patientId}`, { ...patient, id: patientId }, bearer(tokens.reader!))).statusCode, 403);
  assert.is((await send(app, 'DELETE', `/Patient/${patientId}`, undefined, bearer(tokens.reader!))).statusCode, 403);
});

test('a valid token without any role is refused every access; read, write and admin roles do not grant export', async () => {
  for (const url of [`/Patient/${patientId}`, '/_admin/configuration', '/_probe/export-caller']) {
    const response = await send(app, 'GET', url, undefined, bearer(tokens.none!));
    assert.is(response.statusCode, 403, url);
    assert.is(issueCode(response), 'forbidden');
  }
  for (const kind of ['reader', 'writer', 'admin']) assert.is((await send(app, 'GET', '/_probe/export-caller', undefined, bearer(tokens[kind]!))).statusCode, 403, kind);
  assert.is((await send(app, 'GET', `/Patient/${patientId}`, undefined, bearer(tokens.admin!))).statusCode, 403, 'admin is not read');
});

test('the export role passes; the export caller is the token principal (its oid)', async () => {
  const response = await send(app, 'GET', '/_probe/export-caller', undefined, bearer(tokens.exporter!));
  assert.is(response.statusCode, 200);
  const caller = response.json();
  assert.is(caller.principal, fx.clients.exporter.objectId);
  assert.type(caller.correlationId, 'string');
});

test('delegated scopes (scp) count like app roles', async () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = { aud: FHIR_API, iss: fx.entra.issuer(), iat: now, nbf: now, exp: now + 600, tid: fx.entra.tenantId, oid: 'user-oid-1', sub: 'user-sub-1' };
  const readScope = await fx.entra.signAccessToken({ ...claims, scp: 'openid Fhir.Read' });
  assert.is((await send(app, 'GET', `/Patient/${patientId}`, undefined, bearer(readScope))).statusCode, 200);
  const writeScope = await fx.entra.signAccessToken({ ...claims, scp: 'Fhir.Write' });
  assert.is((await send(app, 'GET', `/Patient/${patientId}`, undefined, bearer(writeScope))).statusCode, 403);
  const exported = await send(app, 'GET', '/_probe/export-caller', undefined, bearer(await fx.entra.signAccessToken({ ...claims, scp: 'Fhir.Export' })));
  assert.is(exported.json().principal, 'user-oid-1');
});

test('GET /_admin/configuration: admin role only; secrets redacted; each export value names its layer', async () => {
  assert.is((await send(app, 'GET', '/_admin/configuration', undefined, bearer(tokens.reader!))).statusCode, 403);
  const response = await send(app, 'GET', '/_admin/configuration', undefined, bearer(tokens.admin!));
  assert.is(response.statusCode, 200);
  assert.match(response.headers['content-type'] as string, /^application\/json/);
  assert.ok(!response.body.includes(secrets.cosmosKey));
  assert.ok(!response.body.includes(secrets.refreshToken));
  const body = response.json();
  assert.is(body.settings.cosmos.key, '[redacted]');
  assert.is(body.settings.routing.refreshToken, '[redacted]');
  assert.is(body.settings.auth.tenantId, fx.entra.tenantId);
  assert.equal(body.export.rollingFileSizeInMb, { value: 16, source: 'environment' });
  assert.equal(body.export.maxJobRestartCount, { value: 3, source: 'account' });
  assert.equal(body.export.jobPollingFrequencySeconds, { value: 60, source: 'default' });
  assert.is(body.accountOverrides.source, 'routing server (start-up)');
});

test('auth.disabled logs a loud warning once and serves every request as the anonymous principal', async () => {
  const before = fx.log.lines().length;
  const open = await fx.buildApp({ disabled: true });
  try {
    const warnings = fx.log.lines().slice(before).filter((line) => line.level === 40 && /AUTHENTICATION IS DISABLED/.test(String(line.msg)));
    assert.is(warnings.length, 1);
    assert.is((await send(open, 'GET', `/Patient/${patientId}`)).statusCode, 200);
    assert.is((await send(open, 'POST', '/Patient', patient)).statusCode, 201);
    assert.is((await send(open, 'GET', '/_admin/configuration')).statusCode, 200);
    assert.is((await send(open, 'GET', '/_probe/export-caller')).json().principal, 'anonymous');
    assert.is(fx.log.lines().slice(before).filter((line) => /AUTHENTICATION IS DISABLED/.test(String(line.msg))).length, 1, 'not repeated per request');
  } finally {
    await open.close();
  }
});

test.run();
