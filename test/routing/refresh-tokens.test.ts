import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RefreshTokenManager, hashRefreshToken } from '../../routing-server/domain/refresh-tokens.ts';
import { RoutingError } from '../../routing-server/domain/errors.ts';
import { MemoryRefreshTokenStore } from '../support/memory-refresh-token-store.ts';

function setup(overrides: Partial<{ graceMs: number; cacheTtlMs: number; lifetimeMs: number }> = {}) {
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
  const { issued, previousValidUntilMs } = await manager.rotate(principal);
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
  const { issued } = await manager.rotate(await manager.validate(token));
  const other = await manager.issue('acct-a'); // another family stays valid
  clock.t += 61_000;
  await rejects(manager.validate(token), 'unauthenticated', /family is now revoked/);
  await rejects(manager.validate(issued.token), 'unauthenticated', /revoked/);
  assert.is((await manager.validate(other.token)).accountName, 'acct-a');
});

test('two instances rotating the same token at once both end up with working tokens', async () => {
  const { store, clock } = setup({ cacheTtlMs: 0 });
  const options = { lifetimeMs: 86_400_000, graceMs: 60_000, cacheTtlMs: 0, cacheMaxEntries: 10, clock };
  const a = new RefreshTokenManager(store, options);
  const b = new RefreshTokenManager(store, options);
  const { token } = await a.issue('acct-a');
  const [pa, pb] = await Promise.all([a.validate(token), b.validate(token)]);
  const [ra, rb] = await Promise.all([a.rotate(pa), b.rotate(pb)]);
  clock.t += 120_000;
  assert.is((await a.validate(ra.issued.token)).accountName, 'acct-a');
  assert.is((await b.validate(rb.issued.token)).accountName, 'acct-a');
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
