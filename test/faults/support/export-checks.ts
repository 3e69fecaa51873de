/**
 * Checks for export fault tests over REST: kick off, poll to the end, download
 * every listed file, and compare the lines with the store's JSON (each resource
 * exactly once, byte for byte).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResourceStore } from '../../../fhir-server/store/resource-store.ts';
import { https, type HttpResponse } from '../../support/https.ts';

/** A manifest as the REST facade answers it. */
export interface Manifest {
  transactionTime: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: { type: string; url: string; count: number }[];
  deleted?: { type: string; url: string; count: number }[];
}

/** Kicks off `path` (GET) at `baseUrl`. */
export function kickoff(baseUrl: string, path: string, ca: string, token: string): Promise<HttpResponse> {
  return https(`${baseUrl}${path}`, { ca, token, headers: { prefer: 'respond-async' } });
}

/** Polls a status URL until it is not 202 (or `limitMs` passed); `base` swaps the server asked. */
export async function pollToEnd(statusUrl: string, ca: string, token: string, options: { limitMs?: number; base?: () => string } = {}): Promise<HttpResponse> {
  const deadline = Date.now() + (options.limitMs ?? 60_000);
  for (;;) {
    const url = options.base ? statusUrl.replace(/^https:\/\/[^/]+/, options.base()) : statusUrl;
    const res = await https(url, { ca, token }).catch((err: Error) => ({ status: 0, headers: {}, body: err.message }) as HttpResponse);
    if (res.status !== 202 && res.status !== 0 && res.status !== 503) return res;
    if (Date.now() > deadline) throw new Error(`export still ${res.status} after ${options.limitMs ?? 60_000} ms: ${String(res.headers['x-progress'] ?? res.body)}`);
    await sleep(300);
  }
}

/** Every live resource of `type` as the store serves it (JSON text), by id. */
export async function storeJson(store: ResourceStore, type: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let continuation;
  do {
    const page: Awaited<ReturnType<ResourceStore['queryForExport']>> = await store.queryForExport({ resourceType: type, pageSize: 500, ...(continuation ? { continuation } : {}) });
    for (const item of page.items) if (item.json) out.set(item.id, item.json);
    continuation = page.continuation;
  } while (continuation);
  return out;
}

/** Downloads the manifest's `type` files (through `base` when given) and checks them against `expected`; returns the line count. */
export async function checkExactlyOnce(manifest: Manifest, type: string, expected: Map<string, string>, ca: string, token: string, base?: string): Promise<number> {
  const seen = new Set<string>();
  for (const file of manifest.output.filter((o) => o.type === type)) {
    const url = base ? file.url.replace(/^https:\/\/[^/]+/, base) : file.url;
    const res = await https(url, { ca, token, headers: { accept: 'application/fhir+ndjson' } });
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${res.body.slice(0, 200)}`);
    const lines = res.body.split('\n');
    if (lines.pop() !== '') throw new Error(`${url} does not end with a newline`);
    if (lines.length !== file.count) throw new Error(`${url}: manifest says ${file.count} lines, file has ${lines.length}`);
    for (const line of lines) {
      const id = (JSON.parse(line) as { id: string }).id;
      if (seen.has(id)) throw new Error(`${type}/${id} exported twice`);
      seen.add(id);
      if (line !== expected.get(id)) throw new Error(`${type}/${id} is not byte-equal to the store's read${expected.has(id) ? '' : ' (not expected at all)'}`);
    }
  }
  const missing = [...expected.keys()].filter((id) => !seen.has(id));
  if (missing.length > 0) throw new Error(`${type}: ${missing.length} missing (${missing.slice(0, 3).join(', ')})`);
  return seen.size;
}
