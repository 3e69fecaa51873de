/**
 * Keeps the account's export overrides current: reads them from the routing
 * server (AccountConfigurationService, through any client with `get()`) at
 * start-up, then again on an interval and on a signal (SIGHUP by default).
 * A failed read or an invalid set keeps the previous configuration.
 */
import type { Logger } from 'pino';
import type { ApplyOverridesResult, EffectiveConfiguration } from './effective-configuration.ts';
import type { ExportJobConfigurationOverrides } from './export-job-configuration.ts';

/** Reads the account's export overrides (the routing server's AccountConfigurationClient fits). */
export interface AccountOverridesSource {
  /** The overrides now in the account document (absent fields: not overridden). */
  get(): Promise<ExportJobConfigurationOverrides | undefined>;
}

/** Options of `watchAccountOverrides`. */
export interface AccountOverridesWatchOptions {
  /** Re-read this often; 0 or undefined: no interval. */
  intervalMs?: number;
  /** Re-read on this process signal; default SIGHUP, null for none. */
  signal?: NodeJS.Signals | null;
  /** Logger for read failures. */
  logger?: Logger;
}

/** Outcome of one read: applied (accepted or rejected) or the read failed. */
export type OverridesRefreshResult = ApplyOverridesResult | { accepted: false; readFailed: true; reason: string };

/** A running watch. */
export interface AccountOverridesWatch {
  /** Reads and applies the overrides now (concurrent calls share one read). */
  refresh(trigger?: string): Promise<OverridesRefreshResult>;
  /** Stops the interval and the signal handler. */
  stop(): void;
}

/** Watches `source` and applies what it returns to `configuration`; call `refresh('start-up')` once before serving. */
export function watchAccountOverrides(
  configuration: EffectiveConfiguration,
  source: AccountOverridesSource,
  options: AccountOverridesWatchOptions = {},
): AccountOverridesWatch {
  let inflight: Promise<OverridesRefreshResult> | undefined;
  const read = async (trigger: string): Promise<OverridesRefreshResult> => {
    try {
      const overrides = await source.get();
      return configuration.applyOverrides(overrides, `routing server (${trigger})`);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      options.logger?.warn({ trigger, reason }, 'reading the account export overrides failed; keeping the previous configuration');
      return { accepted: false, readFailed: true, reason };
    }
  };
  const refresh = (trigger = 'request'): Promise<OverridesRefreshResult> =>
    (inflight ??= read(trigger).finally(() => {
      inflight = undefined;
    }));

  const timer = options.intervalMs ? setInterval(() => void refresh('interval'), options.intervalMs) : undefined;
  timer?.unref();
  const signal = options.signal === undefined ? 'SIGHUP' : options.signal;
  const onSignal = () => void refresh(signal ?? 'signal');
  if (signal) process.on(signal, onSignal);

  return {
    refresh,
    stop() {
      if (timer) clearInterval(timer);
      if (signal) process.off(signal, onSignal);
    },
  };
}
