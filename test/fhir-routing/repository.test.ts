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
