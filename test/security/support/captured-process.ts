/** A service entry point run as its own node process, every byte of its stdout and stderr kept. */
import { fileURLToPath } from 'node:url';
import { spawnUntilReady, type ReadyProcess } from '../../../dev/ready-process.ts';

/** A running child whose output is captured. */
export type CapturedProcess = ReadyProcess;

/** Runs `entry` (a path relative to the repository root) with `env` and resolves at its `<readyPrefix> {json}` line. */
export function spawnCaptured(entry: string, env: Record<string, string>, readyPrefix: string, startTimeoutMs = 60_000): Promise<CapturedProcess> {
  const main = fileURLToPath(new URL(`../../../${entry}`, import.meta.url));
  return spawnUntilReady({ name: entry, args: ['--import', 'tsx', main], env, readyPrefix, capture: true, startTimeoutMs, graceMs: 15_000 });
}
