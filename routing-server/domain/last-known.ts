/**
 * The last answer a dependency gave for each key, kept for a while so that a
 * dependency outage does not take down callers whose data was read recently.
 */
import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from './ports.ts';

/** See the module comment. */
export class LastKnown<V extends {}> {
  private readonly entries: LRUCache<string, { value: V; atMs: number }>;
  private readonly clock: Clock;

  /** Keeps up to `maxEntries` answers, each usable for `staleForMs` after it was read. */
  constructor(private readonly staleForMs: number, maxEntries: number, clock: Clock = systemClock) {
    this.entries = new LRUCache({ max: maxEntries });
    this.clock = clock;
  }

  /** Records what the dependency just said (undefined: there is nothing under `key`). */
  remember(key: string, value: V | undefined): void {
    if (value === undefined) this.entries.delete(key);
    else this.entries.set(key, { value, atMs: this.clock.now() });
  }

  /** The last answer for `key` if it is recent enough to stand in for a failed read. */
  recall(key: string): V | undefined {
    const entry = this.entries.get(key);
    return entry && this.clock.now() - entry.atMs < this.staleForMs ? entry.value : undefined;
  }
}
