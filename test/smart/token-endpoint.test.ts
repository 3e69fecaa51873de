/**
 * The token endpoint refuses every bad request with the RFC 6749 error it
 * deserves: invalid_client (401) for any assertion problem, invalid_request,
 * unsupported_grant_type and invalid_scope (400: a scope missing, naming no R4
 * resource type, or not registered) for the rest. No error
 * answer echoes the assertion.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SignJWT } from 'jose';
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { generateClientKey, signClientAssertion, type ClientKey } from '../../fhir-server/http/smart/client-credentials.ts';
import { JWT_BEARER_ASSERTION } from '../../fhir-server/http/smart/token-service.ts';
import { loud } from '../support/hooks.ts';
import { smartApp, TOKEN_ENDPOINT, tokenRequestForm, type SmartApp } from './support/app.ts';

let s: SmartApp;
let client: { clientId: string; key: ClientKey };

test.before(loud('before', async () => {
  s = await smartApp();
  client = await s.register('system/Patient.read system/Observation.rs');
}));
test.after(async () => {
  await s?.app.close();
});

const assertion = (overrides: Partial<Parameters<typeof signClientAssertion>[0]> = {}) =>
  signClientAssertion({ clientId: client.clientId, tokenEndpoint: TOKEN_ENDPOINT, key: client.key, ...overrides });

async function expectError(form: string, status: number, error: string, description?: RegExp, contentType?: string) {
  const res = await s.token(form, contentType);
  assert.is(res.status, status, JSON.stringify(res.body));
  assert.is(res.body.error, error);
  if (description) assert.match(String(res.body.error_description), description);
  assert.not.match(JSON.stringify(res.body), /eyJ/, 'no JWT in the answer');
  assert.is(res.headers['cache-control'], 'no-store');
}

test('a good assertion gets a bearer token for requested ∩ registered scopes', async () => {
  const res = await s.token(tokenRequestForm(await assertion(), 'system/Patient.read system/Condition.read system/Observation.read'));
  assert.is(res.status, 200, JSON.stringify(res.body));
  assert.is(res.body.token_type, 'bearer');
  assert.is(res.body.scope, 'system/Patient.read system/Observation.read');
  assert.ok((res.body.expires_in as number) > 0 && (res.body.expires_in as number) <= 300);
  const verified = await s.smart.tokens.verify(String(res.body.access_token));
  assert.is(verified.clientId, client.clientId);
  assert.equal(verified.scopes, ['system/Patient.read', 'system/Observation.read']);
});

test('RS384 works as well as ES384', async () => {
  const rsa = await s.register('system/*.read', 'RS384');
  const signed = await signClientAssertion({ clientId: rsa.clientId, tokenEndpoint: TOKEN_ENDPOINT, key: rsa.key });
  assert.is((await s.token(tokenRequestForm(signed, 'system/*.read'))).status, 200);
});

test('wrong aud, expired, exp too far ahead → invalid_client', async () => {
  await expectError(tokenRequestForm(await assertion({ tokenEndpoint: 'https://elsewhere.test/auth/token' }), 'system/Patient.read'), 401, 'invalid_client', /aud/);
  await expectError(tokenRequestForm(await assertion({ lifetimeSeconds: -120 }), 'system/Patient.read'), 401, 'invalid_client', /expired/);
  await expectError(tokenRequestForm(await assertion({ lifetimeSeconds: 900 }), 'system/Patient.read'), 401, 'invalid_client', /more than 300 seconds/);
});

test('a jti is accepted once', async () => {
  const jti = randomUUID();
  assert.is((await s.token(tokenRequestForm(await assertion({ jti }), 'system/Patient.read'))).status, 200);
  await expectError(tokenRequestForm(await assertion({ jti }), 'system/Patient.read'), 401, 'invalid_client', /jti/);
  const signed = await assertion();
  assert.is((await s.token(tokenRequestForm(signed, 'system/Patient.read'))).status, 200);
  await expectError(tokenRequestForm(signed, 'system/Patient.read'), 401, 'invalid_client', /used before/);
});

test('unknown kid, missing kid, a key of another client → invalid_client', async () => {
  await expectError(tokenRequestForm(await assertion({ key: { ...client.key, kid: 'not-registered' } }), 'system/Patient.read'), 401, 'invalid_client', /kid/);
  const stranger = await generateClientKey('ES384');
  await expectError(tokenRequestForm(await assertion({ key: stranger }), 'system/Patient.read'), 401, 'invalid_client', /kid/);
  const noKid = await new SignJWT({}).setProtectedHeader({ alg: 'ES384' }).setIssuer(client.clientId).setSubject(client.clientId).setAudience(TOKEN_ENDPOINT).setJti(randomUUID()).setExpirationTime('2m').sign(createPrivateKey(client.key.privateKeyPem));
  await expectError(tokenRequestForm(noKid, 'system/Patient.read'), 401, 'invalid_client', /kid/);
});

test('RS256, HS256 and unsigned assertions → invalid_client', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const claims = () => new SignJWT({}).setIssuer(client.clientId).setSubject(client.clientId).setAudience(TOKEN_ENDPOINT).setJti(randomUUID()).setExpirationTime('2m');
  const rs256 = await claims().setProtectedHeader({ alg: 'RS256', kid: client.key.kid }).sign(rsa.privateKey);
  await expectError(tokenRequestForm(rs256, 'system/Patient.read'), 401, 'invalid_client', /RS384 or ES384/);
  const hs256 = await claims().setProtectedHeader({ alg: 'HS256', kid: client.key.kid }).sign(new TextEncoder().encode('a shared secret of enough length!'));
  await expectError(tokenRequestForm(hs256, 'system/Patient.read'), 401, 'invalid_client', /RS384 or ES384/);
  const header = Buffer.from(JSON.stringify({ alg: 'none', kid: client.key.kid })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ iss: client.clientId, sub: client.clientId, aud: TOKEN_ENDPOINT, jti: 'x', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
  await expectError(tokenRequestForm(`${header}.${payload}.`, 'system/Patient.read'), 401, 'invalid_client');
});

test('unknown client, iss ≠ sub, client_id mismatch, bad signature → invalid_client', async () => {
  await expectError(tokenRequestForm(await assertion({ clientId: randomUUID() }), 'system/Patient.read'), 401, 'invalid_client', /no registered client/);
  const other = await s.register('system/*.read');
  const mixed = await new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: client.key.kid }).setIssuer(client.clientId).setSubject(other.clientId).setAudience(TOKEN_ENDPOINT).setJti(randomUUID()).setExpirationTime('2m').sign(createPrivateKey(client.key.privateKeyPem));
  await expectError(tokenRequestForm(mixed, 'system/Patient.read'), 401, 'invalid_client', /iss and sub/);
  const form = new URLSearchParams(tokenRequestForm(await assertion(), 'system/Patient.read'));
  form.set('client_id', other.clientId);
  await expectError(form.toString(), 401, 'invalid_client', /client_id/);
  const good = await assertion();
  const tampered = `${good.slice(0, good.lastIndexOf('.') + 1)}${Buffer.alloc(96, 1).toString('base64url')}`;
  await expectError(tokenRequestForm(tampered, 'system/Patient.read'), 401, 'invalid_client', /signature/);
});

test('grant type, assertion type, parameters and body form', async () => {
  const form = (entries: Record<string, string>) => new URLSearchParams(entries).toString();
  const signed = await assertion();
  await expectError(form({ grant_type: 'authorization_code', scope: 'system/Patient.read', client_assertion_type: JWT_BEARER_ASSERTION, client_assertion: signed }), 400, 'unsupported_grant_type');
  await expectError(form({ scope: 'system/Patient.read', client_assertion_type: JWT_BEARER_ASSERTION, client_assertion: signed }), 400, 'invalid_request', /grant_type/);
  await expectError(form({ grant_type: 'client_credentials', scope: 'system/Patient.read', client_assertion_type: 'urn:other', client_assertion: signed }), 401, 'invalid_client', /client_assertion_type/);
  await expectError(form({ grant_type: 'client_credentials', scope: 'system/Patient.read', client_assertion_type: JWT_BEARER_ASSERTION }), 401, 'invalid_client', /client_assertion/);
  await expectError(`${tokenRequestForm(signed, 'system/Patient.read')}&grant_type=client_credentials`, 400, 'invalid_request', /repeated/);
  await expectError(JSON.stringify({ grant_type: 'client_credentials' }), 400, 'invalid_request', /x-www-form-urlencoded/, 'application/json');
});

test('scope: none registered, none requested, or any naming no R4 type → invalid_scope; v1 and v2 requests are matched by meaning', async () => {
  await expectError(tokenRequestForm(await assertion(), 'system/Condition.read'), 400, 'invalid_scope');
  await expectError(tokenRequestForm(await assertion(), 'system/*.read'), 400, 'invalid_scope', /none of the requested/);
  await expectError(tokenRequestForm(await assertion(), 'system/Patient.write'), 400, 'invalid_scope');
  await expectError(tokenRequestForm(await assertion(), ''), 400, 'invalid_scope', /scope is required/);
  await expectError(tokenRequestForm(await assertion(), '   '), 400, 'invalid_scope', /scope is required/);
  const noScope = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER_ASSERTION, client_assertion: await assertion() }).toString();
  await expectError(noScope, 400, 'invalid_scope', /scope is required/);
  // A type R4 does not define is refused, v1 or v2, alone or beside a scope that would be granted.
  for (const scope of ['system/UnknownResource.read', 'system/UnknownResource.r', 'system/Patient.read system/UnknownResource.rs', 'system/Patients.read', 'system/Patient.read launch']) {
    await expectError(tokenRequestForm(await assertion(), scope), 400, 'invalid_scope', /is not a system scope on an R4 resource type/);
  }
  const quoted = await s.token(tokenRequestForm(await assertion(), 'system/Bad"\\Type.read'));
  assert.not.match(String(quoted.body.error_description), /["\\]/, 'error_description stays within the RFC 6749 character set');
  const v2 = await s.token(tokenRequestForm(await assertion(), 'system/Patient.rs system/Observation.r'));
  assert.is(v2.status, 200, JSON.stringify(v2.body));
  assert.is(v2.body.scope, 'system/Patient.rs system/Observation.r');
});

test('registration refuses scopes on types R4 does not define', async () => {
  for (const scope of ['system/UnknownResource.read', 'system/UnknownResource.rs', 'system/*.read system/Foo.read']) {
    const res = await s.app.inject({ method: 'POST', url: '/_admin/smart/clients', payload: { scope, jwks: { keys: [client.key.publicJwk] } } });
    assert.is(res.statusCode, 400, `${scope}: ${res.body}`);
    assert.match(res.body, /is not a SMART system scope/);
  }
});

test('discovery document', async () => {
  const res = await s.app.inject({ method: 'GET', url: '/.well-known/smart-configuration' });
  assert.is(res.statusCode, 200);
  const body = JSON.parse(res.body);
  assert.is(body.token_endpoint, TOKEN_ENDPOINT);
  assert.equal(body.token_endpoint_auth_signing_alg_values_supported, ['RS384', 'ES384']);
});

test.run();
