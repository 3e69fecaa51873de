/**
 * Tokens the REST security refuses with 401 (expired, wrong issuer, wrong
 * audience, foreign signature, unknown key, malformed, no principal), 503 when
 * the signing keys cannot be fetched, and no authorization value in any log line.
 */
import type { FastifyInstance } from 'fastify';
import { createServer } from 'node:net';
import { decodeProtectedHeader, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loud } from '../support/hooks.ts';
import { issueCode, send } from '../fhir/support/app.ts';
import { bearer, FHIR_API, startAuthFixture, type AuthFixture } from './support/auth-app.ts';

let fx: AuthFixture;
let app: FastifyInstance;
const used: string[] = [];
let claims: JWTPayload;

test.before(loud('before', async () => {
  fx = await startAuthFixture();
  app = await fx.buildApp();
  const now = Math.floor(Date.now() / 1000);
  claims = { aud: FHIR_API, iss: fx.entra.issuer(), iat: now, nbf: now, exp: now + 600, tid: fx.entra.tenantId, oid: 'oid-1', roles: ['Fhir.Read'] };
}));
test.after(async () => {
  await app?.close();
  await fx?.stop();
});

async function expect401(token: string, description: RegExp, what: string): Promise<void> {
  used.push(token);
  const response = await send(app, 'GET', '/Patient/any', undefined, bearer(token));
  assert.is(response.statusCode, 401, what);
  assert.is(issueCode(response), 'login', what);
  const challenge = response.headers['www-authenticate'] as string;
  assert.match(challenge, /^Bearer realm="fhirmesh-fhir", error="invalid_token", error_description="/, what);
  assert.match(challenge, description, what);
  assert.ok(!response.body.includes(token), `${what}: the token is not echoed`);
}

test('the control: a stand-in token with the right claims and role is served', async () => {
  const token = await fx.entra.signAccessToken(claims);
  used.push(token);
  assert.is((await send(app, 'GET', '/Patient/any', undefined, bearer(token))).statusCode, 404, 'past auth: the resource does not exist');
});

test('expired, wrong issuer and wrong audience tokens are 401 invalid_token', async () => {
  const now = Math.floor(Date.now() / 1000);
  await expect401(await fx.entra.signAccessToken({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 600 }), /has expired/, 'expired');
  await expect401(await fx.entra.signAccessToken({ ...claims, iss: 'https://sts.windows.net/00000000-0000-0000-0000-000000000000/' }), /iss claim/, 'wrong issuer');
  await expect401(await fx.entra.signAccessToken({ ...claims, aud: 'api://another-api' }), /aud claim/, 'wrong audience');
  // A real token from the reader's own credential, but for Blob Storage instead of the FHIR API.
  await expect401(await fx.clients.reader.token('https://storage.azure.com/.default'), /aud claim/, 'real token for another resource');
});

test('a token signed by a foreign key is 401, whether it names the tenant key id or an unknown one', async () => {
  const kid = decodeProtectedHeader(await fx.clients.reader.token()).kid!;
  const { privateKey } = await generateKeyPair('RS256');
  const forged = await new SignJWT(claims).setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid, x5t: kid }).sign(privateKey);
  await expect401(forged, /signature is invalid/, 'foreign key, tenant kid');
  const unknown = await new SignJWT(claims).setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid: 'not-a-tenant-key' }).sign(privateKey);
  await expect401(unknown, /unknown key/, 'foreign key, unknown kid');
  const hmac = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode('x'.repeat(32)));
  await expect401(hmac, /algorithm that is not accepted/, 'HS256');
});

test('a malformed token and a token naming no principal are 401', async () => {
  await expect401('not.a.jwt', /malformed/, 'malformed');
  const { oid: _oid, ...anonymous } = claims;
  await expect401(await fx.entra.signAccessToken(anonymous), /names no principal/, 'no oid, sub or appid');
});

test('when the signing keys cannot be fetched the answer is 503 transient with Retry-After, not 401', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const down = await fx.buildApp({ authorityHost: `https://127.0.0.1:${port}` });
  try {
    const token = await fx.clients.reader.token();
    used.push(token);
    const response = await send(down, 'GET', '/Patient/any', undefined, bearer(token));
    assert.is(response.statusCode, 503);
    assert.is(issueCode(response), 'transient');
    assert.is(response.headers['retry-after'], '5');
    assert.is(response.headers['www-authenticate'], undefined);
    // A malformed token is still the client's fault: it is refused before any key is needed.
    assert.is((await send(down, 'GET', '/Patient/any', undefined, bearer('garbage'))).statusCode, 401);
  } finally {
    await down.close();
  }
});

test('no log line carries an authorization value or a token', () => {
  const text = fx.log.text();
  assert.ok(text.length > 0, 'requests were logged');
  assert.ok(used.length >= 10);
  for (const token of used) {
    assert.ok(!text.includes(token), 'a token reached the log');
    assert.ok(!text.includes(token.split('.')[2]!), 'a token signature reached the log');
  }
  assert.ok(!/bearer\s+ey/i.test(text));
});

test.run();
