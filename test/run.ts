/**
 * Test runner: runs every `test/**\/*.test.ts` file as its own uvu process
 * (through tsx), streams its output, and ends with one line `N passed, N failed`.
 *
 * A file counts as failed when it exits non-zero, prints no uvu summary (uvu
 * exits 0 and reports nothing when a `before()` hook throws), or runs no test.
 * The run exits non-zero on any failure or when no test ran at all. A file still
 * running 10 s after its summary is asked for its open handles and killed, and a
 * process it started that outlives it (found by an environment mark) is named
 * and killed, each with a warning; the file's results stand.
 *
 *   npm test                      all files
 *   npm test -- token cosmos      files whose path contains "token" or "cosmos"
 *   TEST_CONCURRENCY=2 npm test   files in parallel (default 1)
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { commandLine, statOf } from '../dev/processes.ts';

const root = resolve(fileURLToPath(import.meta.url), '..', '..');
const testDir = join(root, 'test');

/** Result of one test file. */
interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  problem?: string;
  /** The file printed its summary but kept running (an open handle) and was killed. */
  lingered?: boolean;
}

/**
 * How long a file may keep running after uvu printed its summary: uvu prints it after every hook, so
 * nothing of the file's own should run past it. Seen here: node 20 itself sometimes spinning at exit in
 * Environment::CleanupHandles (gdb; cf. nodejs/node#47748), at 100% CPU, answering no signal or inspector.
 */
const LINGER_MS = 10_000;

function listTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listTests(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

// uvu prints "  Total:     3", "  Passed:    3", "  Skipped:   0" (with ANSI colours unless piped).
function parseSummary(output: string): { total: number; passed: number; skipped: number } | undefined {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const total = /^\s*Total:\s+(\d+)/m.exec(plain);
  const passed = /^\s*Passed:\s+(\d+)/m.exec(plain);
  const skipped = /^\s*Skipped:\s+(\d+)/m.exec(plain);
  if (!total || !passed) return undefined;
  return { total: Number(total[1]), passed: Number(passed[1]), skipped: skipped ? Number(skipped[1]) : 0 };
}

const handleReport = pathToFileURL(join(root, 'test/support/handle-report.ts')).href;

/** Processes, other than the file's own, that inherited its marker (`TEST_FILE_MARK`) in their environment: pid and command line (Linux /proc). */
function startedBy(mark: string): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`TEST_FILE_MARK=${mark}`)) found.push({ pid, cmd: commandLine(pid).slice(0, 160) });
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** State, CPU time and threads of a process (Linux /proc), for a process that does not exit. */
function describeProcess(pid: number): string {
  try {
    const own = statOf(pid);
    if (!own) return `pid ${pid} (gone)`;
    const threads = readdirSync(`/proc/${pid}/task`).map((tid) => {
      const t = statOf(pid, Number(tid));
      return `${readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()}:${t?.state ?? '?'}:${t?.cpuSeconds ?? '?'}s`;
    });
    const wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8');
    return `pid ${pid} state ${own.state}, wchan ${wchan || '-'}, cpu ${own.cpuSeconds}s, threads ${threads.join(' ')}`;
  } catch (err) {
    return `pid ${pid} (${(err as Error).message})`;
  }
}

/** The JavaScript stack of a running node process, through `node inspect -p` (pause, then bt), or a line saying none came. */
function backtrace(pid: number): string {
  const script = '(sleep 2; echo pause; sleep 2; echo bt; sleep 1; echo kill) | timeout 10 node inspect -p "$0"';
  const run = spawnSync('sh', ['-c', script, String(pid)], { encoding: 'utf8', timeout: 15_000 });
  const lines = `${run.stdout ?? ''}`.split('\n').filter((l) => /#\d+ |break in/.test(l));
  return lines.length ? `JavaScript stack of pid ${pid}:\n${lines.join('\n')}` : `no JavaScript stack from pid ${pid} (${(run.stderr ?? '').trim().slice(0, 200) || 'node inspect gave none'})`;
}

function runFile(file: string, timeoutMs: number): Promise<FileResult> {
  const rel = relative(root, file);
  // Inherited by whatever the file starts, so a process that outlives the file can be named.
  const mark = `${process.pid}:${rel}`;
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', handleReport, file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', TEST_FILE_MARK: mark },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let lingering: NodeJS.Timeout | undefined;
    let lingered = false;
    const collect = (chunk: Buffer, sink: NodeJS.WriteStream) => {
      output += chunk.toString();
      sink.write(chunk);
      // Every test and hook has finished once the summary is out: a process still alive long after
      // that holds an open handle. Kill it then, rather than let it run into the file timeout.
      if (!lingering && /^\s*Duration:/m.test(output.replace(/\x1b\[[0-9;]*m/g, ''))) {
        lingering = setTimeout(() => {
          lingered = true;
          if (child.exitCode !== null || child.signalCode !== null) {
            // The file's process is gone but its output pipes are not: a process it started outlived it.
            const holders = startedBy(mark);
            process.stdout.write(`WARNING ${rel}: exited, but its output is still held open by ${holders.map((h) => `pid ${h.pid} (${h.cmd})`).join(', ') || 'an unknown process'}; killing them\n`);
            for (const h of holders) process.kill(h.pid, 'SIGKILL');
            return;
          }
          // Say what state it is in and where its JavaScript is (a busy main thread answers no signal handler,
          // but the inspector can pause it), ask it what it still holds (test/support/handle-report.ts), then kill it.
          process.stdout.write(`WARNING ${rel}: lingering process ${describeProcess(child.pid!)}\n`);
          process.stdout.write(`${backtrace(child.pid!)}\n`);
          child.kill('SIGUSR2');
          setTimeout(() => child.kill('SIGKILL'), 1_000);
        }, LINGER_MS);
      }
    };
    child.stdout.on('data', (c: Buffer) => collect(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => collect(c, process.stderr));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(lingering);
      const summary = parseSummary(output);
      const result: FileResult = { file: rel, passed: 0, failed: 0, skipped: 0 };
      if (summary) {
        result.passed = summary.passed;
        result.skipped = summary.skipped;
        // uvu's Total counts the tests that ran (skipped ones are not in it).
        result.failed = summary.total - summary.passed;
      }
      if (lingered && summary) result.lingered = true;
      else if (signal) result.problem = `killed by ${signal}${signal === 'SIGKILL' ? ` after ${timeoutMs} ms` : ''}`;
      else if (code !== 0) result.problem = `exited with code ${code}`;
      else if (!summary) result.problem = 'printed no uvu summary (a hook threw, or the file never called .run())';
      else if (summary.total === 0 && summary.skipped === 0) result.problem = 'ran no test';
      if (result.problem && result.failed === 0) result.failed = 1;
      done(result);
    });
  });
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const files = listTests(testDir).filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)));
  const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY ?? 1));
  const timeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 300_000);
  const results: FileResult[] = [];
  const queue = [...files];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        process.stdout.write(`\n▶ ${relative(root, file)}\n`);
        results.push(await runFile(file, timeoutMs));
      }
    }),
  );
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const skipped = results.reduce((n, r) => n + r.skipped, 0);
  process.stdout.write('\n');
  for (const r of results.filter((x) => x.failed > 0)) {
    process.stdout.write(`FAILED ${r.file}: ${r.problem ?? `${r.failed} failing test(s)`}\n`);
  }
  for (const r of results.filter((x) => x.lingered)) {
    process.stdout.write(`WARNING ${r.file}: still running ${LINGER_MS / 1000} s after its summary (an open handle, or a process it started); killed, results kept\n`);
  }
  if (files.length === 0) process.stdout.write('no test files matched\n');
  process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
}

await main();
