/**
 * The short soak that runs with every `npm test`: bench/soak.ts for 20 s with
 * 20 s tokens, so background refreshes happen under load. No request may fail,
 * the probe must see the token replaced, and RSS must not keep growing once the
 * young generation has settled (a leak of even 100 bytes per request would
 * add well over 10 MB in these 20 s at the rates seen here). The long run is
 * `npm run bench:soak`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('GetToken under sustained load: no errors, refreshes under load, RSS settles', async () => {
  const env = { ...process.env, SOAK_SECONDS: '20', SOAK_CHUNK_SECONDS: '10', SOAK_TOKEN_LIFETIME_SECONDS: '20', BENCH_CONNECTIONS: '2', BENCH_STREAMS: '16' };
  const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'bench/soak.ts'], { cwd: root, env, timeout: 240_000, maxBuffer: 8 << 20 });
  process.stdout.write(stdout);
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  assert.is(result.errors, 0, 'no failed request and no failed probe');
  assert.ok(result.requests > 1000, `load was applied (${result.requests} requests)`);
  assert.ok(result.probes > 50, `probes checked answers under load (${result.probes})`);
  assert.ok(result.tokens_served >= 2, `the cached token was replaced in the background under load (${result.tokens_served} tokens)`);
  assert.ok(result.rss_end_mb <= result.rss_settled_mb * 1.25 + 32, `RSS settled: ${result.rss_settled_mb} MB after the first chunk, ${result.rss_end_mb} MB at the end`);
});

test.run();
