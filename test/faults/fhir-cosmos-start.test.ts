/**
 * The fhir-server (fhir-server/main.ts, the real entry point) started while its
 * Cosmos DB (account database) refuses connections: it waits a bounded time,
 * then exits non-zero with one sentence naming Cosmos DB (no stack, no key) so
 * that its orchestrator restarts it; started again once Cosmos DB answers, it
 * serves. Cosmos DB coming back within the wait lets the same process start.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { proxyFor, type FaultProxy } from '../../dev/fault-proxy.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { startExportMesh, type ExportMesh } from './support/export-mesh.ts';

const main = fileURLToPath(new URL('../../fhir-server/main.ts', import.meta.url));
let mesh: ExportMesh;
let cosmos: FaultProxy;

interface Run {
  ready: Promise<string | undefined>;
  exited: Promise<{ code: number | null; stderr: string; ms: number }>;
  kill(): void;
}

/** Starts fhir-server/main.ts; `ready` resolves with its base URL (undefined if it exits first). */
function startMain(env: Record<string, string>): Run {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', main], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; stderr: string; ms: number }>((resolve) => child.on('exit', (code) => resolve({ code, stderr, ms: Date.now() - started })));
  const ready = new Promise<string | undefined>((resolve) => {
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const line = /^FHIR_READY (.*)$/m.exec(stdout);
      if (line) resolve((JSON.parse(line[1]!) as { baseUrl: string }).baseUrl);
    });
    void exited.then(() => resolve(undefined));
  });
  return { ready, exited, kill: () => child.kill('SIGKILL') };
}

test.before(loud('before', async () => {
  mesh = await startExportMesh('cosmos-start');
  cosmos = await proxyFor(mesh.env.FHIR_COSMOS_ENDPOINT!, { startCut: 'refuse' });
}));
test.after(async () => {
  await cosmos?.stop();
  await mesh?.stop();
});

test('Cosmos DB unreachable through the whole start-up wait: exit code 3, one sentence naming Cosmos DB', async () => {
  const run = startMain({ ...mesh.env, FHIR_COSMOS_ENDPOINT: cosmos.url('/') });
  try {
    assert.is(await run.ready, undefined, 'did not report ready');
    const { code, stderr, ms } = await run.exited;
    const text = stderr.trim();
    assert.is(code, 3, `exit code (stderr: ${text.slice(0, 600)})`);
    assert.not.match(text, /\n\s+at /, 'no stack trace');
    assert.is(text.split('\n').length, 1, `one line: ${text}`);
    assert.match(text, /Cosmos DB/);
    assert.ok(!text.includes(mesh.env.FHIR_COSMOS_KEY!), 'no key');
    console.log(`  exit ${code} after ${ms} ms: ${text}`);
  } finally {
    run.kill();
  }
});

test('Cosmos DB back within the start-up wait: the same process starts and serves', async () => {
  await cosmos.cut('refuse');
  const run = startMain({ ...mesh.env, FHIR_COSMOS_ENDPOINT: cosmos.url('/') });
  try {
    await sleep(3_000);
    await cosmos.restore();
    const baseUrl = await run.ready;
    assert.ok(baseUrl, `started (stderr: ${(await Promise.race([run.exited, sleep(0)]))?.stderr ?? ''})`);
    const health = await https(`${baseUrl!}/health`, { ca: mesh.ca });
    assert.is(health.status, 200);
    const read = await https(`${baseUrl!}/metadata`, { ca: mesh.ca, token: await mesh.bearer() });
    assert.is(read.status, 200);
  } finally {
    run.kill();
  }
});

test('started again after Cosmos DB is back (as an orchestrator would): serves', async () => {
  await cosmos.restore();
  const run = startMain({ ...mesh.env, FHIR_COSMOS_ENDPOINT: cosmos.url('/') });
  try {
    const baseUrl = await run.ready;
    assert.ok(baseUrl, 'started');
    const health = await https(`${baseUrl!}/health`, { ca: mesh.ca });
    assert.is(health.status, 200);
  } finally {
    run.kill();
  }
});

test.run();
