import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RefreshingCache, tokenTiming } from '../../common/refreshing-cache.ts';

function timed(value: string, now: number, lifetime: number) {
  const t = tokenTiming(now, now + lifetime);
  return { value, refreshAtMs: t.refreshAtMs, serveUntilMs: t.serveUntilMs };
}

test('concurrent misses for one key share a single load', async () => {
  const cache = new RefreshingCache<string>({ maxEntries: 10 });
  let loads = 0;
  const load = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 20));
    return timed(`v${loads}`, Date.now(), 3_600_000);
  };
  const values = await Promise.all(Array.from({ length: 200 }, () => cache.get('k', load)));
  assert.is(loads, 1);
  assert.ok(values.every((v) => v === 'v1'));
  assert.is(cache.stats.misses, 200);
});

test('a due entry is served while one background refresh replaces it', async () => {
  let now = 1_000_000;
  const cache = new RefreshingCache<string>({ maxEntries: 10, now: () => now });
  let loads = 0;
  let release!: () => void;
  const load = async () => {
    loads++;
    if (loads > 1) await new Promise<void>((r) => (release = r));
    return timed(`v${loads}`, now, 60_000);
  };
  assert.is(await cache.get('k', load), 'v1');
  now += 50_000; // past refreshAt (45 s), before serveUntil (57 s)
  assert.is(await cache.get('k', load), 'v1', 'served without waiting');
  assert.is(await cache.get('k', load), 'v1');
  assert.is(loads, 2, 'one refresh started');
  release();
  await new Promise((r) => setImmediate(r));
  assert.is(await cache.get('k', load), 'v2');
  assert.is(cache.stats.backgroundRefreshes, 1);
});

test('an entry past its serve time makes callers wait for a new value', async () => {
  let now = 0;
  const cache = new RefreshingCache<string>({ maxEntries: 10, now: () => now });
  let loads = 0;
  const load = async () => timed(`v${++loads}`, now, 60_000);
  await cache.get('k', load);
  now += 59_000;
  assert.is(await cache.get('k', load), 'v2');
});

test('a failed load is not cached and the error reaches every waiting caller', async () => {
  const cache = new RefreshingCache<string>({ maxEntries: 10 });
  let calls = 0;
  const failing = async () => {
    calls++;
    throw new Error('down');
  };
  const results = await Promise.allSettled([cache.get('k', failing), cache.get('k', failing)]);
  assert.ok(results.every((r) => r.status === 'rejected'));
  assert.is(calls, 1);
  assert.is(await cache.get('k', async () => timed('ok', Date.now(), 60_000)), 'ok');
});

test('the cache is bounded: least recently used entries go first', async () => {
  const cache = new RefreshingCache<string>({ maxEntries: 3 });
  for (const k of ['a', 'b', 'c', 'd']) await cache.get(k, async () => timed(k, Date.now(), 60_000));
  assert.is(cache.size, 3);
  let reloaded = false;
  await cache.get('a', async () => ((reloaded = true), timed('a2', Date.now(), 60_000)));
  assert.ok(reloaded, 'a was evicted');
});

test('proactive refresh replaces a used entry without any caller', async () => {
  const cache = new RefreshingCache<string>({ maxEntries: 10, proactive: true });
  let loads = 0;
  const load = async () => {
    loads++;
    const now = Date.now();
    return { value: `v${loads}`, refreshAtMs: now + 50, serveUntilMs: now + 10_000 };
  };
  await cache.get('k', load);
  await cache.get('k', load); // marks it used
  await new Promise((r) => setTimeout(r, 150));
  assert.is(loads, 2);
  assert.is(await cache.get('k', load), 'v2');
});

test('token timing refreshes inside MSAL renewal window and before expiry', () => {
  const hour = tokenTiming(0, 3_600_000);
  assert.is(hour.refreshAtMs, 3_600_000 - 240_000);
  assert.ok(hour.clientRefreshAfterMs > hour.refreshAtMs && hour.clientRefreshAfterMs < 3_600_000);
  const short = tokenTiming(0, 60_000);
  assert.is(short.refreshAtMs, 45_000);
  assert.ok(short.serveUntilMs < 60_000 && short.serveUntilMs > short.refreshAtMs);
});

test.run();
