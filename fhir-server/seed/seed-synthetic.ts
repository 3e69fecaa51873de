/**
 * Loading the synthetic data set of a seed through the store's bulk path.
 */
import type { IdentifiedResource, ResourceStore } from '../store/resource-store.ts';
import { syntheticResources } from './synthetic.ts';
import type { SyntheticOptions } from './synthetic.ts';

/** Options of {@link seedSynthetic}. */
export interface SeedOptions extends SyntheticOptions {
  /** Batch requests in flight (default 16). */
  concurrency?: number;
  /** Resources handed to the store per bulk call (default 5000). */
  batchSize?: number;
  /** Called with the running count of resources stored. */
  onProgress?: (done: number) => void;
}

/** What a seeding run did. */
export interface SeedReport {
  /** Resources stored (created or updated). */
  resources: number;
  /** Of which new. */
  created: number;
  /** Of which existed and got a new version. */
  updated: number;
  /** Wall time in milliseconds. */
  ms: number;
}

/** Estimated resource count for `patients` (the generator averages about 20 per patient). */
export function estimateResources(patients: number): number {
  return Math.max(1, Math.round(patients * 20.3 + 4));
}

/** Generates and stores the data set; throws if any resource could not be stored. */
export async function seedSynthetic(store: ResourceStore, options: SeedOptions): Promise<SeedReport> {
  const started = Date.now();
  const batchSize = options.batchSize ?? 5000;
  const report: SeedReport = { resources: 0, created: 0, updated: 0, ms: 0 };
  let pending: IdentifiedResource[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const base = report.resources;
    const result = await store.bulkUpsert(batch, { concurrency: options.concurrency ?? 16, onProgress: (n) => options.onProgress?.(base + n) });
    if (result.failed.length > 0) {
      const first = result.failed[0]!;
      throw new Error(`${result.failed.length} resources could not be stored; first: ${batch[first.index]!.resourceType}/${batch[first.index]!.id}: ${first.error.message}`);
    }
    report.created += result.created;
    report.updated += result.updated;
    report.resources += batch.length;
  };
  for (const resources of syntheticResources(options)) {
    pending.push(...resources);
    if (pending.length >= batchSize) await flush();
  }
  await flush();
  report.ms = Date.now() - started;
  return report;
}
