/**
 * SMART scopes on the REST API, end to end: a token holding only
 * `system/Patient.read` exports and reads Patients but not Observations, never
 * writes or administers, and cannot see another client's export job; a
 * tampered token is refused with a `WWW-Authenticate` challenge; Entra ID
 * tokens keep working beside SMART ones.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MeshSetup } from '../../dev/mesh-setup.ts';
import { generateClientKey, signClientAssertion, tokenRequestForm } from '../../fhir-server/http/smart/client-credentials.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { postToken, runExport, startSeededMesh } from './support/mesh.ts';

let mesh: MeshSetup;
let ca: string;
let patientOnly: string;
let everything: string;

test.before(loud('before', async () => {
  mesh = await startSeededMesh('smartscopes');
  ca = mesh.routing.standIns.tls.caPem;
  patientOnly = await (await mesh.registerSmartClient({ scope: 'system/Patient.read' })).token();
  everything = await (await mesh.registerSmartClient({ scope: 'system/*.read', alg: 'RS384' })).token();
}));
test.after(async () => {
  await mesh?.stop();
});

const kickoff = (path: string, token: string, init: { method?: string; body?: unknown } = {}) =>
  https(`${mesh.fhir.baseUrl}${path}`, { ca, token, headers: { prefer: 'respond-async' }, ...init });

test('system/Patient.read cannot export Observation (or everything): 403 OperationOutcome with an insufficient_scope challenge', async () => {
  const refused = await kickoff('/$export?_type=Patient,Observation', patientOnly);
  assert.is(refused.status, 403, refused.body);
  assert.is(JSON.parse(refused.body).resourceType, 'OperationOutcome');
  assert.match(JSON.parse(refused.body).issue[0].diagnostics, /system\/Observation\.read/);
  assert.match(String(refused.headers['www-authenticate']), /insufficient_scope/);
  assert.is((await kickoff('/$export', patientOnly)).status, 403, 'all types need system/*.read');
  assert.is((await kickoff('/Patient/$export', patientOnly)).status, 403, 'all compartment types need system/*.read');
  const post = await kickoff('/$export', patientOnly, { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Observation' }] } });
  assert.is(post.status, 403, 'a POST kick-off is checked by its Parameters');
});

test('system/Patient.read exports and reads Patients, but reads no Observation, writes nothing, administers nothing', async () => {
  const { manifest } = await runExport(mesh, '/$export?_type=Patient', patientOnly);
  const out = manifest.output.find((o) => o.type === 'Patient')!;
  const file = await https(out.url, { ca, token: patientOnly, headers: { accept: 'application/fhir+ndjson' } });
  assert.is(file.status, 200);
  const patient = JSON.parse(file.body.split('\n')[0]!);
  assert.is((await https(`${mesh.fhir.baseUrl}/Patient/${patient.id}`, { ca, token: patientOnly })).status, 200);
  assert.is((await https(`${mesh.fhir.baseUrl}/Observation/any`, { ca, token: patientOnly })).status, 403);
  assert.is((await https(`${mesh.fhir.baseUrl}/Patient/${patient.id}`, { ca, token: patientOnly, method: 'PUT', body: patient })).status, 403);
  assert.is((await https(`${mesh.fhir.baseUrl}/_admin/configuration`, { ca, token: patientOnly })).status, 403);
  assert.is((await https(`${mesh.fhir.baseUrl}/_admin/smart/clients`, { ca, token: patientOnly })).status, 403);
});

test("another client's job is invisible: status, download and cancel answer 404", async () => {
  const { statusUrl, manifest } = await runExport(mesh, '/$export?_type=Patient', everything);
  assert.is((await https(statusUrl, { ca, token: patientOnly })).status, 404);
  assert.is((await https(manifest.output[0]!.url, { ca, token: patientOnly })).status, 404);
  assert.is((await https(statusUrl, { ca, token: patientOnly, method: 'DELETE' })).status, 404);
  const entra = await mesh.bearer(['Fhir.Export', 'Fhir.Read']);
  assert.is((await https(statusUrl, { ca, token: entra })).status, 404, 'an Entra ID client is another principal');
  assert.is((await https(statusUrl, { ca, token: everything })).status, 200, 'the owner still sees it');
});

test('an assertion naming an odd client id is invalid_client against the Cosmos registry', async () => {
  const assertion = await signClientAssertion({ clientId: 'no/such#client?', tokenEndpoint: `${mesh.fhir.baseUrl}/auth/token`, key: await generateClientKey('ES384') });
  const res = await postToken(mesh, tokenRequestForm(assertion, 'system/*.read'));
  assert.is(res.status, 401, res.body);
  assert.is(JSON.parse(res.body).error, 'invalid_client');
});

test('a tampered or foreign SMART token is 401 with an invalid_token challenge; Entra ID tokens still work', async () => {
  const [header, payload] = everything.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
  const widened = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'system/*.*' })).toString('base64url')}.${everything.split('.')[2]}`;
  const res = await https(`${mesh.fhir.baseUrl}/Patient/x`, { ca, token: widened });
  assert.is(res.status, 401);
  assert.match(String(res.headers['www-authenticate']), /invalid_token/);
  const entra = await mesh.bearer(['Fhir.Read']);
  assert.is((await https(`${mesh.fhir.baseUrl}/Patient/nonexistent`, { ca, token: entra })).status, 404, 'Entra ID read: authorized, then not found');
});

test.run();
