/** Process helpers for tests, benchmarks and the test runner that watch real processes (Linux /proc). */
import { readdirSync, readFileSync } from 'node:fs';

/** What /proc says of a process or one of its threads. */
export interface ProcStat {
  /** One letter: R running, S sleeping, Z zombie, ... */
  state: string;
  ppid: number;
  /** CPU time used so far, user + system, in seconds (clock ticks of 1/100 s). */
  cpuSeconds: number;
}

/** The stat of `pid` (or of its thread `tid`), or undefined when it is gone. */
export function statOf(pid: number, tid?: number): ProcStat | undefined {
  try {
    const text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    // "pid (comm) state ppid ..." — comm may hold spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
  } catch {
    return undefined;
  }
}

/** Every live descendant of `pid` (children, their children, ...). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = statOf(Number(name));
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) for (const child of children.get(queue.shift()!) ?? []) out.push(child), queue.push(child);
  return out;
}

/** Whether `pid` is still running (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  const s = statOf(pid);
  return s !== undefined && s.state !== 'Z';
}

/** The command line of `pid` (for messages). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '?';
  }
}
