/**
 * Heap room for the Cosmos DB stand-in process. It holds every document in memory;
 * a million FHIR resources take about 3.5 GB, next to V8's default limit of about
 * 4 GB, where full collections of the whole heap (seconds each) follow one another
 * and requests wait past the SDK's 30 s timeout. So the process runs itself again
 * with a larger `--max-old-space-size` when its limit is lower than wanted.
 */
import { spawn } from 'node:child_process';
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

/** MiB of old space wanted: `COSMOS_HEAP_MB`, else half the machine's memory, between 4096 and 16384. */
export function wantedHeapMb(env: NodeJS.ProcessEnv = process.env): number {
  const set = Number(env.COSMOS_HEAP_MB);
  if (Number.isInteger(set) && set > 0) return set;
  return Math.max(4096, Math.min(16_384, Math.floor(totalmem() / 2 / 2 ** 20)));
}

/**
 * When this process's heap limit is below `wantedHeapMb()`, runs `script` again in a child with the larger
 * limit (same stdio; SIGINT/SIGTERM passed on; the child stops when this process goes) and resolves to true
 * once that child is running (this process then only waits for it). Resolves to false when the heap is big enough.
 */
export function runWithHeapRoom(script: string): boolean {
  const wanted = wantedHeapMb();
  if (process.env.COSMOS_HEAP_CHILD === '1' || getHeapStatistics().heap_size_limit >= wanted * 0.9 * 2 ** 20) return false;
  const child = spawn(process.execPath, [...process.execArgv, `--max-old-space-size=${wanted}`, script, ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, COSMOS_HEAP_CHILD: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return true;
}

/** In the child started by {@link runWithHeapRoom}: calls `stop` when the parent goes away (its IPC channel closes). */
export function stopWithParent(stop: () => void): void {
  if (process.env.COSMOS_HEAP_CHILD !== '1' || !process.channel) return;
  process.channel.unref();
  process.once('disconnect', stop);
}
