/** A service entry point run as its own node process, every byte of its stdout and stderr kept. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A running child whose output is captured. */
export interface CapturedProcess {
  /** The child. */
  child: ChildProcess;
  /** The READY line's JSON. */
  ready: Record<string, string>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then wait for exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** Runs `entry` (a path relative to the repository root) with `env` and resolves at its `<readyPrefix> {json}` line. */
export function spawnCaptured(entry: string, env: Record<string, string>, readyPrefix: string, startTimeoutMs = 60_000): Promise<CapturedProcess> {
  const main = fileURLToPath(new URL(`../../../${entry}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  child.stderr!.on('data', (c: Buffer) => chunks.push(c));
  const output = () => Buffer.concat(chunks).toString('utf8');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 15_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(0);
      reject(new Error(`${entry} did not start in time:\n${output().slice(-2000)}`));
    }, startTimeoutMs);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with code ${code} before it was ready:\n${output().slice(-2000)}`));
    };
    child.once('exit', early);
    let pending = '';
    const watch = (c: Buffer) => {
      pending += c.toString('utf8');
      const at = pending.indexOf(`${readyPrefix} `);
      const end = at >= 0 ? pending.indexOf('\n', at) : -1;
      if (end < 0) return;
      clearTimeout(timer);
      child.off('exit', early);
      child.stdout!.off('data', watch);
      resolve({ child, ready: JSON.parse(pending.slice(at + readyPrefix.length + 1, end)) as Record<string, string>, output, stop });
    };
    child.stdout!.on('data', watch);
  });
}
