// Preloaded (with --expose-gc) into a process under a leak check; see bench/live-heap.ts.
// On SIGUSR2: two full collections, then the heap still in use (bytes) appended to LIVE_HEAP_FILE.
import { appendFileSync } from 'node:fs';

const file = process.env.LIVE_HEAP_FILE;
if (file && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    globalThis.gc();
    appendFileSync(file, `${process.memoryUsage().heapUsed}\n`);
  });
}
