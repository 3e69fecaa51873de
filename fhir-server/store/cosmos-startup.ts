/**
 * The first contact with the account database at start-up: tried again while
 * Cosmos DB cannot be reached (1 s doubling to 5 s) for a bounded time, then
 * given up with one sentence naming Cosmos DB, so that the process exits and
 * its orchestrator restarts it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { cosmosStatus, unreachableCode } from './cosmos-errors.ts';

/** How long start-up waits for Cosmos DB before giving up. */
export const cosmosStartupWaitMs = 15_000;

/** Cosmos DB did not answer within the start-up wait. */
export class CosmosUnreachableAtStart extends Error {
  override readonly name = 'CosmosUnreachableAtStart';
}

/** Runs `open`, retrying while Cosmos DB at `endpoint` is unreachable (or answers 503/408) for up to `waitMs`. */
export async function openWhenCosmosAnswers<T>(open: () => Promise<T>, options: { endpoint: string; logger: Logger; waitMs?: number }): Promise<T> {
  const waitMs = options.waitMs ?? cosmosStartupWaitMs;
  const started = Date.now();
  for (let delayMs = 1000; ; delayMs = Math.min(delayMs * 2, 5000)) {
    try {
      return await open();
    } catch (error) {
      const status = cosmosStatus(error);
      const why = unreachableCode(error) ?? (status === 503 || status === 408 ? `HTTP ${status}` : undefined);
      if (!why) throw error;
      const where = new URL(options.endpoint).origin;
      if (Date.now() - started + delayMs > waitMs) {
        throw new CosmosUnreachableAtStart(
          `fhir-server cannot start: its account database (Cosmos DB at ${where}) has not answered for ${Math.round((Date.now() - started) / 1000)} s (${why}); exiting so that it is restarted`,
        );
      }
      options.logger.warn({ cosmos: where, reason: why, retryInMs: delayMs }, 'Cosmos DB is unreachable; start-up waits for it');
      await sleep(delayMs);
    }
  }
}
