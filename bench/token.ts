/**
 * npm run bench:token — cached GetToken on the routing server (started as built,
 * as its own process) against a bare grpc-js baseline with the same TLS, driven
 * by the same load tool (h2load) in the same run. The routing server's metrics
 * are scraped before the load, as they would be in production. Prints both
 * throughputs, their ratio and the token path's p99, and per round each
 * server's p99 and CPU time per call (from /proc), to tell a slower server from
 * a round that ran in the machine's slow mode (see the README's benchmark
 * notes); the last line is one JSON object.
 *
 * Options (env): BENCH_SECONDS (default 8), BENCH_CONNECTIONS (4), BENCH_STREAMS (32), BENCH_ROUNDS (5).
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetTokenRequest, GetTokenResponse, TokenServiceClient } from '../gen/fhirmesh/routing/v1/token_service.ts';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../common/grpc/client.ts';
import { startRoutingSetup } from '../dev/routing-setup.ts';
import { entryArgs } from '../dev/node-entry.ts';
import { routingNodeArgs } from '../dev/routing-process.ts';
import { statOf } from '../dev/processes.ts';
import { spawnUntilReady, type ReadyProcess } from '../dev/ready-process.ts';
import { ensureH2load, grpcFrame, h2load, type LoadResult } from './h2load.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 4);
const streams = Number(process.env.BENCH_STREAMS ?? 32);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const METHOD = '/fhirmesh.routing.v1.TokenService/GetToken';

/** CPU time (user + system) a server process has used so far, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = statOf(pid);
  if (!stat) throw new Error(`server process ${pid} is gone`);
  return stat.cpuSeconds;
}

/** One load run against `url`, with the CPU the server process `pid` spent per request (µs, warm-up included on both sides). */
async function measured(pid: number, options: Parameters<typeof h2load>[0]): Promise<LoadResult & { cpuUsPerCall: number }> {
  const before = cpuSeconds(pid);
  const result = await h2load(options);
  const calls = result.rps * (options.durationSeconds + options.warmUpSeconds);
  return { ...result, cpuUsPerCall: ((cpuSeconds(pid) - before) * 1e6) / calls };
}

/** One metrics scrape (GET, body read and dropped); throws unless it answers 200. */
function scrape(url: string, caPem: string): Promise<void> {
  return new Promise((resolve, reject) => {
    get(url, { ca: caPem }, (res) => {
      res.resume().on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`metrics scrape answered HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
}

function startBaseline(certFile: string, keyFile: string, responseFile: string): Promise<ReadyProcess> {
  // The baseline runs with the routing server's node flags (ROUTING_NODE_ARGS too), so only the token path differs.
  return spawnUntilReady({
    name: 'baseline server',
    args: [...routingNodeArgs(), ...entryArgs('./baseline-server', import.meta.url), certFile, keyFile, responseFile],
    env: {},
    readyPrefix: 'BASELINE_READY',
    startTimeoutMs: 30_000,
    graceMs: 5_000,
  });
}

ensureH2load();
const setup = await startRoutingSetup({ mode: 'child-process' });
let baseline: ReadyProcess | undefined;
try {
  const account = await setup.provisionAccount('bench-account');
  const client = new TokenServiceClient(setup.address, tlsChannelCredentials(setup.standIns.tls.caPem));
  // Warm the cache, and check the path works before measuring it.
  const warm = await unaryCall(client.getToken, client, { resourceUri: 'https://storage.azure.com' }, bearerMetadata(account.refreshToken));
  client.close();
  // Scraped as in production: a metrics scrape is HTTP/1.1 traffic in the server process (see common/metrics/listener.ts).
  for (let i = 0; i < 3; i++) await scrape(setup.metricsUrl!, setup.standIns.tls.caPem);
  const dir = mkdtempSync(join(tmpdir(), 'bench-token-'));
  const responseFile = join(dir, 'response.json');
  writeFileSync(responseFile, JSON.stringify(GetTokenResponse.toJSON(warm)));
  baseline = await startBaseline(setup.standIns.tls.certFile, setup.standIns.tls.keyFile, responseFile);
  const baselineAddress = baseline.ready.address!;
  const body = grpcFrame(GetTokenRequest.encode({ resourceUri: 'https://storage.azure.com' }).finish());
  const common = { body, durationSeconds: seconds, warmUpSeconds: 2, connections, streams, headers: { authorization: `Bearer ${account.refreshToken}` } };
  const routingPid = setup.routingProcess!.child.pid!;
  const token: Array<LoadResult & { cpuUsPerCall: number }> = [];
  const base: Array<LoadResult & { cpuUsPerCall: number }> = [];
  // Alternate the two, so drift in the machine's load hits both alike.
  for (let round = 0; round < rounds; round++) {
    base.push(await measured(baseline.child.pid!, { ...common, url: `https://${baselineAddress}${METHOD}` }));
    token.push(await measured(routingPid, { ...common, url: `https://${setup.address}${METHOD}` }));
    const [b, t] = [base.at(-1)!, token.at(-1)!];
    process.stderr.write(
      `round ${round + 1}: baseline ${b.rps.toFixed(0)} rps (${b.cpuUsPerCall.toFixed(1)} µs CPU/call, p99 ${b.p99Ms.toFixed(2)} ms), token ${t.rps.toFixed(0)} rps (${t.cpuUsPerCall.toFixed(1)} µs CPU/call, p99 ${t.p99Ms.toFixed(2)} ms)\n`,
    );
  }
  const failed = [...token, ...base].reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} requests failed during the runs`);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const tokenRps = median(token.map((r) => r.rps));
  const baselineRps = median(base.map((r) => r.rps));
  const p99 = median(token.map((r) => r.p99Ms));
  const tokenCpu = median(token.map((r) => r.cpuUsPerCall));
  const baselineCpu = median(base.map((r) => r.cpuUsPerCall));
  process.stdout.write(`cached GetToken: ${tokenRps.toFixed(0)} rps, p99 ${p99.toFixed(2)} ms; baseline: ${baselineRps.toFixed(0)} rps (${connections} connections x ${streams} streams, ${seconds} s x ${rounds} rounds)\n`);
  process.stdout.write(`server CPU per call (median): token ${tokenCpu.toFixed(1)} µs, baseline ${baselineCpu.toFixed(1)} µs (CPU ratio ${(baselineCpu / tokenCpu).toFixed(3)})\n`);
  process.stdout.write(
    `${JSON.stringify({ bench: 'token', ratio: Number((tokenRps / baselineRps).toFixed(3)), token_rps: Math.round(tokenRps), baseline_rps: Math.round(baselineRps), p99_ms: Number(p99.toFixed(2)) })}\n`,
  );
} finally {
  await baseline?.stop();
  await setup.stop();
}
