/**
 * A gate in front of one dependency (the Cosmos DB registry): after a failure
 * it stays shut for a back-off (1 s doubling to 30 s, or longer when the
 * dependency said so), and calls through it fail at once with
 * `dependency-unavailable` and a retry-after instead of waiting on a dead
 * service. The first call after the back-off goes through as a probe; its
 * success opens the gate again, and so does `open()` from whoever sees the
 * dependency answer by other means.
 */
import { RoutingError, isRoutingError } from './errors.ts';
import { systemClock, type Clock } from './ports.ts';

/** Back-off of a DependencyGate. */
export interface DependencyGateOptions {
  /** Shut time after the first failure (default 1 s). */
  initialMs?: number;
  /** Longest shut time (default 30 s). */
  maxMs?: number;
  /** Clock (tests). */
  clock?: Clock;
}

/** See the module comment. */
export class DependencyGate {
  private shutUntilMs = 0;
  private failures = 0;
  private reason = '';
  private readonly clock: Clock;
  private readonly initialMs: number;
  private readonly maxMs: number;

  /** A gate for the dependency named `name` (used in messages). */
  constructor(readonly name: string, options: DependencyGateOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.initialMs = options.initialMs ?? 1_000;
    this.maxMs = options.maxMs ?? 30_000;
  }

  /** Whether the dependency failed recently and calls are refused without trying. */
  get isShut(): boolean {
    return this.clock.now() < this.shutUntilMs;
  }

  /** Whether the last call through the gate failed (the dependency is believed down). */
  get isFailing(): boolean {
    return this.failures > 0;
  }

  /**
   * The dependency is known to answer again (it was seen to, outside the gate): the back-off ends
   * now and starts over at its first step, so no caller is refused for a failure that is over.
   */
  open(): void {
    this.shutUntilMs = 0;
    this.failures = 0;
  }

  /** Runs `call` unless the gate is shut; a `dependency-unavailable` failure shuts it. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    const now = this.clock.now();
    if (now < this.shutUntilMs) {
      const waitMs = this.shutUntilMs - now;
      throw new RoutingError('dependency-unavailable', `${this.reason} (not retried for ${Math.ceil(waitMs / 1000)} s)`, { retryAfterMs: waitMs });
    }
    try {
      const result = await call();
      this.failures = 0;
      return result;
    } catch (err) {
      if (!isRoutingError(err, 'dependency-unavailable')) throw err;
      this.failures++;
      const delay = Math.max(Math.min(this.maxMs, this.initialMs * 2 ** (this.failures - 1)), err.retryAfterMs ?? 0);
      this.shutUntilMs = this.clock.now() + delay;
      this.reason = err.message;
      throw new RoutingError('dependency-unavailable', err.message, { cause: err, retryAfterMs: delay });
    }
  }
}
