/**
 * A process started by another stops when that parent is gone, SIGKILL
 * included: `onParentExit` (npm start watching npm) and `stopOnSignals` with
 * FHIRMESH_PARENT_PID (a service watching npm start), with real processes.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isAlive } from '../../dev/processes.ts';

const processModule = fileURLToPath(new URL('../../common/process.ts', import.meta.url));

/** Starts a parent that starts `childCode` (with tsx; it prints "ready" once it watches); resolves with both pids then. */
function family(childCode: string, childEnv: string): Promise<{ parent: number; child: number }> {
  const parentCode = [
    "const { spawn } = require('node:child_process');",
    `const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ${JSON.stringify(childCode)}], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ${childEnv} } });`,
    'console.log(child.pid);',
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const parent = spawn(process.execPath, ['-e', parentCode], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    parent.once('error', reject);
    let out = '';
    parent.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const [pid, state] = out.split('\n');
      if (state === 'ready') resolve({ parent: parent.pid!, child: Number(pid) });
    });
  });
}

async function goneWithin(pid: number, ms: number): Promise<number> {
  const started = Date.now();
  while (isAlive(pid)) {
    if (Date.now() - started > ms) return -1;
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - started;
}

test('onParentExit: the child notices a SIGKILLed parent and stops', async () => {
  const code = `import { onParentExit } from ${JSON.stringify(processModule)}; onParentExit(process.ppid, () => process.exit(0)); console.log('ready'); setInterval(() => {}, 1000);`;
  const { parent, child } = await family(code, '');
  assert.ok(isAlive(child), 'the child runs while its parent does');
  process.kill(parent, 'SIGKILL');
  const ms = await goneWithin(child, 5_000);
  if (ms < 0) process.kill(child, 'SIGKILL');
  assert.ok(ms >= 0, 'the child stopped within 5 s');
});

test('stopOnSignals with FHIRMESH_PARENT_PID: the service stops when the parent is SIGKILLed', async () => {
  const code = `import { stopOnSignals } from ${JSON.stringify(processModule)}; stopOnSignals(async () => {}); console.log('ready'); setInterval(() => {}, 1000);`;
  const { parent, child } = await family(code, 'FHIRMESH_PARENT_PID: String(process.pid)');
  assert.ok(isAlive(child), 'the child runs while its parent does');
  process.kill(parent, 'SIGKILL');
  const ms = await goneWithin(child, 5_000);
  if (ms < 0) process.kill(child, 'SIGKILL');
  assert.ok(ms >= 0, 'the child stopped within 5 s');
});

test.run();
