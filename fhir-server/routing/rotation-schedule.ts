/** When the stored refresh token is rotated, and how the upkeep loop paces itself. */
import type { StoredRefreshToken } from './refresh-token-repository.ts';

/** Pacing of the refresh-token upkeep loop. */
export interface RotationScheduleOptions {
  /** Longest sleep between two checks of the stored token (default 5 min). */
  checkIntervalMs: number;
  /** Rotate once this little of the token's life remains; without it, once half its life has passed. */
  rotateBeforeMs: number | undefined;
  /** First wait after a failed check (default 1 s); doubles per failure. Keep it far below the routing server's grace window. */
  failureBackoffInitialMs: number;
  /** Longest wait after failed checks (default 30 s). */
  failureBackoffMaxMs: number;
}

/** Defaults of {@link RotationScheduleOptions}. */
export const rotationScheduleDefaults: Readonly<RotationScheduleOptions> = Object.freeze({
  checkIntervalMs: 5 * 60_000,
  rotateBeforeMs: undefined,
  failureBackoffInitialMs: 1_000,
  failureBackoffMaxMs: 30_000,
});

/**
 * When `stored` is due for rotation (ms since epoch). A bootstrapped token's expiry is
 * unknown, so it is due at once: the configured seed stops working soon after first start.
 */
export function rotationDueAt(stored: StoredRefreshToken, rotateBeforeMs?: number): number {
  if (stored.expiresOnMs === undefined) return stored.storedAtMs;
  if (rotateBeforeMs !== undefined) return stored.expiresOnMs - rotateBeforeMs;
  return stored.storedAtMs + (stored.expiresOnMs - stored.storedAtMs) / 2;
}

/** Sleep before the next check: until the token is due, at most the check interval (less up to 20 % jitter, so instances drift apart). */
export function nextCheckDelayMs(options: RotationScheduleOptions, dueAtMs: number, nowMs: number, random: () => number = Math.random): number {
  const interval = options.checkIntervalMs * (0.8 + 0.2 * random());
  return Math.max(50, Math.min(interval, dueAtMs - nowMs));
}

/** Sleep after `failures` consecutive failed checks: exponential, with equal jitter. */
export function failureDelayMs(options: RotationScheduleOptions, failures: number, random: () => number = Math.random): number {
  const step = Math.min(options.failureBackoffMaxMs, options.failureBackoffInitialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(step / 2 + (random() * step) / 2);
}
