/**
 * The live heap of a node process, for leak checks. The process under test runs
 * with `liveHeapFlags()` (--expose-gc and bench/live-heap-probe.mjs preloaded;
 * otherwise unchanged): on SIGUSR2 it runs two full garbage collections and
 * appends the heap still in use, in bytes, to LIVE_HEAP_FILE. RSS swings by
 * hundreds of MB with the young generation and the garbage between
 * collections; the heap that survives a full collection moves only when
 * something is really kept.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Node flags that preload this module into a child process (LIVE_HEAP_FILE must be in its environment). */
export function liveHeapFlags(): string[] {
  return ['--expose-gc', '--import', fileURLToPath(new URL('./live-heap-probe.mjs', import.meta.url))];
}

/** Asks `pid` (started with liveHeapFlags) for its live heap and waits for the answer in `reportFile`; MB. */
export async function liveHeapMb(pid: number, reportFile: string, timeoutMs = 10_000): Promise<number> {
  const lines = () => (existsSync(reportFile) ? readFileSync(reportFile, 'utf8').trim().split('\n').filter(Boolean) : []);
  const before = lines().length;
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const now = lines();
    if (now.length > before) return Number(now.at(-1)) / (1024 * 1024);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`process ${pid} did not report its live heap within ${timeoutMs} ms`);
}
