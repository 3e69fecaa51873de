/** Pure timing rules of the routing clients: backoff with jitter and retry-after, and when a refresh token is due. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelayMs, routingRetryDefaults } from '../../fhir-server/routing/retry-policy.ts';
import { failureDelayMs, nextCheckDelayMs, rotationDueAt, rotationScheduleDefaults } from '../../fhir-server/routing/rotation-schedule.ts';
import type { StoredRefreshToken } from '../../fhir-server/routing/refresh-token-repository.ts';

const stored = (storedAtMs: number, expiresOnMs?: number): StoredRefreshToken => ({ token: 't', tokenId: 'rt-1', storedAtMs, expiresOnMs, etag: 'e' });

test('backoff doubles per attempt within [half, all] of the step, capped, and never below retry-after-ms', () => {
  const o = { ...routingRetryDefaults, initialDelayMs: 100, maxDelayMs: 1_000 };
  assert.is(backoffDelayMs(o, 1, undefined, () => 0), 50);
  assert.is(backoffDelayMs(o, 1, undefined, () => 1), 100);
  assert.is(backoffDelayMs(o, 3, undefined, () => 1), 400);
  assert.is(backoffDelayMs(o, 10, undefined, () => 1), 1_000);
  assert.is(backoffDelayMs(o, 1, 2_500, () => 1), 2_500);
  assert.is(backoffDelayMs(o, 4, 10, () => 0), 400);
});

test('a token is due at half its life, or rotateBefore ahead of expiry; a seed is due at once', () => {
  assert.is(rotationDueAt(stored(1_000, 101_000)), 51_000);
  assert.is(rotationDueAt(stored(1_000, 101_000), 10_000), 91_000);
  assert.is(rotationDueAt(stored(5_000)), 5_000);
});

test('the loop sleeps until due, at most the check interval, and backs off after failures', () => {
  const o = { ...rotationScheduleDefaults, checkIntervalMs: 10_000 };
  assert.is(nextCheckDelayMs(o, 3_000, 1_000, () => 1), 2_000);
  assert.is(nextCheckDelayMs(o, 1e12, 0, () => 1), 10_000);
  assert.is(nextCheckDelayMs(o, 1e12, 0, () => 0), 8_000);
  assert.is(nextCheckDelayMs(o, 0, 1_000), 50, 'overdue: check again soon, never spin');
  assert.is(failureDelayMs(o, 1, () => 1), 1_000);
  assert.is(failureDelayMs(o, 3, () => 1), 4_000);
  assert.is(failureDelayMs(o, 20, () => 1), 30_000);
});

test.run();
