/**
 * npm run bench:load — resources written per second through `POST [base]`
 * transaction Bundles with validation and search indexing on, against the same
 * Bundles written with both off (raw documents), measured in the same run.
 *
 * The Cosmos stand-in runs as its own process; two fhir-server REST apps run as
 * their own processes over HTTPS (bench/load-server.ts), each writing into its
 * own database: `full` as deployed, `raw` with R4 validation and index
 * extraction switched off by their benchmark-only switches. Everything else on
 * the path is the same: HTTPS, fastify, Bundle parsing, the gates and store
 * rules, id assignment and reference rewriting, the journaled store transaction.
 *
 * Data: the Synthea transaction Bundles (../shared/data/synthea-r4: the
 * Organization and Practitioner Bundles first, then `--bundles` patient Bundles,
 * cycling through the 12 files), else synthetic ones (said so in the output).
 * Every round gives every UUID a fresh one, consistently across the round's
 * Bundles, so each round creates new resources (a POST whose `urn:uuid:` id is
 * already stored would write nothing). One untimed round per mode first (JIT,
 * connections), then `--rounds` rounds alternating full/raw, raw/full, ...;
 * medians. Also the p50 latency of a patient Bundle and the server's CPU time
 * per resource (from /proc) of each mode. The last line is one JSON object.
 * Target ratio ≥ 0.6.
 *
 * Run: npm run bench:load -- --bundles 24 --rounds 4 --concurrency 4
 * Profile the servers: LOAD_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:load
 */
import { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { PARENT_PID_ENV } from '../common/process.ts';
import { ensureLocalTls, repoRoot } from '../dev/certs.ts';
import { entryArgs } from '../dev/node-entry.ts';
import { statOf } from '../dev/processes.ts';
import { spawnUntilReady, type ReadyProcess } from '../dev/ready-process.ts';
import { openStore } from '../dev/seed/connection.ts';
import { sharedResources } from '../fhir-server/seed/synthetic.ts';
import { patientRecord } from '../fhir-server/seed/synthetic-patient.ts';
import type { IdentifiedResource } from '../fhir-server/store/resource-store.ts';
import { mapBounded } from '../fhir-server/store/pool.ts';
import { median } from './export-run.ts';
import { positiveInt } from './cli-args.ts';

const cli = new Command('bench:load')
  .option('--bundles <n>', 'patient Bundles per round (after the directory Bundles; the 12 Synthea files cycled)', positiveInt, 24)
  .option('--rounds <n>', 'timed rounds of each mode (alternated)', positiveInt, 4)
  .option('--concurrency <n>', 'Bundles in flight', positiveInt, 4)
  .option('--data <dir>', 'folder of Synthea transaction Bundles (absent: synthetic Bundles)', join(repoRoot, '..', 'shared', 'data', 'synthea-r4'))
  .parse();
const { bundles: patientBundles, rounds, concurrency, data: dataDir } = cli.opts<{ bundles: number; rounds: number; concurrency: number; data: string }>();
const log = (line: string): boolean => process.stderr.write(`${line}\n`);
const uuidPattern = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

type Mode = 'full' | 'raw';
interface Source {
  /** Where the Bundles came from. */
  data: 'synthea-r4' | 'synthetic';
  /** Bundles of shared resources (Organizations, Practitioners), as JSON text. */
  directory: string[];
  /** Patient Bundles, as JSON text. */
  patients: string[];
}

interface Entry {
  fullUrl?: string;
  resource: { resourceType: string; id?: string };
}

function transactionOf(resources: IdentifiedResource[]): string {
  const entry = resources.map((resource) => ({ fullUrl: `urn:uuid:${resource.id}`, resource, request: { method: 'POST', url: resource.resourceType } }));
  return JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry });
}

function readSource(): Source {
  if (existsSync(dataDir)) {
    const bodies = readdirSync(dataDir)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => readFileSync(join(dataDir, name), 'utf8'))
      .filter((text) => (JSON.parse(text) as { resourceType: string }).resourceType === 'Bundle');
    const isDirectory = (text: string) => ((JSON.parse(text) as { entry?: Entry[] }).entry ?? []).every((e) => ['Organization', 'Practitioner'].includes(e.resource.resourceType));
    return { data: 'synthea-r4', directory: bodies.filter(isDirectory), patients: bodies.filter((b) => !isDirectory(b)) };
  }
  const options = { patients: 12, seed: 'bench-load' };
  const shared = sharedResources(options);
  return {
    data: 'synthetic',
    directory: [transactionOf(shared.resources)],
    patients: Array.from({ length: options.patients }, (_, i) => transactionOf(patientRecord(options.seed, i, shared.refs))),
  };
}

/** The Bundles of one round: every UUID replaced by a fresh one (the directory's alike in every patient Bundle; each patient copy its own). */
function roundBodies(source: Source): { directory: string[]; patients: string[]; resources: number } {
  const shared = new Map<string, string>();
  const directory = source.directory.map((text) => text.replace(uuidPattern, (uuid) => shared.get(uuid) ?? (shared.set(uuid, randomUUID()), shared.get(uuid)!)));
  const patients = Array.from({ length: patientBundles }, (_, i) => {
    const own = new Map<string, string>();
    return source.patients[i % source.patients.length]!.replace(uuidPattern, (uuid) => shared.get(uuid) ?? own.get(uuid) ?? (own.set(uuid, randomUUID()), own.get(uuid)!));
  });
  const count = (text: string) => ((JSON.parse(text) as { entry?: unknown[] }).entry ?? []).length;
  return { directory, patients, resources: [...directory, ...patients].reduce((n, text) => n + count(text), 0) };
}

/** POSTs one transaction Bundle; resolves with the resources it created (written) and the time it took. */
function post(baseUrl: string, agent: Agent, body: string): Promise<{ created: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/`, { method: 'POST', agent, headers: { 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - started;
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`POST [base] answered ${res.statusCode}: ${text.slice(0, 500)}`));
        const entries = (JSON.parse(text) as { entry?: { response?: { status?: string } }[] }).entry ?? [];
        const created = entries.filter((e) => e.response?.status?.startsWith('201')).length;
        // 200: a POST whose `urn:uuid:` id is already stored keeps that resource (Synthea repeats some Organizations and Practitioners).
        const kept = entries.filter((e) => e.response?.status?.startsWith('200')).length;
        if (created + kept !== entries.length) return reject(new Error(`${entries.length - created - kept} of ${entries.length} entries were neither created nor kept`));
        resolve({ created, ms });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface RoundResult {
  /** Resources created (entries answered 201). */
  written: number;
  resourcesPerS: number;
  bundleMs: number[];
  cpuUsPerResource: number;
}

async function runRound(server: ReadyProcess, agent: Agent, source: Source): Promise<RoundResult> {
  const bodies = roundBodies(source);
  const baseUrl = server.ready.baseUrl!;
  const pid = server.child.pid!;
  const cpuBefore = statOf(pid)!.cpuSeconds;
  const started = performance.now();
  let created = 0;
  // The directory first: patient Bundles refer to its resources by `urn:uuid:`, resolved on the server.
  await mapBounded(bodies.directory, concurrency, async (body) => {
    const done = await post(baseUrl, agent, body);
    created += done.created;
  });
  const bundleMs = await mapBounded(bodies.patients, concurrency, async (body) => {
    const done = await post(baseUrl, agent, body);
    created += done.created;
    return done.ms;
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = statOf(pid)!.cpuSeconds - cpuBefore;
  return { written: created, resourcesPerS: created / seconds, bundleMs, cpuUsPerResource: (cpu * 1e6) / created };
}

const source = readSource();
if (source.data === 'synthetic') log(`${dataDir} is absent: synthetic transaction Bundles instead`);
const tls = await ensureLocalTls();
const opened = await openStore({});
const servers = new Map<Mode, ReadyProcess>();
try {
  for (const mode of ['full', 'raw'] as const) {
    const nodeArgs = (process.env.LOAD_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    servers.set(
      mode,
      await spawnUntilReady({
        name: `load server (${mode})`,
        args: [...nodeArgs, ...entryArgs('./load-server', import.meta.url), mode, opened.endpoint, opened.caFile ?? tls.caFile, tls.certFile, tls.keyFile, `bench-load-${mode}`],
        env: { [PARENT_PID_ENV]: String(process.pid) },
        readyPrefix: 'LOAD_SERVER_READY',
        startTimeoutMs: 120_000,
        graceMs: 10_000,
      }),
    );
  }
  const agent = new Agent({ keepAlive: true, ca: tls.caPem, maxSockets: concurrency });
  const results: Record<Mode, RoundResult[]> = { full: [], raw: [] };
  for (let round = 0; round <= rounds; round++) {
    const order: Mode[] = round % 2 === 0 ? ['full', 'raw'] : ['raw', 'full'];
    for (const mode of order) {
      const result = await runRound(servers.get(mode)!, agent, source);
      log(`${round === 0 ? 'warm-up' : `round ${round}/${rounds}`} ${mode}: ${Math.round(result.resourcesPerS)} resources/s, bundle p50 ${Math.round(median(result.bundleMs))} ms, server CPU ${Math.round(result.cpuUsPerResource)} µs/resource`);
      if (round > 0) results[mode].push(result);
    }
  }
  agent.destroy();
  const rps = (mode: Mode) => median(results[mode].map((r) => r.resourcesPerS));
  const p50 = (mode: Mode) => median(results[mode].flatMap((r) => r.bundleMs));
  const cpu = (mode: Mode) => median(results[mode].map((r) => r.cpuUsPerResource));
  const entriesPerRound = roundBodies(source).resources;
  const written = new Set([...results.full, ...results.raw].map((r) => r.written));
  if (written.size !== 1) throw new Error(`the rounds wrote different numbers of resources: ${[...written].join(', ')}`);
  const perRound = [...written][0]!;
  const summary = {
    bench: 'load',
    ratio: Math.round((rps('full') / rps('raw')) * 1000) / 1000,
    resources_per_s: Math.round(rps('full')),
    baseline_resources_per_s: Math.round(rps('raw')),
    bundle_p50_ms: Math.round(p50('full')),
    baseline_bundle_p50_ms: Math.round(p50('raw')),
    server_cpu_us_per_resource: Math.round(cpu('full')),
    baseline_server_cpu_us_per_resource: Math.round(cpu('raw')),
    data: source.data,
    bundles_per_round: source.directory.length + patientBundles,
    entries_per_round: entriesPerRound,
    resources_written_per_round: perRound,
    rounds,
    concurrency,
  };
  process.stdout.write(
    `${perRound} resources written per round (${entriesPerRound} entries, the others kept as already stored; ${summary.bundles_per_round} transaction Bundles, ${source.data}), ${concurrency} in flight, median of ${rounds} rounds:\n` +
      `  validated + indexed: ${summary.resources_per_s} resources/s, patient Bundle p50 ${summary.bundle_p50_ms} ms, server CPU ${summary.server_cpu_us_per_resource} µs/resource\n` +
      `  raw documents:       ${summary.baseline_resources_per_s} resources/s, patient Bundle p50 ${summary.baseline_bundle_p50_ms} ms, server CPU ${summary.baseline_server_cpu_us_per_resource} µs/resource\n` +
      `  ratio ${summary.ratio} (target ≥ 0.6)\n` +
      `${JSON.stringify(summary)}\n`,
  );
} finally {
  await Promise.all([...servers.values()].map((s) => s.stop()));
  await opened.close();
}
