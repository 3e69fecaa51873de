/**
 * Following an export to its end: polls at the pace `Retry-After` asks for,
 * shows progress on stderr (a redrawn bar on a terminal, a line per change
 * otherwise), rides out a few transient failures, and returns the manifest.
 */
import { CliError, ExitCode, toCliError } from '../errors.ts';
import type { FhirClient } from '../fhir-client.ts';
import type { Io } from '../io.ts';
import { pollExport, type ExportManifest } from './status.ts';

/** Options of {@link followExport}. */
export interface FollowOptions {
  /** Where progress goes. */
  io: Io;
  /** No progress output. */
  quiet?: boolean;
  /** Give up after this many seconds (default: never). */
  maxWaitSeconds?: number;
  /** Consecutive transient failures tolerated (default 5). */
  maxTransient?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function bar(progress: string): string {
  const percent = Math.min(100, Number(/^(\d+)%/.exec(progress)?.[1] ?? 0));
  const filled = Math.round((percent / 100) * 30);
  return `[${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${progress}`;
}

/** Polls `statusUrl` until the export completes; throws a CliError when it fails. */
export async function followExport(fhir: FhirClient, statusUrl: string, options: FollowOptions): Promise<ExportManifest> {
  const { io } = options;
  const show = (text: string) => {
    if (options.quiet) return;
    if (io.errIsTTY) io.errRaw(`\r\x1b[K${bar(text)}`);
    else io.err(`export: ${text}`);
  };
  const deadline = options.maxWaitSeconds === undefined ? Infinity : Date.now() + options.maxWaitSeconds * 1000;
  let last = '';
  let transient = 0;
  for (;;) {
    let waitMs: number;
    try {
      const poll = await pollExport(fhir, statusUrl);
      if (poll.state === 'done') {
        show('100% complete');
        if (io.errIsTTY && !options.quiet) io.errRaw('\n');
        return poll.manifest;
      }
      if (poll.state === 'running') {
        transient = 0;
        if (poll.progress !== last || io.errIsTTY) show(poll.progress);
        last = poll.progress;
        waitMs = poll.retryAfterMs;
      } else {
        transient += 1;
        if (transient > (options.maxTransient ?? 5)) throw new CliError(`the fhir-server kept answering the status request with ${poll.reason}`, ExitCode.unavailable);
        waitMs = poll.retryAfterMs ?? 1000 * 2 ** (transient - 1);
      }
    } catch (error) {
      const failure = toCliError(error);
      if (failure.exitCode !== ExitCode.unavailable) throw failure;
      transient += 1;
      if (transient > (options.maxTransient ?? 5)) throw failure;
      waitMs = 1000 * 2 ** (transient - 1);
    }
    if (Date.now() + waitMs > deadline) throw new CliError(`the export did not complete within ${options.maxWaitSeconds} s (still ${last || 'running'}); follow it again with: fhirmesh export follow ${statusUrl}`, ExitCode.unavailable);
    await sleep(Math.max(100, waitMs));
  }
}
