import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RefreshTokenManager, hashRefreshToken, type RefreshTokenOptions } from '../../routing-server/domain/refresh-tokens.ts';
import { RoutingError } from '../../routing-server/domain/errors.ts';
import { MemoryRefreshTokenStore } from '../support/memory-refresh-token-store.ts';

function setup(overrides: Partial<RefreshTokenOptions> = {}) {
  const clock = { t: 1_700_000_000_000, now() { return this.t; } };
  const store = new MemoryRefreshTokenStore();
  const manager = new RefreshTokenManager(store, { lifetimeMs: 86_400_000, graceMs: 60_000, cacheTtlMs: 5_000, cacheMaxEntries: 100, clock, ...overrides });
  return { clock, store, manager };
}

async function rejects(p: Promise<unknown>, kind: string, pattern?: RegExp) {
  try {
    await p;
    assert.unreachable('resolved');
  } catch (err) {
    assert.instance(err, RoutingError);
    assert.is((err as RoutingError).kind, kind);
    if (pattern) assert.match((err as Error).message, pattern);
  }
}

test('tokens are 256-bit random and stored only as hashes', async () => {
  const { store, manager } = setup();
  const { token, doc } = await manager.issue('acct-a');
  assert.match(token, /^fmrt_[A-Za-z0-9_-]{43}$/);
  assert.is(doc.id, hashRefreshToken(token));
  const stored = JSON.stringify([...store.docs.values()]);
  assert.not.ok(stored.includes(token.slice(5)), 'token value not stored');
  assert.is((await manager.validate(token)).accountName, 'acct-a');
});

test('missing, malformed, unknown and expired tokens are unauthenticated', async () => {
  const { clock, manager } = setup({ lifetimeMs: 10_000, cacheTtlMs: 0 });
  await rejects(manager.validate(undefined), 'unauthenticated', /required/);
  await rejects(manager.validate('nope'), 'unauthenticated');
  await rejects(manager.validate('fmrt_' + 'x'.repeat(43)), 'unauthenticated', /unknown/);
  const { token } = await manager.issue('acct-a');
  clock.t += 11_000;
  await rejects(manager.validate(token), 'unauthenticated', /expired/);
});

test('rotation returns a new token; the old one works during the grace window only', async () => {
  const { clock, manager } = setup({ cacheTtlMs: 0 });
  const { token } = await manager.issue('acct-a');
  const principal = await manager.validate(token);
  const { issued, previousValidUntilMs } = await manager.rotate(principal, token);
  assert.is.not(issued.token, token);
  assert.is(previousValidUntilMs, clock.t + 60_000);
  assert.is((await manager.validate(token)).accountName, 'acct-a', 'old token within grace');
  assert.is((await manager.validate(issued.token)).familyId, principal.familyId);
  clock.t += 61_000;
  assert.is((await manager.validate(issued.token)).accountName, 'acct-a', 'new token still fine');
});

test('a rotated-out token presented after the grace window revokes its family', async () => {
  const { clock, manager } = setup({ cacheTtlMs: 0 });
  const { token } = await manager.issue('acct-a');
  const { issued } = await manager.rotate(await manager.validate(token), token);
  const other = await manager.issue('acct-a'); // another family stays valid
  clock.t += 61_000;
  await rejects(manager.validate(token), 'unauthenticated', /family is now revoked/);
  await rejects(manager.validate(issued.token), 'unauthenticated', /revoked/);
  assert.is((await manager.validate(other.token)).accountName, 'acct-a');
});

test('ten instances rotating the same token at once: one successor, which every one of them gets', async () => {
  const { store, clock } = setup({ cacheTtlMs: 0 });
  const options = { lifetimeMs: 86_400_000, graceMs: 60_000, cacheTtlMs: 0, cacheMaxEntries: 10, clock };
  const managers = Array.from({ length: 10 }, () => new RefreshTokenManager(store, options));
  const { token } = await managers[0]!.issue('acct-a');
  const principals = await Promise.all(managers.map((m) => m.validate(token)));
  const rotations = await Promise.all(managers.map((m, i) => m.rotate(principals[i]!, token)));
  assert.equal(new Set(rotations.map((r) => r.issued.token)).size, 1, 'one successor value');
  assert.equal(new Set(rotations.map((r) => r.issued.doc.tokenId)).size, 1, 'one successor id');
  const docs = [...store.docs.values()];
  assert.is(docs.length, 2, 'the token and its one successor are all that is stored');
  assert.equal(docs.map((d) => d.state).sort(), ['active', 'rotated']);
  assert.is(managers.reduce((n, m) => n + m.stats.rotations, 0), 1, 'one new successor minted');
  assert.not.ok(JSON.stringify(docs).includes(rotations[0]!.issued.token.slice(5)), 'the successor is stored sealed, never in clear');
  clock.t += 120_000;
  assert.is((await managers[3]!.validate(rotations[0]!.issued.token)).accountName, 'acct-a');
});

test('rotating a rotated token again within its window returns the same successor; after the window it revokes the family', async () => {
  const { clock, manager } = setup({ cacheTtlMs: 0 });
  const { token } = await manager.issue('acct-a');
  const first = await manager.rotate(await manager.validate(token), token);
  clock.t += 30_000;
  const again = await manager.rotate(await manager.validate(token), token);
  assert.is(again.issued.token, first.issued.token);
  assert.is(again.issued.doc.tokenId, first.issued.doc.tokenId);
  assert.is(again.previousValidUntilMs, first.previousValidUntilMs, 'the window is not extended');
  assert.is(manager.stats.rotations, 1);
  assert.is(manager.stats.repeatedRotations, 1);
  clock.t += 31_000;
  const principal = { ...(await manager.validate(first.issued.token)), hash: hashRefreshToken(token) };
  await rejects(manager.rotate(principal, token), 'unauthenticated', /family is now revoked/);
  await rejects(manager.validate(first.issued.token), 'unauthenticated', /revoked/);
});

test('a token whose successor was already rotated revokes the family when presented, even inside its window', async () => {
  const { manager } = setup({ cacheTtlMs: 0 });
  const { token } = await manager.issue('acct-a');
  const { issued } = await manager.rotate(await manager.validate(token), token);
  const next = await manager.rotate(await manager.validate(issued.token), issued.token);
  await rejects(manager.validate(token), 'unauthenticated', /family is now revoked/);
  await rejects(manager.validate(next.issued.token), 'unauthenticated', /revoked/);
});

test('a rotation that stopped after recording its successor is completed by the next rotation of the same token', async () => {
  const { store, manager } = setup({ cacheTtlMs: 0 });
  const { token } = await manager.issue('acct-a');
  const first = await manager.rotate(await manager.validate(token), token);
  store.docs.delete(first.issued.doc.id); // as if the process died between the two writes
  const again = await manager.rotate(await manager.validate(token), token);
  assert.is(again.issued.token, first.issued.token);
  assert.is((await manager.validate(first.issued.token)).tokenId, first.issued.doc.tokenId);
});

test('concurrent cold validations of one token read it once; refused tokens are answered from memory; a peer\'s bad tokens are bounded', async () => {
  const { store } = setup();
  let reads = 0;
  const counted = Object.assign(Object.create(store) as typeof store, { get: (hash: string) => (reads++, store.get(hash)) });
  const clock = { t: 1_700_000_000_000, now() { return this.t; } };
  const manager = new RefreshTokenManager(counted, { lifetimeMs: 86_400_000, graceMs: 60_000, cacheTtlMs: 5_000, cacheMaxEntries: 100, clock, peerBudget: { burst: 5, perSecond: 2 } });
  const { token } = await manager.issue('acct-a');
  const all = await Promise.all(Array.from({ length: 200 }, () => manager.validate(token, 'peer-1')));
  assert.ok(all.every((p) => p.accountName === 'acct-a'));
  assert.is(reads, 1, 'one read for 200 concurrent cold validations');

  const bad = `fmrt_${'b'.repeat(43)}`;
  await rejects(manager.validate(bad, 'peer-2'), 'unauthenticated', /unknown/);
  await rejects(manager.validate(bad, 'peer-2'), 'unauthenticated', /unknown/);
  assert.is(reads, 2, 'a refused token is remembered');

  reads = 0;
  const outcomes = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => manager.validate(`fmrt_${String(i).padStart(43, 'r')}`, 'peer-3')));
  const throttled = outcomes.filter((o) => o.status === 'rejected' && (o.reason as RoutingError).kind === 'resource-exhausted');
  assert.is(reads, 5, 'the burst, then nothing');
  assert.is(throttled.length, 95);
  assert.ok(((throttled[0] as PromiseRejectedResult).reason as RoutingError).retryAfterMs! > 0, 'says when to retry');
  assert.is((await manager.validate(token, 'peer-3')).accountName, 'acct-a', 'a cached valid token still passes');
  await rejects(manager.validate(`fmrt_${'n'.repeat(43)}`, 'peer-4'), 'unauthenticated', /unknown/);
  clock.t += 500;
  await rejects(manager.validate(`fmrt_${'m'.repeat(43)}`, 'peer-3'), 'unauthenticated', /unknown/);
  assert.is(reads, 7, 'other peers are not held back; the peer regains reads over time');
});

test('revocation takes effect once the validation cache entry ages out', async () => {
  const { clock, manager, store } = setup({ cacheTtlMs: 5_000 });
  const { token } = await manager.issue('acct-a');
  await manager.validate(token);
  // Revoked by another instance: this one's cache still holds the validation.
  const other = new RefreshTokenManager(store, { lifetimeMs: 1, graceMs: 1, cacheTtlMs: 0, cacheMaxEntries: 1 });
  assert.is(await other.revoke('acct-a'), 1);
  assert.is((await manager.validate(token)).accountName, 'acct-a', 'cached for up to the TTL');
  clock.t += 5_001;
  await rejects(manager.validate(token), 'unauthenticated', /revoked/);
});

test('revoking one family leaves the others; listing never shows values', async () => {
  const { manager } = setup({ cacheTtlMs: 0 });
  const one = await manager.issue('acct-a');
  const two = await manager.issue('acct-a');
  assert.is(await manager.revoke('acct-a', one.doc.tokenId), 1);
  await rejects(manager.validate(one.token), 'unauthenticated');
  assert.is((await manager.validate(two.token)).accountName, 'acct-a');
  const listed = await manager.list('acct-a');
  assert.is(listed.length, 2);
  assert.equal(listed.map((d) => manager.stateOf(d)).sort(), ['active', 'revoked']);
  await rejects(manager.revoke('acct-a', 'rt-unknown'), 'not-found');
});

test.run();
