/**
 * The short soak that runs with every `npm test`: bench/soak.ts for 20 s with
 * 20 s tokens, so background refreshes happen under load. No request may fail,
 * the probe must see the token replaced, and nothing may be kept per request.
 * The leak check is the server's live heap after a full GC (bench/live-heap.ts),
 * before and after the ~300k requests: 4 MB of slack is ~13 bytes per request
 * (measured: +0.4 MB). RSS is only checked for running away: its samples swing
 * by 100 MB and more within one GC cycle while the young generation grows
 * towards its plateau (~500 MB with the server's 64 MiB semi-space), so the
 * peak of the last 10 s chunk may be at most 25% + 32 MB above the first's.
 * The long run is `npm run bench:soak`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('GetToken under sustained load: no errors, refreshes under load, live heap flat, RSS does not run away', async () => {
  const env = { ...process.env, SOAK_SECONDS: '20', SOAK_CHUNK_SECONDS: '10', SOAK_TOKEN_LIFETIME_SECONDS: '20', BENCH_CONNECTIONS: '2', BENCH_STREAMS: '16' };
  const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'bench/soak.ts'], { cwd: root, env, timeout: 240_000, maxBuffer: 8 << 20 });
  process.stdout.write(stdout);
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  assert.is(result.errors, 0, 'no failed request and no failed probe');
  assert.ok(result.requests > 1000, `load was applied (${result.requests} requests)`);
  assert.ok(result.probes > 50, `probes checked answers under load (${result.probes})`);
  assert.ok(result.tokens_served >= 2, `the cached token was replaced in the background under load (${result.tokens_served} tokens)`);
  assert.ok(result.heap_end_mb <= result.heap_start_mb + 4, `live heap after full GC: ${result.heap_start_mb} MB before the load, ${result.heap_end_mb} MB after ${result.requests} requests`);
  const first = result.rss_first_chunk_peak_mb!;
  const last = result.rss_last_chunk_peak_mb!;
  assert.ok(last <= first * 1.25 + 32, `RSS stable: peak ${first} MB in the first chunk, ${last} MB in the last`);
});

test.run();
