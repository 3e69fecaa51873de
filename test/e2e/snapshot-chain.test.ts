/**
 * Exports are exact while writes go on (real processes: a fhir-server process,
 * the routing server and the stand-ins). A writer creates, updates and deletes
 * Patients and Observations at about 50 writes/s through the REST API while
 * three exports run one after the other, each a `_since` export from the
 * previous `transactionTime`. Then:
 * - each export equals the store's state as of its transactionTime, rebuilt
 *   from the writer's own log (every write's version and instant, from the
 *   server's answers) — and that log agrees with the server's `_history`;
 * - each `_since` export lists exactly the resources deleted in its window;
 * - replaying the chain (output upserts, deleted removals) gives exactly the
 *   state at the last transactionTime;
 * - no resource appears in two exports unless it changed between them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { startExportMesh, type ExportMesh } from '../faults/support/export-mesh.ts';
import { startServerProcess, type ServerProcess } from '../faults/support/export-process.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';

interface Version {
  versionId: number;
  ms: number;
  deleted: boolean;
  resource?: Record<string, unknown>;
}
type Key = string; // "Type/id"

let mesh: ExportMesh;
let server: ServerProcess;
let token: string;
const log = new Map<Key, Version[]>();
const failures: string[] = [];

test.before(
  loud('before', async () => {
    mesh = await startExportMesh('chain', { FHIR_EXPORT_JOB_POLLING_FREQUENCY_SECONDS: '1' });
    server = await startServerProcess(mesh.env, { pageDelayMs: 30, exportOptions: { maximumNumberOfResourcesPerQuery: 10 } });
    token = await mesh.bearer();
  }),
);
test.after(async () => {
  server?.child.kill('SIGKILL');
  await mesh?.stop();
});

function record(key: Key, version: Version): void {
  const versions = log.get(key) ?? [];
  versions.push(version);
  versions.sort((a, b) => a.versionId - b.versionId);
  log.set(key, versions);
}

/** Sends one write as a single-entry batch (its response entry carries the version's exact instant) and logs it. */
async function write(entry: { method: 'PUT' | 'DELETE'; url: string; resource?: Record<string, unknown> }): Promise<void> {
  const body = { resourceType: 'Bundle', type: 'batch', entry: [{ ...(entry.resource ? { resource: entry.resource } : {}), request: { method: entry.method, url: entry.url } }] };
  const response = await https(`${server.baseUrl}/`, { method: 'POST', ca: mesh.ca, token, body, headers: { prefer: 'return=representation' } });
  const answer = response.status === 200 ? (JSON.parse(response.body) as { entry: { resource?: Record<string, unknown>; response: { status: string; etag?: string; lastModified?: string } }[] }).entry[0] : undefined;
  if (!answer || !/^20[014]/.test(answer.response.status)) {
    failures.push(`${entry.method} ${entry.url}: ${response.status} ${response.body.slice(0, 200)}`);
    return;
  }
  if (!answer.response.etag || !answer.response.lastModified) return; // a delete of something already gone: no version
  const versionId = Number(/\d+/.exec(answer.response.etag)![0]);
  const version: Version = { versionId, ms: Date.parse(answer.response.lastModified), deleted: entry.method === 'DELETE' };
  if (answer.resource) version.resource = answer.resource;
  record(entry.url, version);
}

const patient = (id: string, n: number) => ({ resourceType: 'Patient', id, gender: n % 2 ? 'male' : 'female', birthDate: `19${10 + (n % 80)}-01-01` });
const observation = (id: string, n: number) => ({ resourceType: 'Observation', id, status: 'final', code: { text: `reading ${n}` }, valueQuantity: { value: n, unit: 'mg' } });
const makers: Record<string, (id: string, n: number) => Record<string, unknown>> = { Patient: patient, Observation: observation };

function liveKeys(): Key[] {
  return [...log].filter(([, versions]) => !versions.at(-1)!.deleted).map(([key]) => key);
}

/** Writes at about `perSecond` until stopped, each write on a resource no other write in flight touches. */
function startWriter(perSecond: number): { stop: () => Promise<{ writes: number; seconds: number }> } {
  let stopped = false;
  let writes = 0;
  let serial = 0;
  const busy = new Set<Key>();
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();
  const pick = (keys: Key[]) => keys.filter((k) => !busy.has(k))[Math.floor(Math.random() * keys.length)];
  const one = async () => {
    serial += 1;
    const roll = Math.random();
    const type = serial % 2 ? 'Patient' : 'Observation';
    let key: Key | undefined;
    let entry: Parameters<typeof write>[0];
    const live = liveKeys();
    const deleted = [...log].filter(([, v]) => v.at(-1)!.deleted).map(([k]) => k);
    if (roll < 0.45 && (key = pick(live))) entry = { method: 'PUT', url: key, resource: makers[key.split('/')[0]!]!(key.split('/')[1]!, serial) };
    else if (roll < 0.65 && (key = pick(live))) entry = { method: 'DELETE', url: key };
    else if (roll < 0.75 && (key = pick(deleted))) entry = { method: 'PUT', url: key, resource: makers[key.split('/')[0]!]!(key.split('/')[1]!, serial) };
    else {
      key = `${type}/w${serial}`;
      entry = { method: 'PUT', url: key, resource: makers[type]!(`w${serial}`, serial) };
    }
    busy.add(key);
    try {
      await write(entry);
      writes += 1;
    } finally {
      busy.delete(key);
    }
  };
  const loop = (async () => {
    const interval = 1000 / perSecond;
    for (let next = Date.now(); !stopped; next += interval) {
      const p = one().catch((error: unknown) => void failures.push(String(error)));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      while (inFlight.size >= 4) await Promise.race(inFlight);
      const wait = next + interval - Date.now();
      if (wait > 0) await sleep(wait);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      await Promise.all(inFlight);
      return { writes, seconds: (Date.now() - started) / 1000 };
    },
  };
}

interface ExportResult {
  transactionMs: number;
  transactionTime: string;
  output: Map<Key, Record<string, unknown>>;
  deleted: Set<Key>;
  lines: number;
}

async function runExport(since?: string): Promise<ExportResult> {
  const query = `_type=Patient,Observation${since ? `&_since=${encodeURIComponent(since)}` : ''}`;
  const kickoff = await https(`${server.baseUrl}/$export?${query}`, { ca: mesh.ca, token, headers: { prefer: 'respond-async' } });
  assert.is(kickoff.status, 202, kickoff.body);
  const statusUrl = String(kickoff.headers['content-location']);
  for (let i = 0; i < 600; i++) {
    const status = await https(statusUrl, { ca: mesh.ca, token });
    if (status.status === 200) {
      const manifest = JSON.parse(status.body) as { transactionTime: string; output: { url: string }[]; deleted?: { url: string }[] };
      const result: ExportResult = { transactionTime: manifest.transactionTime, transactionMs: Date.parse(manifest.transactionTime), output: new Map(), deleted: new Set(), lines: 0 };
      for (const file of manifest.output) {
        for (const line of (await https(file.url, { ca: mesh.ca, token, headers: { accept: 'application/fhir+ndjson' } })).body.split('\n').filter(Boolean)) {
          const resource = JSON.parse(line) as { resourceType: string; id: string };
          const key = `${resource.resourceType}/${resource.id}`;
          assert.not.ok(result.output.has(key), `${key} twice in one export`);
          result.output.set(key, resource);
          result.lines += 1;
        }
      }
      for (const file of manifest.deleted ?? []) {
        for (const line of (await https(file.url, { ca: mesh.ca, token, headers: { accept: 'application/fhir+ndjson' } })).body.split('\n').filter(Boolean)) {
          result.deleted.add((JSON.parse(line) as { entry: { request: { url: string } }[] }).entry[0]!.request.url);
        }
      }
      return result;
    }
    assert.is(status.status, 202, status.body);
    await sleep(100);
  }
  throw new Error('export did not finish');
}

/** The version of each resource current at `ms` (from `versions` lists). */
function stateAt(history: Map<Key, Version[]>, ms: number): Map<Key, Version> {
  const out = new Map<Key, Version>();
  for (const [key, versions] of history) {
    const current = versions.filter((v) => v.ms <= ms).at(-1);
    if (current) out.set(key, current);
  }
  return out;
}

const liveAt = (history: Map<Key, Version[]>, ms: number, afterMs = -Infinity) =>
  new Map([...stateAt(history, ms)].filter(([, v]) => !v.deleted && v.ms > afterMs).map(([k, v]) => [k, v.resource!] as const));
const deletedAt = (history: Map<Key, Version[]>, ms: number, afterMs: number) =>
  new Set([...stateAt(history, ms)].filter(([, v]) => v.deleted && v.ms > afterMs).map(([k]) => k));

function sameResources(actual: Map<Key, Record<string, unknown>>, expected: Map<Key, Record<string, unknown>>, label: string): void {
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  const stale = [...expected.keys()].filter((k) => actual.has(k) && JSON.stringify(actual.get(k)) !== JSON.stringify(expected.get(k)));
  assert.ok(
    missing.length + extra.length + stale.length === 0,
    `${label}: ${missing.length} missing (${missing.slice(0, 4).join(', ')}), ${extra.length} not expected (${extra.slice(0, 4).join(', ')}), ` +
      `${stale.length} in another version (${stale.slice(0, 4).map((k) => `${k}: v${(actual.get(k)!.meta as { versionId: string }).versionId} not v${(expected.get(k)!.meta as { versionId: string }).versionId}`).join(', ')})`,
  );
}

async function historyFromServer(): Promise<Map<Key, Version[]>> {
  const out = new Map<Key, Version[]>();
  let url: string | undefined = `${server.baseUrl}/_history?_count=1000`;
  while (url) {
    const response = await https(url, { ca: mesh.ca, token });
    assert.is(response.status, 200, response.body.slice(0, 300));
    const bundle = JSON.parse(response.body) as {
      link: { relation: string; url: string }[];
      entry: { fullUrl: string; resource?: Record<string, unknown>; request: { method: string }; response: { etag: string; lastModified: string } }[];
    };
    for (const e of bundle.entry) {
      const key = e.fullUrl.split('/').slice(-2).join('/');
      const version: Version = { versionId: Number(/\d+/.exec(e.response.etag)![0]), ms: Date.parse(e.response.lastModified), deleted: e.request.method === 'DELETE' };
      if (e.resource) version.resource = e.resource;
      out.set(key, [version, ...(out.get(key) ?? [])]);
    }
    url = bundle.link.find((l) => l.relation === 'next')?.url;
  }
  return out;
}

test('three _since exports in a row while a writer runs: each is the state at its transactionTime, and the chain replays to the last', async () => {
  // Base data, logged like every later write.
  for (let i = 0; i < 60; i++) await write({ method: 'PUT', url: `Patient/base${i}`, resource: patient(`base${i}`, i) });
  for (let i = 0; i < 60; i++) await write({ method: 'PUT', url: `Observation/base${i}`, resource: observation(`base${i}`, i) });
  const writer = startWriter(50);
  await sleep(500);
  const exports: ExportResult[] = [];
  exports.push(await runExport());
  exports.push(await runExport(exports[0]!.transactionTime));
  exports.push(await runExport(exports[1]!.transactionTime));
  const { writes, seconds } = await writer.stop();
  console.log(`writer: ${writes} writes in ${seconds.toFixed(1)} s (${(writes / seconds).toFixed(1)}/s); exports: ${exports.map((e) => `${e.lines} lines, ${e.deleted.size} deleted`).join('; ')}`);
  assert.equal(failures, [], 'every write was answered');

  // 1. Each export is the state at its transactionTime, as the writer's own log has it.
  exports.forEach((e, i) => {
    const afterMs = i === 0 ? -Infinity : exports[i - 1]!.transactionMs;
    sameResources(e.output, liveAt(log, e.transactionMs, afterMs), `export ${i + 1} output`);
    if (i > 0) assert.equal([...e.deleted].sort(), [...deletedAt(log, e.transactionMs, afterMs)].sort(), `export ${i + 1} deleted`);
  });
  const changedDuring = exports.slice(1).map((e, i) => [...log.values()].filter((vs) => vs.some((v) => v.ms > exports[i]!.transactionMs && v.ms <= e.transactionMs)).length);
  assert.ok(changedDuring.every((n) => n > 0), `writes landed inside every window: ${changedDuring.join(', ')}`);

  // 2. The server's own history says the same as the log.
  const history = await historyFromServer();
  for (const e of exports) sameResources(liveAt(history, e.transactionMs), liveAt(log, e.transactionMs), `history at ${e.transactionTime}`);
  assert.equal([...history.keys()].sort(), [...log.keys()].sort());
  for (const [key, versions] of log) assert.equal(history.get(key)!.map((v) => [v.versionId, v.ms, v.deleted]), versions.map((v) => [v.versionId, v.ms, v.deleted]), key);

  // 3. Replaying the chain gives the state at the last transactionTime.
  const replay = new Map(exports[0]!.output);
  for (const e of exports.slice(1)) {
    for (const [key, resource] of e.output) replay.set(key, resource);
    for (const key of e.deleted) replay.delete(key);
  }
  sameResources(replay, liveAt(history, exports[2]!.transactionMs), 'chain replay');

  // 4. A resource is in two exports only when it changed between them.
  for (let i = 1; i < exports.length; i++) {
    for (const [key, resource] of exports[i]!.output) {
      for (let j = 0; j < i; j++) {
        const earlier = exports[j]!.output.get(key);
        if (earlier) assert.is.not((earlier.meta as { versionId: string }).versionId, (resource.meta as { versionId: string }).versionId, `${key} in exports ${j + 1} and ${i + 1} unchanged`);
      }
    }
  }
});

test.run();
