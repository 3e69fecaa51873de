/**
 * Unit tests of the registry's outage handling (fakes at the ports, a fake
 * clock): the dependency gate backs off and fails fast, honours a longer
 * retry-after, probes after the back-off; last-known documents answer failed
 * reads only while recent; Retry-After headers are parsed in all their forms.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRetryAfter } from '../../routing-server/adapters/entra-observed-credential.ts';
import { DependencyGate } from '../../routing-server/domain/dependency-gate.ts';
import { RoutingError } from '../../routing-server/domain/errors.ts';
import type { RefreshTokenDocument, RefreshTokenStore } from '../../routing-server/domain/ports.ts';
import { ResilientRefreshTokenStore } from '../../routing-server/domain/resilient-registry.ts';

const clock = { t: 1_000_000, now() { return this.t; } };
const down = () => Promise.reject(new RoutingError('dependency-unavailable', 'the registry database (Cosmos DB) is unavailable (ECONNREFUSED)'));

async function failure(p: Promise<unknown>): Promise<RoutingError> {
  try {
    await p;
  } catch (err) {
    return err as RoutingError;
  }
  throw new Error('expected a failure');
}

test('the gate shuts after a failure, fails fast with retry-after, and a probe after the back-off reopens it', async () => {
  const gate = new DependencyGate('Cosmos DB', { clock });
  let calls = 0;
  const first = await failure(gate.run(() => (calls++, down())));
  assert.is(first.retryAfterMs, 1_000);
  const fast = await failure(gate.run(() => (calls++, down())));
  assert.is(calls, 1, 'not called while shut');
  assert.is(fast.kind, 'dependency-unavailable');
  assert.match(fast.message, /Cosmos DB/);
  clock.t += 1_000;
  assert.is((await failure(gate.run(() => (calls++, down())))).retryAfterMs, 2_000, 'doubles');
  clock.t += 2_000;
  assert.is(await gate.run(async () => (calls++, 'ok')), 'ok');
  assert.is(calls, 3);
  assert.not.ok(gate.isShut);
  assert.is((await failure(gate.run(down))).retryAfterMs, 1_000, 'back-off starts over after a success');
  clock.t += 1_000;
});

test('open() ends the back-off at once and starts it over (the dependency was seen to answer by other means)', async () => {
  const gate = new DependencyGate('Cosmos DB', { clock });
  await failure(gate.run(down));
  clock.t += 1_000;
  await failure(gate.run(down));
  assert.ok(gate.isShut, 'shut for 2 s');
  gate.open();
  assert.not.ok(gate.isShut);
  assert.not.ok(gate.isFailing);
  assert.is(await gate.run(async () => 'ok'), 'ok', 'not refused');
  assert.is((await failure(gate.run(down))).retryAfterMs, 1_000, 'the back-off starts over');
  clock.t += 1_000;
});

test('the gate honours a longer retry-after from the dependency; other errors pass through without shutting it', async () => {
  const gate = new DependencyGate('Key Vault', { clock });
  const asked = await failure(gate.run(() => Promise.reject(new RoutingError('dependency-unavailable', 'throttled', { retryAfterMs: 7_000 }))));
  assert.is(asked.retryAfterMs, 7_000);
  clock.t += 7_000;
  const other = await failure(gate.run(() => Promise.reject(new RoutingError('not-found', 'no such account'))));
  assert.is(other.kind, 'not-found');
  assert.not.ok(gate.isShut);
});

test('last-known refresh-token documents answer failed reads while recent, never after', async () => {
  const doc: RefreshTokenDocument = { id: 'h', tokenId: 'rt-1', familyId: 'f', accountName: 'a', createTime: '', expireTime: '', state: 'active' };
  let up = true;
  const inner = { get: async () => (up ? doc : down()) } as unknown as RefreshTokenStore;
  const store = new ResilientRefreshTokenStore(inner, { gate: new DependencyGate('Cosmos DB', { clock }), staleIfErrorMs: 60_000, maxEntries: 10, clock });
  assert.equal(await store.get('h'), doc);
  up = false;
  assert.equal(await store.get('h'), doc, 'failed read answered from memory');
  assert.equal(await store.get('h'), doc, 'and again while the gate is shut');
  assert.is((await failure(store.get('other'))).kind, 'dependency-unavailable', 'nothing known: the outage shows');
  clock.t += 60_000;
  assert.is((await failure(store.get('h'))).kind, 'dependency-unavailable', 'too old to stand in');
});

test('Retry-After in seconds, as an HTTP date, and retry-after-ms', () => {
  const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] });
  assert.is(parseRetryAfter(headers({ 'retry-after': '3' })), 3_000);
  assert.is(parseRetryAfter(headers({ 'retry-after': new Date(10_000).toUTCString() }), 4_000), 6_000);
  assert.is(parseRetryAfter(headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
  assert.is(parseRetryAfter(headers({})), undefined);
  assert.is(parseRetryAfter(headers({ 'retry-after': 'soon' })), undefined);
});

test.run();
