/** Retry policy of calls to the routing server: exponential backoff with jitter inside an overall deadline. */

/** How calls to the routing server are retried. This is the only retry layer on the FHIR service's side of the mesh. */
export interface RoutingRetryOptions {
  /** Give up once this much time has passed since the first attempt, however many attempts that was (default 60 s). */
  overallTimeoutMs: number;
  /** Deadline of one attempt (default 10 s); an attempt never runs past the overall deadline. */
  perCallTimeoutMs: number;
  /** Backoff before the second attempt (default 250 ms). */
  initialDelayMs: number;
  /** Longest backoff between two attempts (default 10 s). */
  maxDelayMs: number;
  /** Growth of the backoff per attempt (default 2). */
  multiplier: number;
}

/** Defaults of {@link RoutingRetryOptions}. */
export const routingRetryDefaults: Readonly<RoutingRetryOptions> = Object.freeze({
  overallTimeoutMs: 60_000,
  perCallTimeoutMs: 10_000,
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  multiplier: 2,
});

/**
 * Wait before attempt `attempt + 1` (attempt counts from 1): the exponential step with
 * "equal jitter" (between half and all of it, so instances spread out but never
 * hammer), and never less than what the server asked for in `retry-after-ms`.
 */
export function backoffDelayMs(options: RoutingRetryOptions, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const step = Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** Math.max(0, attempt - 1));
  const jittered = step / 2 + (random() * step) / 2;
  return Math.max(Math.round(jittered), retryAfterMs ?? 0);
}

/** What the clients need of an abort signal: a DOM `AbortSignal` and the Azure SDKs' `AbortSignalLike` both fit. */
export interface AbortSignalLike {
  /** Whether it has fired. */
  readonly aborted: boolean;
  /** Listens for the `abort` event. */
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  /** Stops listening. */
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** The error a cancelled operation rejects with (name `AbortError`, as the Azure SDKs expect). */
export function abortError(what = 'the operation'): Error {
  const err = new Error(`${what} was aborted`);
  err.name = 'AbortError';
  return err;
}

/** Resolves after `ms`, or rejects with an AbortError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
