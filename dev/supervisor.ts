/**
 * Keeps one service process running for `npm start`: starts it and waits for
 * its ready line; when it exits without being asked to, says why and starts it
 * again with backoff (1 s doubling to 30 s, back to 1 s once it has run for a
 * minute), on the ports of its first start, so addresses printed once stay
 * valid. The child is given this process's pid (`FHIRMESH_PARENT_PID`) and stops
 * on its own when this process is gone, SIGKILL included.
 */
import { PARENT_PID_ENV } from '../common/process.ts';
import { spawnUntilReady, type ReadyProcess } from './ready-process.ts';

/** Restart pacing. */
export interface RestartBackoff {
  /** Wait before the first restart. */
  initialMs: number;
  /** Longest wait. */
  maxMs: number;
  /** A process that ran this long before exiting restarts after `initialMs` again. */
  steadyMs: number;
}

/** Defaults of {@link RestartBackoff}. */
export const restartBackoffDefaults: Readonly<RestartBackoff> = Object.freeze({ initialMs: 1_000, maxMs: 30_000, steadyMs: 60_000 });

/** What to run and how to keep it running. */
export interface SupervisedOptions {
  /** Name in messages, e.g. "routing server". */
  name: string;
  /** Node arguments: flags, then the script. */
  args: string[];
  /** Environment added to this process's. */
  env: Record<string, string>;
  /** First word of the ready line, e.g. "ROUTING_READY". */
  readyPrefix: string;
  /** Environment that puts the next start on the ports this ready line names (e.g. `{ ROUTING_PORT: '41234' }`). */
  pinPorts(ready: Record<string, string>): Record<string, string>;
  /** Where restarts and unexpected exits are reported (one line each). */
  log(message: string): void;
  /** Each log line the child writes to stdout. */
  onLine?: (line: string) => void;
  /** Start-up deadline of each start (default 60 s). */
  startTimeoutMs?: number;
  /** SIGTERM grace of `stop` (default 15 s). */
  graceMs?: number;
  /** Restart pacing (default {@link restartBackoffDefaults}). */
  backoff?: Partial<RestartBackoff>;
}

/** See the module comment. */
export class SupervisedProcess {
  /** Restarts so far. */
  restarts = 0;
  readonly #options: SupervisedOptions;
  readonly #backoff: RestartBackoff;
  #pinned: Record<string, string> = {};
  #current: ReadyProcess | undefined;
  #ready: Record<string, string> | undefined;
  #startedAt = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;

  /** A supervisor for `options` (nothing runs until `start`). */
  constructor(options: SupervisedOptions) {
    this.#options = options;
    this.#backoff = { ...restartBackoffDefaults, ...options.backoff };
  }

  /** The first ready line's JSON. */
  get ready(): Record<string, string> {
    if (!this.#ready) throw new Error(`${this.#options.name} has not started`);
    return this.#ready;
  }

  /** Pid of the running child, if one runs. */
  get pid(): number | undefined {
    const child = this.#current?.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /** Starts the process and resolves at its ready line; a failure of this first start is thrown, not retried. */
  async start(): Promise<Record<string, string>> {
    const started = await this.#spawn();
    this.#ready = started.ready;
    this.#pinned = this.#options.pinPorts(started.ready);
    this.#watch(started);
    return started.ready;
  }

  /** Stops supervising and stops the process (SIGTERM, SIGKILL after the grace time). */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    await this.#current?.stop();
  }

  #spawn(): Promise<ReadyProcess> {
    const o = this.#options;
    return spawnUntilReady({
      name: o.name,
      args: o.args,
      env: { ...o.env, ...this.#pinned, [PARENT_PID_ENV]: String(process.pid) },
      readyPrefix: o.readyPrefix,
      startTimeoutMs: o.startTimeoutMs ?? 60_000,
      graceMs: o.graceMs ?? 15_000,
      ...(o.onLine ? { onLine: o.onLine } : {}),
    });
  }

  #watch(started: ReadyProcess): void {
    this.#current = started;
    this.#startedAt = Date.now();
    started.child.once('exit', (code, signal) => {
      if (this.#stopping) return;
      if (Date.now() - this.#startedAt >= this.#backoff.steadyMs) this.#failures = 0;
      this.#schedule(`exited unexpectedly (${signal ?? `exit code ${code}`})`);
    });
  }

  #schedule(what: string): void {
    const delay = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** this.#failures++);
    this.#options.log(`${this.#options.name} ${what}; starting it again in ${(delay / 1000).toFixed(0)} s`);
    this.#timer = setTimeout(() => void this.#restart(), delay);
  }

  async #restart(): Promise<void> {
    if (this.#stopping) return;
    let started: ReadyProcess;
    try {
      started = await this.#spawn();
    } catch (err) {
      if (!this.#stopping) this.#schedule(`did not start again (${(err as Error).message.split('\n')[0]})`);
      return;
    }
    if (this.#stopping) return void (await started.stop());
    this.restarts++;
    this.#options.log(`${this.#options.name} is running again (pid ${started.child.pid}, restart ${this.restarts})`);
    this.#watch(started);
  }
}
