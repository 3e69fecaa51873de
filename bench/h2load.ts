/** Drives a gRPC unary method with h2load (Debian nghttp2-client) and reads throughput and latency percentiles. */
import { execFile, execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** One load run's figures. */
export interface LoadResult {
  /** Requests per second over the measured duration. */
  rps: number;
  /** Requests that got HTTP 2xx. */
  succeeded: number;
  /** Requests that failed or errored. */
  failed: number;
  /** Latency percentiles in ms. */
  p50Ms: number;
  p99Ms: number;
}

/** Options of a load run. */
export interface LoadOptions {
  /** https URL of the method, e.g. https://127.0.0.1:1234/pkg.Service/Method. */
  url: string;
  /** gRPC-framed request body. */
  body: Buffer;
  /** Extra headers (e.g. authorization). */
  headers?: Record<string, string>;
  /** Measured seconds. */
  durationSeconds: number;
  /** Warm-up seconds (not measured). */
  warmUpSeconds: number;
  /** Connections and concurrent streams per connection. */
  connections: number;
  streams: number;
}

/** Installs h2load (Debian nghttp2-client) when it is missing. */
export function ensureH2load(): void {
  try {
    execFileSync('h2load', ['--version'], { stdio: 'ignore' });
  } catch {
    process.stderr.write('h2load not found: installing Debian nghttp2-client\n');
    const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
    execFileSync('bash', ['-c', `${sudo}apt-get update -qq && ${sudo}apt-get install -y -qq nghttp2-client`], { stdio: 'inherit' });
  }
}

/** Frames a serialized protobuf message as a gRPC message (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(frame, 5);
  return frame;
}

/** Runs h2load once. */
export async function h2load(options: LoadOptions): Promise<LoadResult> {
  const stamp = `${process.pid}-${Date.now()}`;
  const bodyFile = join(tmpdir(), `h2load-body-${stamp}.bin`);
  const logFile = join(tmpdir(), `h2load-log-${stamp}.tsv`);
  await writeFile(bodyFile, options.body);
  const headerArgs = Object.entries({ 'content-type': 'application/grpc', te: 'trailers', ...options.headers }).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  try {
    const { stdout } = await exec(
      'h2load',
      [
        '-t', '1',
        '-c', String(options.connections),
        '-m', String(options.streams),
        '-D', String(options.durationSeconds),
        `--warm-up-time=${options.warmUpSeconds}`,
        `--log-file=${logFile}`,
        '-d', bodyFile,
        ...headerArgs,
        options.url,
      ],
      { maxBuffer: 16 * 1024 * 1024, timeout: (options.durationSeconds + options.warmUpSeconds + 60) * 1000 },
    );
    const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? NaN);
    const req = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
    const latencies = (await readFile(logFile, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => Number(line.split('\t')[2]) / 1000)
      .sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
    return { rps, succeeded: Number(req?.[1] ?? 0), failed: Number(req?.[2] ?? 0) + Number(req?.[3] ?? 0), p50Ms: pct(50), p99Ms: pct(99) };
  } finally {
    await rm(bodyFile, { force: true });
    await rm(logFile, { force: true });
  }
}
