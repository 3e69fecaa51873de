/**
 * Starts and watches fhir-server processes (`export-server.ts`) for fault
 * tests: waits for their output lines, writes stdin commands, sends signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('./export-server.ts', import.meta.url));

/** A running fhir-server process. */
export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Every stdout line so far. */
  lines: string[];
  /** The first line at or after index `from` matching `pattern` (waits up to `limitMs`). */
  waitFor(pattern: RegExp, options?: { from?: number; limitMs?: number }): Promise<string>;
  /** Writes a command line to stdin. */
  send(command: 'hold' | 'release'): void;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Seams of the process (see export-server.ts). */
export interface ServerSeams {
  pageDelayMs?: number;
  exportOptions?: Record<string, number>;
}

/** Starts an fhir-server process with `env` and resolves once it is ready. */
export async function startServerProcess(env: Record<string, string>, seams: ServerSeams = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...process.env, ...env, EXPORT_FAULT_SEAMS: JSON.stringify(seams) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const wake of waiters) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  child.stdin!.on('error', () => undefined);
  let gone = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => {
    gone = true;
    resolve({ code, signal });
    for (const wake of waiters) wake();
  }));
  const waitFor = (pattern: RegExp, options: { from?: number; limitMs?: number } = {}) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const hit = lines.slice(options.from ?? 0).find((line) => pattern.test(line));
        if (hit !== undefined) return done(() => resolve(hit));
        if (gone) return done(() => reject(new Error(`process ${child.pid} exited before printing ${pattern}: ${stderr.slice(-1500)}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no line ${pattern} within ${options.limitMs ?? 60_000} ms: ${stderr.slice(-1500)}`))), options.limitMs ?? 60_000);
      const done = (then: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });
  const ready = await waitFor(/^FHIR_READY /);
  return {
    child,
    baseUrl: (JSON.parse(ready.slice('FHIR_READY '.length)) as { baseUrl: string }).baseUrl,
    lines,
    waitFor,
    send: (command) => child.stdin!.write(`${command}\n`),
    exited,
  };
}
