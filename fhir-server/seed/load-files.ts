/**
 * Loading FHIR files: NDJSON (one resource per line, through the bulk path),
 * batch/transaction Bundles (through the same Bundle processing as `POST [base]`),
 * and single resources (as a one-entry transaction, so their `urn:uuid:`
 * references resolve against what is already stored).
 *
 * Order, so that references resolve: Bundles of only directory resources
 * (Organization, Practitioner, ...) first, then other Bundles and NDJSON, then
 * single resources (such as a Group of the patients loaded before).
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { FhirService } from '../fhir/fhir-service.ts';
import { newResourceId } from '../fhir/ids.ts';
import { isJsonObject } from '../fhir/types.ts';
import type { FhirBundle } from '../fhir/types.ts';
import { mapBounded } from '../store/pool.ts';
import type { IdentifiedResource, ResourceStore } from '../store/resource-store.ts';

/** What loading needs. */
export interface LoadDeps {
  /** For NDJSON (bulk path). */
  store: ResourceStore;
  /** For Bundles and single resources, and to validate NDJSON lines as a write would. */
  service: FhirService;
}

/** Options of {@link loadFiles}. */
export interface LoadFilesOptions {
  /** Bundles loaded at once, and batch requests in flight for NDJSON (default 4 and 16). */
  bundleConcurrency?: number;
  /** Batch requests in flight for NDJSON. */
  bulkConcurrency?: number;
  /** Called once the total is known and after each file part. */
  onProgress?: (done: number, total: number) => void;
}

/** What a load did. */
export interface LoadFilesReport {
  /** Files loaded. */
  files: number;
  /** Resources written or kept (entries and lines). */
  resources: number;
  /** One line per failure. */
  failures: string[];
}

const directoryTypes = new Set(['Organization', 'Practitioner', 'PractitionerRole', 'Location', 'HealthcareService', 'Endpoint']);

interface FilePlan {
  path: string;
  kind: 'bundle' | 'resource' | 'ndjson';
  rank: number;
  count: number;
}

async function expand(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) {
      const names = (await readdir(path)).filter((n) => n.endsWith('.json') || n.endsWith('.ndjson')).sort();
      out.push(...names.map((n) => join(path, n)));
    } else {
      out.push(path);
    }
  }
  return out;
}

async function plan(path: string): Promise<FilePlan> {
  const text = await readFile(path, 'utf8');
  if (path.endsWith('.ndjson')) return { path, kind: 'ndjson', rank: 1, count: text.split('\n').filter((l) => l.trim() !== '').length };
  const body: unknown = JSON.parse(text);
  if (!isJsonObject(body)) throw new Error('not a JSON object');
  if (body.resourceType === 'Bundle' && (body.type === 'transaction' || body.type === 'batch')) {
    const entries = Array.isArray(body.entry) ? (body.entry as { resource?: { resourceType?: string } }[]) : [];
    const onlyDirectory = entries.length > 0 && entries.every((e) => directoryTypes.has(e.resource?.resourceType ?? ''));
    return { path, kind: 'bundle', rank: onlyDirectory ? 0 : 1, count: entries.length };
  }
  return { path, kind: 'resource', rank: 2, count: 1 };
}

/** Loads `paths` (files or directories of .json/.ndjson) in reference order. */
export async function loadFiles(paths: string[], deps: LoadDeps, options: LoadFilesOptions = {}): Promise<LoadFilesReport> {
  const report: LoadFilesReport = { files: 0, resources: 0, failures: [] };
  const plans: FilePlan[] = [];
  for (const path of await expand(paths)) {
    try {
      plans.push(await plan(path));
    } catch (error) {
      report.failures.push(`${basename(path)}: ${(error as Error).message}`);
    }
  }
  const total = plans.reduce((n, p) => n + p.count, 0);
  let done = 0;
  const progress = (n: number) => {
    done += n;
    options.onProgress?.(done, total);
  };
  options.onProgress?.(0, total);
  for (const rank of [0, 1, 2]) {
    const group = plans.filter((p) => p.rank === rank);
    const concurrency = rank === 1 ? (options.bundleConcurrency ?? 4) : 1;
    await mapBounded(group, concurrency, async (p) => {
      const outcome = p.kind === 'ndjson' ? await loadNdjson(p, deps, options, progress) : await loadJson(p, deps, progress);
      report.files += 1;
      report.resources += outcome.loaded;
      report.failures.push(...outcome.failures.map((f) => `${basename(p.path)}: ${f}`));
    });
  }
  return report;
}

/** Resources of one file stored, and why the others were not. */
interface FileOutcome {
  loaded: number;
  failures: string[];
}

async function loadJson(p: FilePlan, deps: LoadDeps, progress: (n: number) => void): Promise<FileOutcome> {
  let body = JSON.parse(await readFile(p.path, 'utf8')) as Record<string, unknown>;
  if (p.kind === 'resource') {
    const id = typeof body.id === 'string' ? body.id : undefined;
    const request = id ? { method: 'PUT', url: `${String(body.resourceType)}/${id}` } : { method: 'POST', url: String(body.resourceType) };
    body = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: body, request }] };
  }
  try {
    const response: FhirBundle = await deps.service.bundle(body, { includeResources: false });
    const failures = (response.entry ?? []).flatMap((e, i) => (e.response && Number.parseInt(e.response.status, 10) >= 400 ? [`entry ${i}: ${e.response.status}`] : []));
    return { loaded: p.count - failures.length, failures };
  } catch (error) {
    return { loaded: 0, failures: [`nothing loaded: ${(error as Error).message}`] };
  } finally {
    progress(p.count);
  }
}

async function loadNdjson(p: FilePlan, deps: LoadDeps, options: LoadFilesOptions, progress: (n: number) => void): Promise<FileOutcome> {
  const failures: string[] = [];
  let loaded = 0;
  let chunk: IdentifiedResource[] = [];
  let lineNo = 0;
  const flush = async () => {
    const resources = chunk;
    chunk = [];
    const result = await deps.store.bulkUpsert(resources, { concurrency: options.bulkConcurrency ?? 16 });
    failures.push(...result.failed.map((f) => `${resources[f.index]!.resourceType}/${resources[f.index]!.id}: ${f.error.message}`));
    loaded += resources.length - result.failed.length;
    progress(resources.length);
  };
  for await (const line of createInterface({ input: createReadStream(p.path, 'utf8'), crlfDelay: Infinity })) {
    lineNo += 1;
    if (line.trim() === '') continue;
    try {
      const resource = deps.service.checkResource(JSON.parse(line));
      chunk.push({ ...resource, id: resource.id ?? newResourceId() });
    } catch (error) {
      failures.push(`line ${lineNo}: ${(error as Error).message}`);
      progress(1);
    }
    if (chunk.length >= 5000) await flush();
  }
  if (chunk.length > 0) await flush();
  return { loaded, failures };
}
