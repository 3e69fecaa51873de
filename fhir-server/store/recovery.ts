/**
 * The start-up (and periodic) transaction recovery pass: rolls back journals a
 * crashed process left unfinished, once their deadline has passed.
 */
import type { RecoveryReport, ResourceStore } from './resource-store.ts';

/** Options of {@link startTransactionRecovery}. */
export interface RecoveryLoopOptions {
  /** Time between passes after the first (default 60 s; 0 runs the start-up pass only). */
  intervalMs?: number;
  /** Called with each pass's report. */
  onReport?: (report: RecoveryReport) => void;
  /** Called when a pass fails (the next pass runs anyway). */
  onError?: (error: unknown) => void;
}

/** A running recovery loop. */
export interface RecoveryLoop {
  /** The start-up pass. */
  first: Promise<RecoveryReport>;
  /** Stops further passes. */
  stop(): void;
}

/** Runs a recovery pass now, then every `intervalMs`, until stopped. */
export function startTransactionRecovery(store: Pick<ResourceStore, 'recoverTransactions'>, options: RecoveryLoopOptions = {}): RecoveryLoop {
  const pass = async (): Promise<RecoveryReport> => {
    const report = await store.recoverTransactions();
    options.onReport?.(report);
    return report;
  };
  const first = pass();
  first.catch((error: unknown) => options.onError?.(error));
  const intervalMs = options.intervalMs ?? 60_000;
  const timer = intervalMs > 0 ? setInterval(() => void pass().catch((error: unknown) => options.onError?.(error)), intervalMs) : undefined;
  timer?.unref();
  return { first, stop: () => clearInterval(timer) };
}
