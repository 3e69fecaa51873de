/**
 * Downloading the files of a manifest: each streamed to `<dir>/<name>.part`,
 * its bytes counted against `Content-Length` and its lines against the
 * manifest's count, then renamed into place. The bearer token is sent only
 * when the manifest requires one, and only to the origin of the status URL.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError, ExitCode } from '../errors.ts';
import { answerError, type FhirClient } from '../fhir-client.ts';
import type { ExportManifest, ManifestFile } from './status.ts';

/** One downloaded file. */
export interface DownloadedFile {
  /** Where it was written. */
  path: string;
  /** `output`, `error` or `deleted`. */
  kind: 'output' | 'error' | 'deleted';
  /** Resource type. */
  type: string;
  /** Bytes written. */
  bytes: number;
  /** NDJSON lines. */
  lines: number;
  /** What did not match (byte count, line count), if anything. */
  problem?: string;
}

/** Options of {@link downloadManifest}. */
export interface DownloadOptions {
  /** Files fetched at once (default 4). */
  concurrency?: number;
  /** Called after each file. */
  onFile?: (file: DownloadedFile) => void;
}

function fileName(url: string, taken: Set<string>, kind: string): string {
  let name = decodeURIComponent(basename(new URL(url).pathname)) || 'file.ndjson';
  name = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (taken.has(name)) name = `${kind}-${name}`;
  taken.add(name);
  return name;
}

async function fetchOne(fhir: FhirClient, file: ManifestFile, kind: DownloadedFile['kind'], path: string, bearer: boolean): Promise<DownloadedFile> {
  const res = await fhir.open('GET', file.url, { bearer, headers: { accept: 'application/fhir+ndjson' } });
  if (res.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    throw answerError({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }, `the download of ${basename(path)}`);
  }
  let bytes = 0;
  let lines = 0;
  let lastByte = 10;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
      if (chunk.length > 0) lastByte = chunk[chunk.length - 1]!;
      done(null, chunk);
    },
  });
  const part = `${path}.part`;
  try {
    await pipeline(res, count, createWriteStream(part, { mode: 0o600 }));
  } catch (error) {
    await rm(part, { force: true });
    throw error;
  }
  if (lastByte !== 10) lines += 1;
  const problems: string[] = [];
  const expected = Number(res.headers['content-length']);
  if (res.headers['content-length'] !== undefined && expected !== bytes) problems.push(`${bytes} bytes received, Content-Length said ${expected}`);
  if (file.count !== undefined && file.count !== lines) problems.push(`${lines} resources, the manifest said ${file.count}`);
  await rename(part, path);
  return { path, kind, type: file.type, bytes, lines, ...(problems.length > 0 ? { problem: problems.join('; ') } : {}) };
}

/** Downloads every output, error and deleted file of `manifest` (from the export at `statusUrl`) into `dir`. */
export async function downloadManifest(fhir: FhirClient, statusUrl: string, manifest: ExportManifest, dir: string, options: DownloadOptions = {}): Promise<DownloadedFile[]> {
  await mkdir(dir, { recursive: true });
  const origin = new URL(statusUrl).origin;
  const taken = new Set<string>();
  const work = [
    ...manifest.output.map((f) => ({ f, kind: 'output' as const })),
    ...manifest.error.map((f) => ({ f, kind: 'error' as const })),
    ...(manifest.deleted ?? []).map((f) => ({ f, kind: 'deleted' as const })),
  ].map(({ f, kind }) => ({ f, kind, path: join(dir, fileName(f.url, taken, kind)) }));
  if (manifest.requiresAccessToken) {
    const foreign = work.find((w) => new URL(w.f.url).origin !== origin);
    if (foreign) throw new CliError(`the manifest names a file on another server (${new URL(foreign.f.url).origin}); the bearer token is sent only to ${origin}`, ExitCode.failed);
  }
  const done: DownloadedFile[] = [];
  const queue = [...work];
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? 4, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const file = await fetchOne(fhir, next.f, next.kind, next.path, manifest.requiresAccessToken);
        done.push(file);
        options.onFile?.(file);
      }
    }),
  );
  return work.map((w) => done.find((d) => d.path === w.path)!);
}
