/**
 * The Cosmos refresh token repository against the Cosmos DB stand-in through
 * the real SDK: seeded once from configuration, stored token wins afterwards,
 * writes guarded by etag.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CosmosClient } from '@azure/cosmos';
import { createCosmosClient } from '../../common/cosmos.ts';
import { startStandIns, type StandIns } from '../../dev/standins.ts';
import { openCosmosRefreshTokenRepository, refreshTokenRepositoryDefaults } from '../../fhir-server/routing/cosmos-refresh-token-repository.ts';
import { RefreshTokenStoreError } from '../../fhir-server/routing/refresh-token-repository.ts';
import { loud } from '../support/hooks.ts';

let standIns: StandIns;
let cosmos: CosmosClient;
const open = (databaseId: string, bootstrapRefreshToken?: string) => openCosmosRefreshTokenRepository(cosmos, { databaseId, bootstrapRefreshToken });
const update = (n: number, previousTokenId: string) => ({ token: `fmrt_new-${n}`, tokenId: `rt-${n}`, expiresOnMs: Date.now() + 60_000, previousTokenId });

test.before(loud('before', async () => {
  standIns = await startStandIns();
  cosmos = createCosmosClient({ endpoint: standIns.cosmos.endpoint, key: standIns.cosmos.key, caPem: standIns.tls.caPem });
}));

test.after(async () => {
  cosmos?.dispose();
  await standIns?.stop();
});

test('concurrent first reads seed one document from the bootstrap token', async () => {
  const repos = await Promise.all(Array.from({ length: 5 }, () => open('fhir-repo-seed', 'fmrt_seed')));
  const stored = await Promise.all(repos.map((r) => r.current()));
  assert.is(new Set(stored.map((s) => s.etag)).size, 1, 'one document, one version');
  assert.is(stored[0]!.token, 'fmrt_seed');
  assert.is(stored[0]!.tokenId, 'bootstrap');
  assert.is(stored[0]!.expiresOnMs, undefined, 'a seed has no known expiry');
  const { resource } = await cosmos.database('fhir-repo-seed').container(refreshTokenRepositoryDefaults.containerId)
    .item(refreshTokenRepositoryDefaults.documentId, refreshTokenRepositoryDefaults.documentId).read();
  assert.is(resource?.source, 'bootstrap');
});

test('after a rotation the stored token wins over the configured one', async () => {
  const first = await open('fhir-repo-wins', 'fmrt_seed');
  const seed = await first.current();
  const result = await first.replace(seed, update(1, seed.tokenId));
  assert.is(result.outcome, 'stored');
  const restarted = await open('fhir-repo-wins', 'fmrt_seed');
  const stored = await restarted.current();
  assert.is(stored.token, 'fmrt_new-1');
  assert.is(stored.tokenId, 'rt-1');
  assert.ok(stored.expiresOnMs! > Date.now());
});

test('a new bootstrap token (never seeded before) replaces a rotated one at the next read; an earlier one does not come back', async () => {
  const first = await open('fhir-repo-reissue', 'fmrt_seed');
  const seed = await first.current();
  await first.replace(seed, update(1, seed.tokenId));
  // The family was revoked; the operator issued a new token, configured it and restarted.
  const reissued = await open('fhir-repo-reissue', 'fmrt_reissued');
  const adopted = await reissued.current();
  assert.is(adopted.token, 'fmrt_reissued');
  assert.is(adopted.tokenId, 'bootstrap');
  assert.is(adopted.expiresOnMs, undefined, 'due for rotation at once, like any seed');
  // An instance still configured with the first token keeps what is stored.
  assert.is((await open('fhir-repo-reissue', 'fmrt_seed').then((r) => r.current())).token, 'fmrt_reissued');
  // After the new seed is rotated, neither bootstrap token replaces it.
  await reissued.replace(adopted, update(2, adopted.tokenId));
  assert.is((await open('fhir-repo-reissue', 'fmrt_reissued').then((r) => r.current())).token, 'fmrt_new-2');
  assert.is((await open('fhir-repo-reissue', 'fmrt_seed').then((r) => r.current())).token, 'fmrt_new-2');
  const { resource } = await cosmos.database('fhir-repo-reissue').container(refreshTokenRepositoryDefaults.containerId)
    .item(refreshTokenRepositoryDefaults.documentId, refreshTokenRepositoryDefaults.documentId).read();
  assert.is(resource?.bootstrapDigests?.length, 2, 'digests of both bootstrap tokens, no token values');
  assert.not.ok(JSON.stringify(resource.bootstrapDigests).includes('fmrt_'), 'only digests are kept of earlier tokens');
});

test('a write with a stale etag loses and reports what is stored', async () => {
  const a = await open('fhir-repo-race', 'fmrt_seed');
  const b = await open('fhir-repo-race', 'fmrt_seed');
  const seenByA = await a.current();
  const seenByB = await b.current();
  assert.is((await a.replace(seenByA, update(1, seenByA.tokenId))).outcome, 'stored');
  const lost = await b.replace(seenByB, update(2, seenByB.tokenId));
  assert.is(lost.outcome, 'lost-race');
  assert.is(lost.current.tokenId, 'rt-1');
  assert.is((await b.current()).token, 'fmrt_new-1');
});

test('no document and no bootstrap token: a typed not-configured error without secrets', async () => {
  const repo = await open('fhir-repo-empty');
  let err: unknown;
  try {
    await repo.current();
  } catch (e) {
    err = e;
  }
  assert.instance(err, RefreshTokenStoreError);
  assert.is((err as RefreshTokenStoreError).kind, 'not-configured');
});

test.run();
