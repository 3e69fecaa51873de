/**
 * The account's export overrides at start-up, with the routing server possibly
 * down: the first read waits as long as the overrides client's retry allows
 * (`routing.startupWaitSeconds`); if the routing server did not answer by then,
 * the service starts with its own settings and keeps re-reading in the
 * background (1 s doubling to 30 s between reads) until one read gets an
 * answer, which is then applied like any later change of the overrides.
 */
import { pino, type Logger } from 'pino';
import type { AccountOverridesWatch, OverridesRefreshResult } from '../config/account-overrides.ts';

/** How the start-up read went. */
export interface StartupOverrides {
  /** `read`: the routing server answered before start-up went on; `pending`: started with the service's own settings. */
  readonly outcome: 'read' | 'pending';
  /** Resolves when a read got an answer (at once when `outcome` is `read`). */
  readonly answered: Promise<OverridesRefreshResult>;
  /** Stops the background re-reads. */
  stop(): void;
}

/** Options of {@link readOverridesAtStartup}. */
export interface StartupOverridesOptions {
  /** Logger (default silent). */
  logger?: Logger;
  /** First wait between background reads (default 1 s). */
  initialDelayMs?: number;
  /** Longest wait between background reads (default 30 s). */
  maxDelayMs?: number;
}

/** Reads through `watch` once (its client bounds the wait), then in the background until answered; see the module comment. */
export async function readOverridesAtStartup(watch: AccountOverridesWatch, options: StartupOverridesOptions = {}): Promise<StartupOverrides> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const first = await watch.refresh('start-up');
  if (!('readFailed' in first)) return { outcome: 'read', answered: Promise.resolve(first), stop: () => undefined };
  logger.warn({ reason: first.reason }, 'the routing server did not answer in the start-up wait; starting with the service\'s own export settings and retrying in the background');
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const answered = new Promise<OverridesRefreshResult>((resolve) => {
    const retry = (n: number) => {
      const delay = Math.min(options.maxDelayMs ?? 30_000, (options.initialDelayMs ?? 1_000) * 2 ** n);
      timer = setTimeout(async () => {
        if (stopped) return;
        const result = await watch.refresh('start-up retry');
        if (stopped) return;
        if ('readFailed' in result) return retry(n + 1);
        logger.info({ attempts: n + 2, accepted: result.accepted }, 'account export overrides read after start-up');
        resolve(result);
      }, delay);
      timer.unref();
    };
    retry(0);
  });
  return {
    outcome: 'pending',
    answered,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
