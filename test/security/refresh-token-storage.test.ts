/**
 * Refresh tokens at rest and in time: no raw token value in any routing
 * registry document (only SHA-256 hashes), the fhir-server keeps its own token
 * in exactly one document; a rotated-out token presented after the grace
 * window revokes its whole family; a revoked token is refused by another
 * routing instance once the documented validation cache time
 * (`cache.refreshTokenSeconds`, default 5 s) has passed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { createCosmosClient } from '../../common/cosmos.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { RefreshTokenServiceClient } from '../../gen/fhirmesh/routing/v1/refresh_token_service.ts';
import { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { plain, readEveryDocument, type FoundDocument } from './support/mesh-clients.ts';

const GRACE_SECONDS = 1;
const VALIDATION_CACHE_SECONDS = 5; // the documented default of cache.refreshTokenSeconds
const STORAGE = 'https://storage.azure.com';
let mesh: MeshSetup;
let second: RoutingSetup;
const issued: string[] = [];
const clients: { close(): void }[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tokenClients(address: string) {
  const channel = tlsChannelCredentials(mesh.routing.standIns.tls.caPem);
  const t = new TokenServiceClient(address, channel);
  const r = new RefreshTokenServiceClient(address, channel);
  clients.push(t, r);
  return {
    getToken: (refresh: string) => unaryCall(t.getToken, t, { resourceUri: STORAGE }, bearerMetadata(refresh)),
    rotate: async (refresh: string) => {
      const next = (await unaryCall(r.rotateRefreshToken, r, {}, bearerMetadata(refresh))).refreshToken;
      issued.push(next);
      return next;
    },
  };
}

async function issue(account: string): Promise<string> {
  const admin = mesh.routing.accounts;
  const res = await unaryCall(admin.issueRefreshToken, admin, { accountName: account }, bearerMetadata(await mesh.routing.adminToken()));
  issued.push(res.refreshToken);
  return res.refreshToken;
}

async function documents(): Promise<FoundDocument[]> {
  const s = mesh.routing.standIns;
  const cosmos = createCosmosClient({ endpoint: s.cosmos.endpoint, key: s.cosmos.key, caPem: s.tls.caPem });
  try {
    return await readEveryDocument(cosmos);
  } catch (err) {
    throw plain(err);
  } finally {
    cosmos.dispose();
  }
}

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'rt-store', env: { ROUTING_REFRESH_TOKEN_GRACE_SECONDS: String(GRACE_SECONDS) } });
  issued.push(mesh.account.refreshToken);
  // A second routing instance on the same registry (another replica behind the load balancer).
  second = await startRoutingSetup({ standIns: mesh.routing.standIns, env: { ROUTING_REFRESH_TOKEN_GRACE_SECONDS: String(GRACE_SECONDS) } });
}));
test.after(async () => {
  for (const c of clients) c.close();
  await second?.stop();
  await mesh?.stop();
});

test('a rotated-out token presented after the grace window is refused and revokes its whole family', async () => {
  const first = (await mesh.routing.provisionAccount('rt-replay', { credential: 'secret' })).refreshToken;
  issued.push(first);
  const one = tokenClients(mesh.routing.address);
  const secondToken = await one.rotate(first);
  const third = await one.rotate(secondToken);
  assert.ok((await one.getToken(third)).accessToken, 'the newest token works');
  await sleep(GRACE_SECONDS * 1000 + 500);
  await expectStatus(one.getToken(first), status.UNAUTHENTICATED, /rotated out; its family is now revoked/);
  await expectStatus(one.getToken(third), status.UNAUTHENTICATED, /revoked/);
  await expectStatus(one.rotate(third), status.UNAUTHENTICATED);
  const stored = (await documents()).filter((d) => d.container === 'refreshTokens' && d.json.includes('"accountName":"rt-replay"'));
  assert.is(stored.length, 3);
  assert.ok(stored.every((d) => JSON.parse(d.json).state === 'revoked'), 'every token of the family is revoked in the registry');
  // Another account's tokens are untouched.
  const other = await issue('rt-store');
  assert.ok((await one.getToken(other)).accessToken);
});

test(`a revoked token is refused by another routing instance after ${VALIDATION_CACHE_SECONDS} s (the validation cache time)`, async () => {
  const token = (await mesh.routing.provisionAccount('rt-revoke', { credential: 'secret' })).refreshToken;
  issued.push(token);
  const replica = tokenClients(second.address);
  assert.ok((await replica.getToken(token)).accessToken, 'the replica has validated (and cached) the token');
  const admin = mesh.routing.accounts;
  const { revokedCount } = await unaryCall(admin.revokeRefreshTokens, admin, { accountName: 'rt-revoke', tokenId: '' }, bearerMetadata(await mesh.routing.adminToken()));
  assert.is(revokedCount, 1);
  const revokedAt = Date.now();
  // The instance that revoked refuses at once; the replica may serve from its cache until the cache time has passed.
  await expectStatus(tokenClients(mesh.routing.address).getToken(token), status.UNAUTHENTICATED, /revoked/);
  let stillServedMs = 0;
  for (;;) {
    const elapsed = Date.now() - revokedAt;
    if (elapsed > VALIDATION_CACHE_SECONDS * 1000 + 200) break;
    try {
      await replica.getToken(token);
      stillServedMs = elapsed;
    } catch {
      break;
    }
    await sleep(250);
  }
  await sleep(Math.max(0, revokedAt + VALIDATION_CACHE_SECONDS * 1000 + 200 - Date.now()));
  await expectStatus(replica.getToken(token), status.UNAUTHENTICATED, /revoked/);
  console.log(`revocation: the replica served the revoked token for at most ${stillServedMs} ms after revocation (bound ${VALIDATION_CACHE_SECONDS * 1000} ms)`);
});

test('no registry document holds a raw refresh token; each token is stored as its SHA-256 hash', async () => {
  const rt = tokenClients(mesh.routing.address);
  const rotated = await rt.rotate(await issue('rt-store'));
  await rt.getToken(rotated);
  const docs = await documents();
  const registry = docs.filter((d) => d.database === 'registry');
  assert.ok(registry.length > 5, 'the registry was read');
  const ids = new Set(registry.filter((d) => d.container === 'refreshTokens').map((d) => d.id));
  // The fhir-server's current token (rotated by its upkeep, perhaps) is a token too.
  const fhirTokenDocs = docs.filter((d) => d.database === mesh.fhirEnv.FHIR_COSMOS_DATABASE && d.json.includes('fmrt_'));
  for (const d of fhirTokenDocs) issued.push(JSON.parse(d.json).refreshToken);
  for (const token of new Set(issued)) {
    const secretPart = token.slice('fmrt_'.length);
    for (const d of docs.filter((x) => x.database === 'registry')) {
      assert.not.ok(d.json.includes(secretPart), `registry ${d.container}/${d.id} holds a raw refresh token`);
    }
    assert.ok(ids.has(createHash('sha256').update(token).digest('hex')), 'the token is stored as its hash');
  }
  // The fhir-server needs its token to call the routing server: one document, its designated home, and nowhere else.
  const holders = docs.filter((d) => d.database !== 'registry' && [...issued].some((t) => d.json.includes(t.slice(5))));
  assert.equal(holders.map((d) => `${d.database}/${d.container}/${d.id}`), [`${mesh.fhirEnv.FHIR_COSMOS_DATABASE}/system/routing-refresh-token`]);
  console.log(`refresh tokens at rest: ${new Set(issued).size} tokens searched in ${docs.length} documents`);
});

test.run();
