/**
 * Memory sampling for the export bench: RSS every 100 ms (before any forced
 * collection, so it is the process's real footprint), and, with --expose-gc,
 * live heap after a collection every third sample.
 */

/** Peaks seen by a {@link MemorySampler}, in bytes. */
export interface MemoryPeaks {
  /** Highest `process.memoryUsage().rss`. */
  rss: number;
  /** Highest heap used above the heap at start (after a collection when gc is exposed). */
  heapAboveBase: number;
  /** True when heap figures were taken after a forced collection (live memory). */
  heapAfterGc: boolean;
}

/** A running sampler. */
export interface MemorySampler {
  /** Stops sampling and returns the peaks. */
  stop(): MemoryPeaks;
}

/** Starts sampling this process every `intervalMs` (default 100). */
export function sampleMemory(intervalMs = 100): MemorySampler {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baseHeap = process.memoryUsage().heapUsed;
  let peakHeap = baseHeap;
  let peakRss = process.memoryUsage().rss;
  let tick = 0;
  const sample = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (gc && tick++ % 3 !== 0) return;
    gc?.();
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { rss: peakRss, heapAboveBase: peakHeap - baseHeap, heapAfterGc: gc !== undefined };
    },
  };
}
