/**
 * `RefreshTokenUpkeep`: keeps the account's refresh token alive on its own
 * schedule, whether or not anything else calls the routing server. When the
 * stored token is due, it is rotated with `RefreshTokenService.RotateRefreshToken`
 * and the new token is stored (etag-guarded) before anything uses it. The
 * routing server issues one successor per token and hands that same successor
 * to every rotation of the token within its grace window, so two instances
 * rotating at once receive the same new token: the first write wins and the
 * other finds it stored. The token both presented stays accepted for the grace
 * window, so every instance keeps working through the switch. A rotation whose
 * write failed is kept in memory and written on the next attempt; one whose
 * answer was lost with its process is handed out again to the next instance
 * that rotates the stored token inside the window. Failures are logged and
 * retried with backoff; the loop only ends with `stop()`.
 */
import { pino, type Logger } from 'pino';
import type { RefreshTokenRepository, RefreshTokenUpdate, StoredRefreshToken } from './refresh-token-repository.ts';
import type { RoutingRetryOptions } from './retry-policy.ts';
import { failureDelayMs, nextCheckDelayMs, rotationDueAt, rotationScheduleDefaults, type RotationScheduleOptions } from './rotation-schedule.ts';
import { RoutingCaller } from './routing-caller.ts';
import type { RoutingConnection } from './routing-connection.ts';
import { RoutingTokenError } from './routing-token-error.ts';

/** Dependencies and settings of the upkeep. */
export interface RefreshTokenUpkeepOptions extends Partial<RotationScheduleOptions> {
  connection: RoutingConnection;
  repository: RefreshTokenRepository;
  /** Retries of one rotation call (defaults of `routingRetryDefaults`). */
  retry?: Partial<RoutingRetryOptions>;
  /** Logger (default silent); logs token ids, never values. */
  logger?: Logger;
}

/** What one check did. */
export type UpkeepOutcome =
  | { action: 'not-due'; tokenId: string; dueAtMs: number }
  | { action: 'rotated'; from: string; to: string; expiresOnMs: number; previousValidUntilMs: number | undefined }
  | { action: 'lost-race'; discarded: string; kept: string }
  | { action: 'rotated-elsewhere'; tokenId: string };

/** Counters for metrics and tests. */
export interface UpkeepStats {
  checks: number;
  rotations: number;
  lostRaces: number;
  failures: number;
}

/** See the module comment. */
export class RefreshTokenUpkeep {
  /** Live counters. */
  readonly stats: UpkeepStats = { checks: 0, rotations: 0, lostRaces: 0, failures: 0 };
  readonly #options: RefreshTokenUpkeepOptions & RotationScheduleOptions;
  readonly #caller: RoutingCaller;
  readonly #logger: Logger;
  #pending: { expected: StoredRefreshToken; update: RefreshTokenUpdate } | undefined;
  #running: Promise<UpkeepOutcome> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #failures = 0;

  /** Creates a stopped upkeep. */
  constructor(options: RefreshTokenUpkeepOptions) {
    this.#options = { ...rotationScheduleDefaults, ...options };
    this.#logger = options.logger ?? pino({ level: 'silent' });
    this.#caller = new RoutingCaller({ repository: options.repository, retry: options.retry, logger: this.#logger });
  }

  /** Starts the loop with a check right away. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** Stops the loop and waits for a check in progress. */
  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  /** One check now (joins a check already running): rotates the stored token if it is due. */
  checkNow(): Promise<UpkeepOutcome> {
    this.#running ??= this.#check().finally(() => (this.#running = undefined));
    return this.#running;
  }

  #schedule(delayMs: number): void {
    if (!this.#started) return;
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    let delay: number;
    try {
      await this.checkNow();
      this.#failures = 0;
      const stored = await this.#options.repository.current();
      delay = nextCheckDelayMs(this.#options, rotationDueAt(stored, this.#options.rotateBeforeMs), Date.now());
    } catch (err) {
      this.stats.failures++;
      delay = failureDelayMs(this.#options, ++this.#failures);
      this.#logger.error({ reason: (err as Error)?.message ?? String(err), failures: this.#failures, retryInMs: delay }, 'refresh token upkeep failed; retrying');
    }
    this.#schedule(delay);
  }

  async #check(): Promise<UpkeepOutcome> {
    this.stats.checks++;
    if (this.#pending) return this.#store(this.#pending.expected, this.#pending.update);
    const current = await this.#options.repository.current();
    const dueAtMs = rotationDueAt(current, this.#options.rotateBeforeMs);
    if (Date.now() < dueAtMs) return { action: 'not-due', tokenId: current.tokenId, dueAtMs };
    const client = this.#options.connection.refreshTokens;
    let res;
    try {
      res = await this.#caller.call('RefreshTokenService/RotateRefreshToken', client.rotateRefreshToken, client, {}, { refreshToken: current, reauthenticate: false });
    } catch (err) {
      if (!(err instanceof RoutingTokenError && err.handling === 'reauthenticate')) throw err;
      const stored = await this.#options.repository.current();
      if (stored.token === current.token) throw err;
      this.#logger.info({ refused: current.tokenId, stored: stored.tokenId }, 'refresh token was rotated by another instance');
      return { action: 'rotated-elsewhere', tokenId: stored.tokenId };
    }
    const update: RefreshTokenUpdate = {
      token: res.refreshToken,
      tokenId: res.tokenId,
      expiresOnMs: res.expireTime?.getTime() ?? Date.now(),
      previousTokenId: current.tokenId,
      previousValidUntilMs: res.previousTokenValidUntil?.getTime(),
    };
    this.#pending = { expected: current, update };
    return this.#store(current, update);
  }

  async #store(expected: StoredRefreshToken, update: RefreshTokenUpdate): Promise<UpkeepOutcome> {
    const result = await this.#options.repository.replace(expected, update);
    this.#pending = undefined;
    if (result.outcome === 'lost-race') {
      this.stats.lostRaces++;
      this.#logger.info({ discarded: update.tokenId, kept: result.current.tokenId }, 'another instance stored a rotated refresh token first; keeping it');
      return { action: 'lost-race', discarded: update.tokenId, kept: result.current.tokenId };
    }
    this.stats.rotations++;
    const { tokenId: to, expiresOnMs, previousTokenId: from, previousValidUntilMs } = update;
    this.#logger.info(
      { from, to, expiresOn: new Date(expiresOnMs).toISOString(), previousValidUntil: previousValidUntilMs && new Date(previousValidUntilMs).toISOString() },
      'refresh token rotated',
    );
    return { action: 'rotated', from, to, expiresOnMs, previousValidUntilMs };
  }
}
