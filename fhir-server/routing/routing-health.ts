/**
 * `RoutingHealth`: whether the fhir-server can use the routing server, for
 * `/health`. A probe calls `AccountConfigurationService.GetAccountConfiguration`
 * with the stored refresh token (one short attempt) at a fixed interval, so a
 * server with nothing to do notices too; an export holding a storage token
 * would otherwise find out only when that token expires. The routing link is
 * `ok`, or degraded with a reason:
 *  - `routing-unreachable`: the routing server did not answer (down, network);
 *  - `refresh-token-refused`: it refuses this service's refresh token (revoked
 *    family, expired, unknown): only an operator can fix that, so it is logged
 *    as an error saying what to do;
 *  - `account-refused`: the account is disabled or not allowed;
 *  - `refresh-token-store-unavailable`: the token could not be read from Cosmos DB.
 */
import { status } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { RefreshTokenStoreError, type RefreshTokenRepository } from './refresh-token-repository.ts';
import { RoutingCaller } from './routing-caller.ts';
import type { RoutingConnection } from './routing-connection.ts';
import { RoutingTokenError } from './routing-token-error.ts';

/** What is wrong with the routing link. */
export type RoutingProblem = 'routing-unreachable' | 'refresh-token-refused' | 'account-refused' | 'refresh-token-store-unavailable';

/** The routing link as `/health` reports it. */
export type RoutingLinkState =
  | { state: 'ok' | 'unknown' }
  | { state: 'degraded'; problem: RoutingProblem; detail: string; since: string; action: string };

/** Dependencies and settings of the probe. */
export interface RoutingHealthOptions {
  connection: RoutingConnection;
  repository: RefreshTokenRepository;
  /** The account, named in the operator's instructions. */
  accountName: string;
  /** Time between probes. */
  intervalMs: number;
  /** Deadline of one probe (default 5 s). */
  timeoutMs?: number;
  /** Logger (default silent). */
  logger?: Logger;
}

/** What an operator does about each problem. */
function actionFor(problem: RoutingProblem, accountName: string): string {
  switch (problem) {
    case 'refresh-token-refused':
      return (
        `issue a new refresh token for account '${accountName}' (fhirmesh account token issue ${accountName} --out <file>), ` +
        'set it as routing.refreshToken (FHIR_ROUTING_REFRESH_TOKEN) and restart this service; the new token replaces the stored one at start-up'
      );
    case 'account-refused':
      return `check account '${accountName}' on the routing server (fhirmesh account show ${accountName}): it may be disabled`;
    case 'routing-unreachable':
      return 'check that the routing server runs and that routing.address reaches it; storage tokens held now keep exports going until they expire';
    case 'refresh-token-store-unavailable':
      return "check this service's Cosmos DB (the refresh token is kept in its database)";
  }
}

/** The problem a failed probe shows (anything unexpected counts as not reaching the routing server). */
function problemOf(err: unknown): RoutingProblem {
  if (err instanceof RefreshTokenStoreError) return 'refresh-token-store-unavailable';
  if (!(err instanceof RoutingTokenError)) return 'routing-unreachable';
  if (err.code === status.UNAUTHENTICATED) return 'refresh-token-refused';
  if (err.code === status.PERMISSION_DENIED) return 'account-refused';
  return 'routing-unreachable';
}

/** See the module comment. */
export class RoutingHealth {
  readonly #options: RoutingHealthOptions;
  readonly #caller: RoutingCaller;
  readonly #logger: Logger;
  #state: RoutingLinkState = { state: 'unknown' };
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  /** A stopped probe. */
  constructor(options: RoutingHealthOptions) {
    this.#options = options;
    this.#logger = options.logger ?? pino({ level: 'silent' });
    const timeoutMs = options.timeoutMs ?? 5_000;
    // One attempt: the probe's next round is the retry.
    this.#caller = new RoutingCaller({ repository: options.repository, retry: { overallTimeoutMs: timeoutMs, perCallTimeoutMs: timeoutMs } });
  }

  /** The last probe's verdict. */
  get state(): RoutingLinkState {
    return this.#state;
  }

  /** Probes now and then every `intervalMs`. */
  start(): void {
    if (this.#timer || this.#stopped) return;
    const tick = () =>
      void this.probe().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#options.intervalMs).unref();
      });
    this.#timer = setTimeout(tick, 0).unref();
  }

  /** Stops probing (a probe in flight ends when the channel closes). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** One probe now (joins one in flight). */
  probe(): Promise<void> {
    this.#running ??= this.#probe().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #probe(): Promise<void> {
    const client = this.#options.connection.accountConfiguration;
    try {
      await this.#caller.call('AccountConfigurationService/GetAccountConfiguration', client.getAccountConfiguration, client, {});
      if (this.#state.state === 'degraded') this.#logger.info({ was: this.#state.problem }, 'the routing server accepts this service again');
      this.#state = { state: 'ok' };
    } catch (err) {
      const problem = problemOf(err);
      const detail = err instanceof Error ? err.message : String(err);
      if (this.#state.state === 'degraded' && this.#state.problem === problem) return;
      const action = actionFor(problem, this.#options.accountName);
      this.#state = { state: 'degraded', problem, detail, since: new Date().toISOString(), action };
      const line = { problem, detail, action };
      if (problem === 'refresh-token-refused' || problem === 'account-refused') this.#logger.error(line, 'the routing server refuses this service: exports will fail once the storage tokens held now expire');
      else this.#logger.warn(line, 'the routing server cannot be used now');
    }
  }
}
