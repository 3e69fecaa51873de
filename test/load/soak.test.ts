/**
 * The short soak that runs with every `npm test`: bench/soak.ts for 20 s with
 * 20 s tokens, so background refreshes happen under load. No request may fail,
 * the probe must see the token replaced, and RSS must not run away. RSS
 * samples swing by 100 MB and more within one GC cycle, and the heap is still
 * growing towards its plateau (~500 MB with the server's 64 MiB semi-space) in
 * these first seconds, so the check compares the peak of the last 10 s chunk
 * with the peak of the first and allows 25% + 32 MB: it catches a leak of
 * about 1 KB per request (~200 MB over the ~200k requests of one chunk here),
 * not a small one. Small leaks are for the long run, `npm run bench:soak`,
 * which reports the chunk peaks over minutes (flat at 500–533 MB over 80 s).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('GetToken under sustained load: no errors, refreshes under load, RSS does not run away', async () => {
  const env = { ...process.env, SOAK_SECONDS: '20', SOAK_CHUNK_SECONDS: '10', SOAK_TOKEN_LIFETIME_SECONDS: '20', BENCH_CONNECTIONS: '2', BENCH_STREAMS: '16' };
  const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'bench/soak.ts'], { cwd: root, env, timeout: 240_000, maxBuffer: 8 << 20 });
  process.stdout.write(stdout);
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  assert.is(result.errors, 0, 'no failed request and no failed probe');
  assert.ok(result.requests > 1000, `load was applied (${result.requests} requests)`);
  assert.ok(result.probes > 50, `probes checked answers under load (${result.probes})`);
  assert.ok(result.tokens_served >= 2, `the cached token was replaced in the background under load (${result.tokens_served} tokens)`);
  const first = result.rss_first_chunk_peak_mb!;
  const last = result.rss_last_chunk_peak_mb!;
  assert.ok(last <= first * 1.25 + 32, `RSS stable: peak ${first} MB in the first chunk, ${last} MB in the last`);
});

test.run();
