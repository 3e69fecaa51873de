/**
 * A node entry point run as its own process until it prints `<PREFIX> {json}`:
 * start-up deadline, early exit, and a stop that sends SIGTERM and falls back to
 * SIGKILL. The routing server launcher, the bench:token baseline and the tests
 * that capture a whole run's output all start processes this way.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Options of `spawnUntilReady`. */
export interface ReadyProcessOptions {
  /** Name used in error messages. */
  name: string;
  /** Node arguments: flags, then the script. */
  args: string[];
  /** Environment added to this process's. */
  env: Record<string, string>;
  /** The ready line's first word, e.g. "ROUTING_READY". */
  readyPrefix: string;
  /** Keep every byte of stdout and stderr (else stdout is drained and stderr inherited). */
  capture?: boolean;
  /** Called with each line of stdout other than the ready line (its log lines), before and after it. */
  onLine?: (line: string) => void;
  /** Start-up deadline. */
  startTimeoutMs: number;
  /** Default SIGTERM grace of `stop`. */
  graceMs: number;
}

/** A child process that printed its ready line. */
export interface ReadyProcess {
  /** The child. */
  child: ChildProcess;
  /** The ready line's JSON. */
  ready: Record<string, string>;
  /** Everything written to stdout and stderr so far ('' unless captured). */
  output(): string;
  /** SIGTERM, then wait for exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `process.execPath` with `options.args` and resolves at its ready line. */
export function spawnUntilReady(options: ReadyProcessOptions): Promise<ReadyProcess> {
  const child = spawn(process.execPath, options.args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', options.capture ? 'pipe' : 'inherit'] });
  const chunks: Buffer[] = [];
  const keep = (c: Buffer) => void (options.capture && chunks.push(c));
  child.stdout!.on('data', keep);
  child.stderr?.on('data', keep);
  if (options.onLine) {
    const onLine = options.onLine;
    let partial = '';
    child.stdout!.on('data', (c: Buffer) => {
      const lines = (partial + c.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line && !line.startsWith(`${options.readyPrefix} `)) onLine(line);
    });
  }
  const output = () => Buffer.concat(chunks).toString('utf8');
  const tail = () => (options.capture ? `:\n${output().slice(-2000)}` : '');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = options.graceMs) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(0);
      reject(new Error(`${options.name} did not start in time${tail()}`));
    }, options.startTimeoutMs);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with code ${code} before it was ready${tail()}`));
    };
    child.once('exit', early);
    let pending = '';
    const watch = (c: Buffer) => {
      pending += c.toString('utf8');
      const at = pending.search(new RegExp(`(^|\\n)${options.readyPrefix} `));
      const start = at < 0 ? -1 : pending.indexOf(options.readyPrefix, at);
      const end = start < 0 ? -1 : pending.indexOf('\n', start);
      if (end < 0) {
        // Only the unfinished last line can still become the ready line.
        if (start < 0) pending = pending.slice(pending.lastIndexOf('\n') + 1);
        return;
      }
      clearTimeout(timer);
      child.off('exit', early);
      child.stdout!.off('data', watch);
      resolve({ child, ready: JSON.parse(pending.slice(start + options.readyPrefix.length + 1, end)) as Record<string, string>, output, stop });
    };
    child.stdout!.on('data', watch);
  });
}
