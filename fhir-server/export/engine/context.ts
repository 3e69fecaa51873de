/**
 * What the engine's parts share: the ports they work through, the settings,
 * the logger, this instance's worker id and test seams.
 */
import type { Logger } from 'pino';
import type { ResourceStore } from '../../store/resource-store.ts';
import type { DestinationResolver } from './destinations.ts';
import type { JobStore } from './job-store.ts';
import type { LeaseRules } from './lease.ts';
import type { ExportEngineOptions } from './options.ts';
import type { TokenWaits } from './waits.ts';

/** Seams for tests and metrics; none is needed in production. */
export interface EngineHooks {
  /** After an item's periodic checkpoint was stored. */
  afterCheckpoint?(jobId: string, itemIndex: number): void | Promise<void>;
  /** After each page an item wrote (a test can slow an export down here). */
  afterPage?(jobId: string, itemIndex: number): void | Promise<void>;
}

/** See the module comment. */
export interface EngineContext {
  jobs: JobStore;
  store: ResourceStore;
  destinations: DestinationResolver;
  options: Readonly<ExportEngineOptions>;
  logger: Logger;
  /** This instance's id (lease owner). */
  workerId: string;
  hooks: EngineHooks;
  /** Since when storage tokens are missing (fed by the guarded credential). */
  tokenWaits: TokenWaits;
}

/** The lease rules of `options`. */
export function leaseRulesOf(options: ExportEngineOptions): LeaseRules {
  return { thresholdMs: options.jobHeartbeatTimeoutThresholdSeconds * 1000, maxRestarts: options.maxJobRestartCount };
}
