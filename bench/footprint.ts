/**
 * npm run bench:footprint — start-up time, RSS and live heap of each service,
 * run compiled (dist/, plain node: what npm start and the package run) against
 * the same service from its TypeScript sources through the tsx loader. Both run
 * against one set of stand-ins and one provisioned account; each round starts
 * every (service, flavour) once, in alternating order, and waits for its ready
 * line (start-up time), then 3 s (RSS from /proc), then asks it for the heap
 * left after two full collections (bench/live-heap.ts). Medians of the rounds;
 * the last line is one JSON object.
 *
 *   npm run bench:footprint -- --rounds 5
 */
import { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../common/package-root.ts';
import { FHIR_API, fhirEnvironment } from '../dev/mesh-setup.ts';
import { routingNodeArgs } from '../dev/routing-process.ts';
import { startRoutingSetup } from '../dev/routing-setup.ts';
import { spawnUntilReady } from '../dev/ready-process.ts';
import { median } from './export-run.ts';
import { liveHeapFlags, liveHeapMb } from './live-heap.ts';
import { positiveInt } from './cli-args.ts';

const cli = new Command('bench:footprint')
  .option('--rounds <n>', 'starts of each service in each flavour', positiveInt, 3)
  .parse();
const { rounds } = cli.opts<{ rounds: number }>();

type Flavour = 'built' | 'tsx';
type Service = 'routing' | 'fhir';
const entry = (service: Service, flavour: Flavour): string[] => {
  const path = service === 'routing' ? 'routing-server/main' : 'fhir-server/main';
  return flavour === 'built' ? [join(packageRoot, 'dist', `${path}.js`)] : ['--import', 'tsx', join(packageRoot, `${path}.ts`)];
};
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const setup = await startRoutingSetup({ mode: 'child-process' });
const dir = mkdtempSync(join(tmpdir(), 'fhirmesh-footprint-'));
const samples = new Map<string, { startMs: number[]; rssMb: number[]; heapMb: number[] }>();
try {
  setup.standIns.entra.registerResource(FHIR_API);
  const account = await setup.provisionAccount('footprint');
  const fhirEnv = fhirEnvironment(setup, account);
  const measure = async (service: Service, flavour: Flavour, round: number): Promise<void> => {
    const heapFile = join(dir, `${service}-${flavour}-${round}.heap`);
    const args = [...(service === 'routing' ? routingNodeArgs() : []), ...liveHeapFlags(), ...entry(service, flavour)];
    const started = performance.now();
    const child = await spawnUntilReady({
      name: `${service} (${flavour})`,
      args,
      env: { ...(service === 'routing' ? setup.env : fhirEnv), LIVE_HEAP_FILE: heapFile },
      readyPrefix: service === 'routing' ? 'ROUTING_READY' : 'FHIR_READY',
      startTimeoutMs: 120_000,
      graceMs: 15_000,
    });
    const startMs = performance.now() - started;
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      const rss = rssMb(child.child.pid!);
      const heap = await liveHeapMb(child.child.pid!, heapFile);
      const key = `${service} ${flavour}`;
      const s = samples.get(key) ?? { startMs: [], rssMb: [], heapMb: [] };
      s.startMs.push(startMs);
      s.rssMb.push(rss);
      s.heapMb.push(heap);
      samples.set(key, s);
      process.stderr.write(`round ${round} ${key}: ready in ${Math.round(startMs)} ms, RSS ${rss.toFixed(0)} MB, live heap ${heap.toFixed(1)} MB\n`);
    } finally {
      await child.stop();
    }
  };
  for (let round = 0; round < rounds; round++) {
    const order: Flavour[] = round % 2 === 0 ? ['built', 'tsx'] : ['tsx', 'built'];
    for (const service of ['routing', 'fhir'] as const) for (const flavour of order) await measure(service, flavour, round);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await setup.stop();
}

const summary: Record<string, { start_ms: number; rss_mb: number; live_heap_mb: number }> = {};
process.stdout.write(`| service | run as | start-up (ms) | RSS (MB) | live heap (MB) |\n|---|---|---|---|---|\n`);
for (const [key, s] of samples) {
  const row = { start_ms: Math.round(median(s.startMs)), rss_mb: Math.round(median(s.rssMb)), live_heap_mb: Math.round(median(s.heapMb) * 10) / 10 };
  summary[key.replace(' ', '_')] = row;
  const [service, flavour] = key.split(' ');
  process.stdout.write(`| ${service === 'routing' ? 'routing server' : 'fhir-server'} | ${flavour === 'built' ? 'dist/, node' : 'sources, tsx'} | ${row.start_ms} | ${row.rss_mb} | ${row.live_heap_mb} |\n`);
}
process.stdout.write(`${JSON.stringify({ bench: 'footprint', rounds, ...summary })}\n`);
