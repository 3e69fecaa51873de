/**
 * npm run bench:soak — GetToken under sustained load. The routing server runs as
 * its own process (as built); h2load drives cached GetToken in back-to-back
 * chunks while a probe client checks one answer every PROBE_INTERVAL_MS (status,
 * token, expiry) and the server's RSS is sampled. The stand-in issues
 * short-lived tokens, so background refreshes happen under the load. Reports
 * throughput and p99 per chunk, RSS at start, after the first chunk (the young
 * generation has grown by then), at the end, at most and the peak of each chunk,
 * the live heap after a full GC at the start and after each chunk (the leak
 * measure: bench/live-heap.ts), and every error; exits 1 on any error. The last
 * line is one JSON object.
 *
 * Options (env): SOAK_SECONDS (default 180), SOAK_CHUNK_SECONDS (30),
 * SOAK_TOKEN_LIFETIME_SECONDS (90), BENCH_CONNECTIONS (4), BENCH_STREAMS (16).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { GetTokenRequest, TokenServiceClient } from '../gen/fhirmesh/routing/v1/token_service.ts';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../common/grpc/client.ts';
import { startRoutingSetup } from '../dev/routing-setup.ts';
import { ensureH2load, grpcFrame, h2load, type LoadResult } from './h2load.ts';
import { liveHeapFlags, liveHeapMb } from './live-heap.ts';

const seconds = Number(process.env.SOAK_SECONDS ?? 180);
const chunkSeconds = Math.min(seconds, Number(process.env.SOAK_CHUNK_SECONDS ?? 30));
const tokenLifetimeSeconds = Number(process.env.SOAK_TOKEN_LIFETIME_SECONDS ?? 90);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 4);
const streams = Number(process.env.BENCH_STREAMS ?? 16);
const PROBE_INTERVAL_MS = 50;
const METHOD = '/fhirmesh.routing.v1.TokenService/GetToken';
const RESOURCE = 'https://storage.azure.com';

/** Resident set size of a process in MB (Linux /proc). */
function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

ensureH2load();
// The server runs as built, plus a probe that reports its live heap on request (bench/live-heap.ts).
const heapFile = join(mkdtempSync(join(tmpdir(), 'soak-')), 'live-heap');
process.env.LIVE_HEAP_FILE = heapFile;
process.env.ROUTING_NODE_ARGS = [process.env.ROUTING_NODE_ARGS ?? '', ...liveHeapFlags()].join(' ').trim();
const setup = await startRoutingSetup({ mode: 'child-process', tokenLifetimeSeconds });
const pid = setup.routingProcess!.child.pid!;
const probe = { ok: 0, failed: 0, tokens: new Set<string>(), firstError: '' };
let probing = true;
try {
  const account = await setup.provisionAccount('soak-account');
  const client = new TokenServiceClient(setup.address, tlsChannelCredentials(setup.standIns.tls.caPem));
  const metadata = bearerMetadata(account.refreshToken);
  await unaryCall(client.getToken, client, { resourceUri: RESOURCE }, metadata);

  // The probe: every answer under load must be a live token for the resource.
  const probeLoop = (async () => {
    while (probing) {
      try {
        const answer = await unaryCall(client.getToken, client, { resourceUri: RESOURCE }, metadata, 5_000);
        if (!answer.accessToken || !answer.expiresOn || answer.expiresOn.getTime() <= Date.now()) throw new Error('answer without a live token');
        probe.ok++;
        probe.tokens.add(answer.accessToken);
      } catch (err) {
        probe.failed++;
        const code = (err as { code?: number }).code;
        probe.firstError ||= code !== undefined ? `${grpcStatus[code]}: ${(err as Error).message}` : (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
    }
  })();

  const body = grpcFrame(GetTokenRequest.encode({ resourceUri: RESOURCE }).finish());
  const load = { body, connections, streams, headers: { authorization: `Bearer ${account.refreshToken}` }, url: `https://${setup.address}${METHOD}` };
  // Warm-up chunk (not measured) so the young generation and JIT have settled before the RSS baseline.
  await h2load({ ...load, durationSeconds: Math.min(10, chunkSeconds), warmUpSeconds: 1 });
  const heapStart = await liveHeapMb(pid, heapFile);
  const heaps: number[] = [];
  const rssStart = rssMb(pid);
  let rssMax = rssStart;
  // Peak RSS per chunk: a single sample lands anywhere in a GC cycle (it swings by
  // 100 MB within seconds), while the peak of a chunk moves only if the live set does.
  const chunkPeaks: number[] = [];
  let chunkPeak = rssStart;
  const sampler = setInterval(() => {
    const rss = rssMb(pid);
    rssMax = Math.max(rssMax, rss);
    chunkPeak = Math.max(chunkPeak, rss);
  }, 250);
  const chunks: LoadResult[] = [];
  let rssSettled = rssStart;
  for (let done = 0; done < seconds; done += chunkSeconds) {
    chunkPeak = rssMb(pid);
    const chunk = await h2load({ ...load, durationSeconds: Math.min(chunkSeconds, seconds - done), warmUpSeconds: 0 });
    chunks.push(chunk);
    const rssNow = rssMb(pid);
    chunkPeaks.push(Math.max(chunkPeak, rssNow));
    if (chunks.length === 1) rssSettled = rssNow;
    heaps.push(await liveHeapMb(pid, heapFile));
    process.stderr.write(`t=${done + chunkSeconds}s: ${chunk.rps.toFixed(0)} rps, p99 ${chunk.p99Ms.toFixed(2)} ms, failed ${chunk.failed}, rss ${rssNow.toFixed(1)} MB, live heap ${heaps.at(-1)!.toFixed(1)} MB, probes ${probe.ok} ok / ${probe.failed} failed\n`);
  }
  clearInterval(sampler);
  const rssEnd = rssMb(pid);
  probing = false;
  await probeLoop;
  client.close();

  const requests = chunks.reduce((n, c) => n + c.succeeded + c.failed, 0);
  const loadErrors = chunks.reduce((n, c) => n + c.failed, 0);
  const p99 = Math.max(...chunks.map((c) => c.p99Ms));
  const rps = chunks.reduce((n, c) => n + c.rps, 0) / chunks.length;
  const round1 = (x: number) => Number(x.toFixed(1));
  process.stdout.write(
    `soak: ${seconds} s, ${requests} requests (${rps.toFixed(0)} rps mean), worst chunk p99 ${p99.toFixed(2)} ms, ${loadErrors} load errors, ` +
      `${probe.ok} probes ok / ${probe.failed} failed, ${probe.tokens.size} distinct tokens served, RSS ${rssStart.toFixed(1)} MB at start, ${rssSettled.toFixed(1)} after the first chunk, ${rssEnd.toFixed(1)} at the end (max ${rssMax.toFixed(1)}); chunk peaks ${chunkPeaks.map((p) => p.toFixed(0)).join(', ')} MB; ` +
      `live heap after full GC ${heapStart.toFixed(1)} MB at start, ${heaps.map((h) => h.toFixed(1)).join(', ')} MB after each chunk\n`,
  );
  if (probe.firstError) process.stdout.write(`first probe error: ${probe.firstError}\n`);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'soak',
      seconds,
      requests,
      errors: loadErrors + probe.failed,
      rps: Math.round(rps),
      p99_ms: Number(p99.toFixed(2)),
      probes: probe.ok,
      tokens_served: probe.tokens.size,
      rss_start_mb: round1(rssStart),
      rss_settled_mb: round1(rssSettled),
      rss_end_mb: round1(rssEnd),
      rss_max_mb: round1(rssMax),
      rss_first_chunk_peak_mb: round1(chunkPeaks[0]!),
      rss_last_chunk_peak_mb: round1(chunkPeaks.at(-1)!),
      heap_start_mb: Number(heapStart.toFixed(2)),
      heap_end_mb: Number(heaps.at(-1)!.toFixed(2)),
    })}\n`,
  );
  if (loadErrors + probe.failed > 0) process.exitCode = 1;
} finally {
  probing = false;
  await setup.stop();
}
