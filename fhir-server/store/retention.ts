/**
 * History retention. By default every version is kept. With a retention period,
 * a periodic pass deletes history copies whose validity ended before a horizon:
 * `now - retention`, moved back to the earliest instant a queued or running
 * export still needs (its snapshot instant, or its `_since` when it exports
 * earlier versions). The horizon reached is recorded first (`purgedThroughMs`),
 * so a kick-off that needs older versions can tell they are gone; the pass then
 * asks again for the exports' needs and stops when a kick-off slipped in between.
 * Current versions (deletions included) are never purged.
 */
import type { Container } from '@azure/cosmos';
import { cosmosStatus, toFhirError } from './cosmos-errors.ts';
import { openEnd } from './layout.ts';

const markerId = 'history-retention';

interface RetentionMarker {
  id: typeof markerId;
  pk: typeof markerId;
  /** History copies whose validity ended before this instant may be gone. */
  purgedThroughMs: number;
}

/** The instant before which history copies may have been purged (0: none ever were). */
export async function purgedThrough(system: Container): Promise<number> {
  try {
    const { resource } = await system.item(markerId, markerId).read<RetentionMarker>();
    return resource?.purgedThroughMs ?? 0;
  } catch (error) {
    if (cosmosStatus(error) === 404) return 0;
    throw toFhirError(error, 'reading the history retention marker');
  }
}

/** What a purge pass did. */
export interface PurgeReport {
  /** The horizon applied (epoch ms), or undefined when the pass stopped before deleting. */
  horizonMs?: number;
  /** History copies deleted. */
  deleted: number;
}

/**
 * Records `horizonMs` as purged, re-checks with `stillNeededSince` (the earliest instant an export
 * needs, asked again after recording), then deletes the history copies that ended before the horizon.
 */
export async function purgeHistory(resources: Container, system: Container, horizonMs: number, stillNeededSince: () => Promise<number>): Promise<PurgeReport> {
  const previous = await purgedThrough(system);
  if (horizonMs > previous) {
    try {
      await system.items.upsert<RetentionMarker>({ id: markerId, pk: markerId, purgedThroughMs: horizonMs });
    } catch (error) {
      throw toFhirError(error, 'recording the history retention marker');
    }
  }
  if ((await stillNeededSince()) < horizonMs) return { deleted: 0 };
  let deleted = 0;
  for (;;) {
    let page: { id: string; pk: string }[];
    try {
      ({ resources: page } = await resources.items
        .query<{ id: string; pk: string }>({
          query: 'SELECT TOP 500 c.id, c.pk FROM c WHERE c.endMs < @horizon',
          parameters: [{ name: '@horizon', value: Math.min(horizonMs, openEnd - 1) }],
        })
        .fetchAll());
    } catch (error) {
      throw toFhirError(error, 'listing history to purge');
    }
    if (page.length === 0) return { horizonMs, deleted };
    for (const doc of page) {
      try {
        await resources.item(doc.id, doc.pk).delete();
        deleted += 1;
      } catch (error) {
        if (cosmosStatus(error) !== 404) throw toFhirError(error, 'purging history');
      }
    }
  }
}

/** Options of {@link startHistoryRetention}. */
export interface RetentionLoopOptions {
  /** Keep versions this long after they were replaced (days, > 0). */
  retentionDays: number;
  /** The earliest instant a queued or running export needs versions from (Infinity: none). */
  neededSince: () => Promise<number>;
  /** Purges history that ended before an instant (the store's `purgeHistory`). */
  purge: (horizonMs: number, stillNeededSince: () => Promise<number>) => Promise<PurgeReport>;
  /** Time between passes (default 1 hour). */
  intervalMs?: number;
  /** Called with each pass's report. */
  onReport?: (report: PurgeReport) => void;
  /** Called when a pass fails (the next pass runs anyway). */
  onError?: (error: unknown) => void;
}

/** Runs a purge pass now and then every `intervalMs` until stopped. */
export function startHistoryRetention(options: RetentionLoopOptions): { first: Promise<PurgeReport>; stop(): void } {
  const pass = async (): Promise<PurgeReport> => {
    const cut = Date.now() - options.retentionDays * 86_400_000;
    const horizon = Math.min(cut, await options.neededSince());
    const report = await options.purge(horizon, options.neededSince);
    options.onReport?.(report);
    return report;
  };
  const first = pass();
  first.catch((error: unknown) => options.onError?.(error));
  const timer = setInterval(() => void pass().catch((error: unknown) => options.onError?.(error)), options.intervalMs ?? 3_600_000);
  timer.unref();
  return { first, stop: () => clearInterval(timer) };
}
