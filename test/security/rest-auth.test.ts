/**
 * Authentication and authorization at every front door of a running mesh
 * (HTTPS and gRPC, real clients): missing, malformed, expired, not-yet-valid,
 * wrong-issuer, wrong-audience, foreign-signature and unsigned (`alg: none`)
 * tokens get 401 + `WWW-Authenticate` (UNAUTHENTICATED over gRPC) on every
 * route; a valid token without the route's role gets 403 (PERMISSION_DENIED);
 * the routing admin API refuses everything but an admin token.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Metadata, status } from '@grpc/grpc-js';
import { decodeProtectedHeader, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { ClientSecretCredential } from '@azure/identity';
import { randomBytes } from 'node:crypto';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { FHIR_API, startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { ROUTING_API } from '../../dev/routing-setup.ts';
import { entraCredentialOptions } from '../../common/auth/entra-credential-options.ts';
import { ExportServiceClient } from '../../gen/fhirmesh/fhir/v1/export_service.ts';
import { expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { https, type HttpResponse } from '../support/https.ts';
import { newClient } from './support/mesh-clients.ts';

let mesh: MeshSetup;
let ca: string;
let exportsGrpc: ExportServiceClient;
const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Each route class and a request that needs it. */
const routes: { access: 'read' | 'write' | 'export' | 'admin'; method: string; path: string; body?: unknown }[] = [
  { access: 'read', method: 'GET', path: '/Patient/p1' },
  { access: 'read', method: 'GET', path: '/Patient' },
  { access: 'write', method: 'PUT', path: '/Patient/p1', body: { resourceType: 'Patient', id: 'p1' } },
  { access: 'write', method: 'POST', path: '/Patient', body: { resourceType: 'Patient' } },
  { access: 'write', method: 'DELETE', path: '/Patient/p1' },
  { access: 'write', method: 'POST', path: '/', body: { resourceType: 'Bundle', type: 'batch', entry: [] } },
  { access: 'export', method: 'GET', path: '/$export' },
  { access: 'export', method: 'POST', path: '/Patient/$export', body: { resourceType: 'Parameters' } },
  { access: 'export', method: 'GET', path: '/Group/g1/$export' },
  { access: 'export', method: 'GET', path: '/_export/some-job' },
  { access: 'export', method: 'DELETE', path: '/_export/some-job' },
  { access: 'export', method: 'GET', path: '/_export/some-job/files/Patient-1.ndjson' },
  { access: 'admin', method: 'GET', path: '/_admin/configuration' },
];
const roleOf = { read: 'Fhir.Read', write: 'Fhir.Write', export: 'Fhir.Export', admin: 'Fhir.Admin' } as const;
const bad: Record<string, string | undefined> = {};

function send(route: (typeof routes)[number], authorization: string | undefined): Promise<HttpResponse> {
  return https(`${mesh.fhir.baseUrl}${route.path}`, {
    method: route.method,
    ca,
    headers: { prefer: 'respond-async', ...(authorization !== undefined ? { authorization } : {}) },
    ...(route.body ? { body: route.body } : {}),
  });
}

function assertOutcome(res: HttpResponse, expected: number, what: string): void {
  assert.is(res.status, expected, `${what}: ${res.body.slice(0, 200)}`);
  assert.is((JSON.parse(res.body) as { resourceType: string }).resourceType, 'OperationOutcome', what);
  assert.match(String(res.headers['www-authenticate']), /^Bearer realm="fhirmesh-fhir"/, `${what}: WWW-Authenticate`);
}

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'rest-auth' });
  ca = mesh.routing.standIns.tls.caPem;
  exportsGrpc = new ExportServiceClient(mesh.fhir.grpcAddress, tlsChannelCredentials(ca));
  const entra = mesh.routing.standIns.entra;
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = { aud: FHIR_API, iss: entra.issuer(), iat: now, nbf: now, exp: now + 3600, tid: entra.tenantId, oid: 'sec-oid', roles: Object.values(roleOf) };
  const real = await newClient(mesh, Object.values(roleOf)).token();
  const kid = decodeProtectedHeader(real).kid!;
  const { privateKey } = await generateKeyPair('RS256');
  bad.missing = undefined;
  bad['empty bearer'] = 'Bearer ';
  bad['basic scheme'] = `Basic ${Buffer.from('user:pass').toString('base64')}`;
  bad['not a JWT'] = 'Bearer abc.def';
  bad['garbage JWT'] = `Bearer ${b64({ alg: 'RS256' })}.${'%%%'}.xyz`;
  bad['two tokens'] = `Bearer ${real} ${real}`;
  bad.expired = `Bearer ${await entra.signAccessToken({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 })}`;
  bad['not yet valid'] = `Bearer ${await entra.signAccessToken({ ...claims, nbf: now + 3600, exp: now + 7200 })}`;
  bad['wrong issuer'] = `Bearer ${await entra.signAccessToken({ ...claims, iss: 'https://sts.windows.net/11111111-1111-1111-1111-111111111111/' })}`;
  bad['wrong audience'] = `Bearer ${await entra.signAccessToken({ ...claims, aud: ROUTING_API })}`;
  bad['foreign signature'] = `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey)}`;
  bad['alg none'] = `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
  bad['alg none, kid of the tenant'] = `Bearer ${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims)}.`;
  bad['HS256 with the public key id'] = `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode('k'.repeat(32)))}`;
  bad['signature stripped'] = `Bearer ${real.split('.').slice(0, 2).join('.')}.`;
  bad['payload swapped'] = `Bearer ${real.split('.')[0]}.${b64({ ...claims, oid: 'someone-else' })}.${real.split('.')[2]}`;
  bad['refresh token'] = `Bearer ${mesh.account.refreshToken}`;
}));
test.after(async () => {
  exportsGrpc?.close();
  await mesh?.stop();
});

test('every REST route answers 401 + WWW-Authenticate + OperationOutcome to every bad credential', async () => {
  let checked = 0;
  for (const route of routes) {
    for (const [what, authorization] of Object.entries(bad)) {
      assertOutcome(await send(route, authorization), 401, `${route.method} ${route.path} with ${what}`);
      checked++;
    }
  }
  console.log(`rest auth: ${checked} (route, bad credential) pairs refused with 401`);
});

test('a valid token without the route\'s role gets 403 with an insufficient_scope challenge; with it, it passes authorization', async () => {
  const all = Object.values(roleOf);
  const tokens = new Map<string, string>();
  for (const access of Object.keys(roleOf) as (keyof typeof roleOf)[]) {
    tokens.set(`without ${access}`, await newClient(mesh, all.filter((r) => r !== roleOf[access])).token());
    tokens.set(`only ${access}`, await newClient(mesh, [roleOf[access]]).token());
  }
  tokens.set('no role', await newClient(mesh, []).token());
  for (const route of routes) {
    for (const who of [`without ${route.access}`, 'no role']) {
      const res = await send(route, `Bearer ${tokens.get(who)}`);
      assertOutcome(res, 403, `${route.method} ${route.path} ${who}`);
      assert.match(String(res.headers['www-authenticate']), new RegExp(`insufficient_scope", scope="${roleOf[route.access]}"`));
    }
    const allowed = await send(route, `Bearer ${tokens.get(`only ${route.access}`)}`);
    assert.ok(allowed.status !== 401 && allowed.status !== 403, `${route.method} ${route.path} with only its role: ${allowed.status}`);
  }
  // Clean up any job the allowed kick-offs queued.
  await new Promise((r) => setTimeout(r, 100));
});

test('the gRPC ExportService: bad credentials are UNAUTHENTICATED, a token without Fhir.Export is PERMISSION_DENIED', async () => {
  const request = { jobId: 'any-job' };
  for (const [what, authorization] of Object.entries(bad)) {
    const md = new Metadata();
    if (authorization !== undefined) md.set('authorization', authorization);
    await expectStatus(unaryCall(exportsGrpc.getExport, exportsGrpc, request, md), status.UNAUTHENTICATED).catch((err: Error) => Promise.reject(new Error(`${what}: ${err.message}`)));
  }
  const reader = await newClient(mesh, ['Fhir.Read', 'Fhir.Write', 'Fhir.Admin']).token();
  await expectStatus(unaryCall(exportsGrpc.getExport, exportsGrpc, request, bearerMetadata(reader)), status.PERMISSION_DENIED);
  await expectStatus(unaryCall(exportsGrpc.cancelExport, exportsGrpc, request, bearerMetadata(reader)), status.PERMISSION_DENIED);
  const exporter = await newClient(mesh, ['Fhir.Export']).token();
  await expectStatus(unaryCall(exportsGrpc.getExport, exportsGrpc, request, bearerMetadata(exporter)), status.NOT_FOUND);
});

test('the routing admin API refuses non-admin credentials: UNAUTHENTICATED for bad tokens, PERMISSION_DENIED without the role', async () => {
  const s = mesh.routing.standIns;
  const accounts = mesh.routing.accounts;
  const get = (md: Metadata) => unaryCall(accounts.getAccount, accounts, { name: mesh.account.name }, md);
  const list = (md: Metadata) => unaryCall(accounts.listAccounts, accounts, { pageSize: 5, pageToken: '' }, md);
  const now = Math.floor(Date.now() / 1000);
  const adminClaims: JWTPayload = { aud: ROUTING_API, iss: s.entra.issuer(), iat: now, nbf: now, exp: now + 3600, tid: s.entra.tenantId, oid: 'op', roles: ['Routing.Admin'] };
  const { privateKey } = await generateKeyPair('RS256');
  const kid = decodeProtectedHeader(await mesh.routing.adminToken()).kid!;
  const unauthenticated: Record<string, string | undefined> = {
    missing: undefined,
    'refresh token': mesh.account.refreshToken,
    'FHIR API token (wrong audience)': (await newClient(mesh, Object.values(roleOf)).token()),
    expired: await s.entra.signAccessToken({ ...adminClaims, nbf: now - 7200, iat: now - 7200, exp: now - 3600 }),
    'not yet valid': await s.entra.signAccessToken({ ...adminClaims, nbf: now + 3600, exp: now + 7200 }),
    'wrong issuer': await s.entra.signAccessToken({ ...adminClaims, iss: 'https://sts.windows.net/11111111-1111-1111-1111-111111111111/' }),
    'foreign signature': await new SignJWT(adminClaims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(adminClaims)}.`,
  };
  for (const [what, token] of Object.entries(unauthenticated)) {
    const md = token === undefined ? new Metadata() : bearerMetadata(token);
    for (const call of [get, list]) {
      await expectStatus(call(md), status.UNAUTHENTICATED).catch((err: Error) => Promise.reject(new Error(`${what}: ${err.message}`)));
    }
  }
  // A real Entra token for the routing API, but from an app without the admin role.
  const secret = randomBytes(24).toString('base64url');
  const app = s.entra.registerApplication({ displayName: 'not an operator', secrets: [secret], roles: { [ROUTING_API]: ['Routing.Reader'] } });
  const credential = new ClientSecretCredential(s.entra.tenantId, app.appId, secret, entraCredentialOptions({ authorityHost: s.entra.authorityHost, caPem: s.tls.caPem }));
  const noRole = bearerMetadata((await credential.getToken(`${ROUTING_API}/.default`))!.token);
  await expectStatus(get(noRole), status.PERMISSION_DENIED, /Routing.Admin/);
  await expectStatus(unaryCall(accounts.issueRefreshToken, accounts, { accountName: mesh.account.name }, noRole), status.PERMISSION_DENIED);
  await expectStatus(unaryCall(accounts.revokeRefreshTokens, accounts, { accountName: mesh.account.name, tokenId: '' }, noRole), status.PERMISSION_DENIED);
  // The control: the operator's token works.
  assert.is((await get(bearerMetadata(await mesh.routing.adminToken()))).account?.name, mesh.account.name);
});

test.run();
