/**
 * Calls the routing server as the account: each attempt reads the refresh
 * token from the `RefreshTokenRepository` and sends it as
 * `authorization: Bearer <token>`. Retryable statuses are retried with backoff
 * (honouring `retry-after-ms`) within an overall deadline; an UNAUTHENTICATED
 * answer re-reads the repository once, since another instance may have rotated
 * the token, and tries again only if the stored token changed.
 */
import type { CallOptions, ClientUnaryCall, Metadata, ServiceError } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { bearerMetadata } from '../../common/grpc/client.ts';
import { currentCorrelationId } from '../observability/correlation.ts';
import { RefreshTokenStoreError, type RefreshTokenRepository, type StoredRefreshToken } from './refresh-token-repository.ts';
import { abortError, backoffDelayMs, type AbortSignalLike, routingRetryDefaults, sleep, type RoutingRetryOptions } from './retry-policy.ts';
import { RoutingTokenError, fromServiceError, isServiceError } from './routing-token-error.ts';

/** Least time worth starting another attempt with. */
const MIN_ATTEMPT_MS = 500;

/** A generated client's unary method. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Per-call options a caller may pass. */
export interface RoutingCallOptions {
  /** Cancels the call and any backoff wait; the promise rejects with an AbortError. */
  abortSignal?: AbortSignalLike;
  /** Sent as `x-correlation-id`, so the routing server's log line can be matched with ours; default: the current correlation scope's. */
  correlationId?: string;
}

/** One retry, for logs and metrics (never carries a token). */
export interface RetryEvent {
  rpc: string;
  attempt: number;
  code: string;
  delayMs: number;
  retryAfterMs: number | undefined;
}

/** Dependencies and settings of a RoutingCaller. */
export interface RoutingCallerOptions {
  /** Source of the refresh token. */
  repository: RefreshTokenRepository;
  /** Field-by-field overrides of {@link routingRetryDefaults}. */
  retry?: Partial<RoutingRetryOptions>;
  /** Called before each backoff wait. */
  onRetry?: (event: RetryEvent) => void;
  /** Logger (default silent). */
  logger?: Logger;
}

/** Counters for metrics and tests. */
export interface RoutingCallerStats {
  calls: number;
  attempts: number;
  retries: number;
  reauthentications: number;
}

/** See the module comment. */
export class RoutingCaller {
  /** Live counters. */
  readonly stats: RoutingCallerStats = { calls: 0, attempts: 0, retries: 0, reauthentications: 0 };
  readonly #retry: RoutingRetryOptions;
  readonly #logger: Logger;

  /** Creates a caller over `options.repository`. */
  constructor(private readonly options: RoutingCallerOptions) {
    this.#retry = { ...routingRetryDefaults, ...options.retry };
    this.#logger = options.logger ?? pino({ level: 'silent' });
  }

  /**
   * Calls `method` of `client` with `request`. With `refreshToken` the call uses exactly that token
   * (and `reauthenticate: false` turns the UNAUTHENTICATED re-read off); otherwise each attempt reads the stored one.
   */
  async call<Req, Res>(
    rpc: string,
    method: UnaryMethod<Req, Res>,
    client: unknown,
    request: Req,
    options: RoutingCallOptions & { refreshToken?: StoredRefreshToken; reauthenticate?: boolean } = {},
  ): Promise<Res> {
    const deadline = Date.now() + this.#retry.overallTimeoutMs;
    let token = options.refreshToken;
    let reauthenticated = false;
    const correlationId = options.correlationId ?? currentCorrelationId();
    this.stats.calls++;
    for (let attempt = 1; ; attempt++) {
      let failure: RoutingTokenError | RefreshTokenStoreError;
      try {
        token ??= await this.options.repository.current();
        this.stats.attempts++;
        const timeoutMs = Math.max(1, Math.min(this.#retry.perCallTimeoutMs, deadline - Date.now()));
        return await unaryAttempt(method, client, request, bearerMetadata(token.token, correlationId), timeoutMs, options.abortSignal);
      } catch (err) {
        if (err instanceof RefreshTokenStoreError && err.kind === 'unavailable') failure = err;
        else if (isServiceError(err)) failure = fromServiceError(rpc, err);
        else throw err;
      }
      const handling = failure instanceof RoutingTokenError ? failure.handling : 'retry';
      if (handling === 'reauthenticate' && token && options.reauthenticate !== false && !reauthenticated) {
        reauthenticated = true;
        this.stats.reauthentications++;
        const stored = await this.options.repository.current();
        if (stored.token !== token.token) {
          this.#logger.info({ rpc, refused: token.tokenId, stored: stored.tokenId, correlationId }, 'refresh token refused; using the one stored since');
          token = stored;
          continue;
        }
      }
      const retryAfterMs = failure instanceof RoutingTokenError ? failure.retryAfterMs : undefined;
      const delayMs = backoffDelayMs(this.#retry, attempt, retryAfterMs);
      // An attempt squeezed into the last few milliseconds would only turn the real error into DEADLINE_EXCEEDED.
      const roomAfterDelay = deadline - Date.now() - delayMs;
      if (handling !== 'retry' || roomAfterDelay < Math.min(MIN_ATTEMPT_MS, this.#retry.perCallTimeoutMs)) throw failure instanceof RoutingTokenError ? failure.withAttempts(attempt) : failure;
      this.stats.retries++;
      const code = failure instanceof RoutingTokenError ? failure.codeName : `store-${failure.kind}`;
      this.#logger.info({ rpc, attempt, code, delayMs, retryAfterMs, correlationId }, 'routing call failed; retrying');
      this.options.onRetry?.({ rpc, attempt, code, delayMs, retryAfterMs });
      await sleep(delayMs, options.abortSignal);
      if (!options.refreshToken) token = undefined;
    }
  }
}

/** One attempt: the call with its deadline, cancelled when `signal` aborts. */
function unaryAttempt<Req, Res>(method: UnaryMethod<Req, Res>, client: unknown, request: Req, metadata: Metadata, timeoutMs: number, signal?: AbortSignalLike): Promise<Res> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError('the routing call'));
    const onAbort = () => call.cancel();
    const call = method.call(client, request, metadata, { deadline: Date.now() + timeoutMs }, (err, res) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(abortError('the routing call'));
      else if (err) reject(err);
      else resolve(res);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
