/**
 * `npm start` as a newcomer and an operator meet it, with real processes: the
 * banner's commands (curl, fhirmesh, buf curl) run exactly as printed, once
 * after start and once more after the fhir-server has rotated its refresh token
 * and the grace window has passed (the operator's token is not the
 * fhir-server's, so nothing is revoked); a killed service is started again on
 * its port; a revoked refresh-token family turns the fhir-server's /health
 * degraded with a log line saying what to do; SIGKILL of npm start's process
 * leaves no process behind. The grace window and the health probe are
 * shortened through the environment, as any ROUTING_* / FHIR_* setting can be.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMMANDS_HEADING } from '../../dev/start-banner.ts';
import { commandLine, descendants, isAlive } from '../../dev/processes.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PATIENTS = 20;
const GRACE_SECONDS = 2;

interface Ready {
  fhirBaseUrl: string;
  routingAddress: string;
  caFile: string;
  refreshTokenFile: string;
  groupId: string;
}

let child: ChildProcess;
let ready: Ready;
let ca: string;
let banner = '';
let stderr = '';

/** The environment of commands a person runs: no FHIRMESH_* settings (the CLI reads .local/mesh.json), no colours. */
function personEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { FORCE_COLOR: '0', NO_COLOR: '1' };
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('FHIRMESH_') && value !== undefined) env[key] = value;
  return env;
}

test.before(loud('npm start', async () => {
  child = spawn('npm', ['start', '--', '--patients', String(PATIENTS)], {
    cwd: root,
    env: { ...personEnv(), ROUTING_REFRESH_TOKEN_GRACE_SECONDS: String(GRACE_SECONDS), FHIR_ROUTING_HEALTH_CHECK_SECONDS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no READY line within 180 s:\n${stderr.slice(-2000)}`)), 180_000);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code} before READY:\n${stderr.slice(-2000)}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('READY ')) return void (banner += `${line}\n`);
      clearTimeout(timer);
      resolve(JSON.parse(line.slice('READY '.length)) as Ready);
    });
  });
  ca = readFileSync(ready.caFile, 'utf8');
}));
test.after(() => {
  // Whatever a failed test left running must not outlive this file.
  const tree = child?.pid ? descendants(child.pid) : [];
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of tree.filter(isAlive)) process.kill(pid, 'SIGKILL');
});

/** The banner's copy-paste block, one command per line (comments dropped). */
function bannerCommands(): string[] {
  const lines = banner.split('\n');
  const start = lines.indexOf(COMMANDS_HEADING);
  assert.ok(start >= 0, `the banner has its commands block:\n${banner}`);
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    if (!line.trim().startsWith('#')) block.push(line.trim());
  }
  return block;
}

/** Runs `commands` in one bash, as a person pasting them would; the output and exit status of each. */
function runInBash(commands: string[]): Array<{ command: string; output: string; status: number }> {
  const script = commands.map((command, i) => `echo "@@begin ${i}"\n${command}\necho "@@end ${i} $?"`).join('\n');
  const run = spawnSync('bash', ['-c', script], { cwd: root, env: personEnv(), encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  const text = `${run.stdout}\n${run.stderr}`;
  return commands.map((command, i) => {
    const section = new RegExp(`@@begin ${i}\\n([\\s\\S]*?)@@end ${i} (\\d+)`).exec(run.stdout);
    assert.ok(section, `command ${i} ran (${command}):\n${text.slice(-3000)}`);
    return { command, output: section![1]!, status: Number(section![2]) };
  });
}

/** What each kind of banner command must print (the first pattern whose key the command contains). */
const expectations: Array<[string, RegExp]> = [
  ['/Group?', /"resourceType":"Bundle".*"resourceType":"Group"/s],
  ['/Group/', /"resourceType":"Group"/],
  ['-i -H "Authorization: Bearer $(cat $BEARER)" "$STATUS"', /^HTTP\/1\.1 20[02] /m],
  ['export follow', /downloaded \d+ files?, \d+ resources/],
  ['export run --group', new RegExp(`downloaded 1 files?, ${PATIENTS} resources`)],
  ['account list', /^demo\s+active/m],
  ['token get', /expires on/],
  ['--list-services', /fhirmesh\.routing\.v1\.TokenService/],
  ['TokenService/GetToken', /"accessToken"/],
  ['$SMART', /^HTTP\/1\.1 202 /m],
  ['/health', /"status":"ok"/],
  ['/metrics', /^fhirmesh_/m],
];

/** Runs the banner's commands and checks each one's output. */
function runBannerCommands(label: string): void {
  const started = Date.now();
  const results = runInBash(bannerCommands());
  for (const { command, output, status } of results) {
    assert.is(status, 0, `${label}: exit status of ${command}\n${output.slice(-1500)}`);
    assert.not.match(output, /^HTTP\/1\.1 [45]\d\d /m, `${label}: ${command} got an error answer:\n${output.slice(-1500)}`);
    const expected = expectations.find(([key]) => command.includes(key));
    if (expected) assert.match(output, expected[1], `${label}: ${command}\n${output.slice(-1500)}`);
  }
  const checked = results.filter((r) => expectations.some(([key]) => r.command.includes(key))).length;
  assert.ok(checked >= 10, `${checked} commands checked by their output`);
  console.log(`  ${label}: ${results.length} commands in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** `fhirmesh <args>` through the checkout's command, JSON parsed. */
function fhirmeshJson<T>(...args: string[]): T {
  const run = spawnSync(process.execPath, ['bin/fhirmesh.js', ...args, '--json'], { cwd: root, env: personEnv(), encoding: 'utf8' });
  assert.is(run.status, 0, `fhirmesh ${args.join(' ')}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

interface TokenInfo {
  tokenId: string;
  familyId: string;
  state: string;
}

/** The fhir-server's token family: the one its start-up rotation left a rotated token in. */
function fhirServerFamily(tokens: TokenInfo[]): string | undefined {
  return tokens.find((t) => t.state === 'REFRESH_TOKEN_STATE_ROTATED')?.familyId;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, limitMs: number): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const health = async () => JSON.parse((await https(`${ready.fhirBaseUrl}/health`, { ca })).body) as { status: string; reasons?: { problem: string; action: string }[] };

test('READY and the banner name the endpoints, the Group and the operator token; a clean start prints no warning', () => {
  assert.match(ready.fhirBaseUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(ready.routingAddress, /^localhost:\d+$/);
  assert.match(banner, new RegExp(`members of Group ${ready.groupId}`));
  assert.is(ready.refreshTokenFile, join(root, '.local', 'operator-refresh-token'));
  assert.ok(readFileSync(ready.refreshTokenFile, 'utf8').startsWith('fmrt_'), 'the operator token file holds a refresh token');
  assert.not.ok(existsSync(join(root, '.local', 'demo-refresh-token')), "the fhir-server's token is not offered in a file");
  assert.not.match(stderr, /Warning|EBADENGINE|FSTDEP|DEP0\d{3}/, `no warning on a clean start:\n${stderr}`);
});

/** The command lines of the README's walkthrough (its sh blocks, comments dropped). */
function walkthroughCommands(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A five-minute walkthrough'), readme.indexOf('## The parts'));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).map((line) => line.replace(/\s+# .*$/, '').trim()).filter((line) => line && !line.startsWith('#'));
}

test("the banner's commands work as printed: curl, fhirmesh, buf curl; the README's walkthrough is made of them", () => {
  runBannerCommands('after start');
  const banner = new Set(bannerCommands());
  const readmeOnly = walkthroughCommands().filter((line) => !banner.has(line));
  assert.equal(readmeOnly.filter((line) => !line.startsWith('kill -9 ')), [], 'README walkthrough lines that the banner does not print (and this test does not run)');
  assert.is(readmeOnly.length, 1, 'the kill line, run by the next test');
});

test("after the fhir-server rotated its token and the grace window passed, the READY token and the banner's commands still work and no family is revoked", async () => {
  const family = await until('the fhir-server to rotate its bootstrap token', () => fhirServerFamily(fhirmeshJson<TokenInfo[]>('account', 'token', 'list', 'demo')), 60_000);
  await new Promise((r) => setTimeout(r, (GRACE_SECONDS + 1) * 1000));
  // What the README once said to do with the token file npm start offers: call GetToken with it.
  const getToken = spawnSync('npx', ['buf', 'curl', '--cacert', ready.caFile, '--protocol', 'grpc', '-H', `authorization: Bearer ${readFileSync(ready.refreshTokenFile, 'utf8').trim()}`,
    '-d', '{"resource_uri":"https://storage.azure.com"}', `https://${ready.routingAddress}/fhirmesh.routing.v1.TokenService/GetToken`], { cwd: root, env: personEnv(), encoding: 'utf8' });
  assert.is(getToken.status, 0, `GetToken with the offered token file: ${getToken.stderr}`);
  runBannerCommands('after the rotation');
  const tokens = fhirmeshJson<TokenInfo[]>('account', 'token', 'list', 'demo');
  assert.equal(tokens.filter((t) => t.state === 'REFRESH_TOKEN_STATE_REVOKED'), [], 'no family revoked');
  assert.ok(tokens.some((t) => t.familyId === family && t.state === 'REFRESH_TOKEN_STATE_ACTIVE'), "the fhir-server's family is active");
  assert.is((await health()).status, 'ok');
});

test("a killed service is reported and started again on the same port (the README's kill line, then the fhir-server by pid)", async () => {
  const tree = descendants(child.pid!);
  const pidOf = (script: string) => tree.find((pid) => commandLine(pid).includes(script));
  for (const script of ['dist/routing-server/main.js', 'dist/fhir-server/main.js']) assert.ok(pidOf(script), `${script} runs as its own process (${tree.map(commandLine).join('; ')})`);
  const kill = walkthroughCommands().find((line) => line.startsWith('kill -9 '))!;
  assert.ok(kill.includes('$PWD/dist/routing-server/main.js'), `the README's kill line names this checkout's routing server only: ${kill}`);
  assert.is(spawnSync('bash', ['-c', kill], { cwd: root, env: personEnv(), encoding: 'utf8' }).status, 0);
  await until('the routing server to run again', () => (stderr.includes('routing server is running again') ? true : undefined), 60_000);
  assert.match(stderr, /routing server exited unexpectedly \(SIGKILL\)/);
  process.kill(pidOf('dist/fhir-server/main.js')!, 'SIGKILL');
  await until('the fhir-server to run again', () => (stderr.includes('fhir-server is running again') ? true : undefined), 60_000);
  assert.match(stderr, /fhir-server exited unexpectedly \(SIGKILL\)/);
  const got = spawnSync(process.execPath, ['bin/fhirmesh.js', 'token', 'get', 'https://storage.azure.com'], { cwd: root, env: personEnv(), encoding: 'utf8' });
  assert.is(got.status, 0, `the routing server answers on its printed address: ${got.stderr}`);
  assert.is((await until('the fhir-server to answer', () => health().catch(() => undefined), 30_000)).status, 'ok', 'the fhir-server answers on its printed address');
});

test("a revoked refresh-token family turns the fhir-server's /health degraded, with an error saying what to do", async () => {
  const tokens = fhirmeshJson<TokenInfo[]>('account', 'token', 'list', 'demo');
  const family = fhirServerFamily(tokens)!;
  const active = tokens.find((t) => t.familyId === family && t.state === 'REFRESH_TOKEN_STATE_ACTIVE')!;
  const revoke = spawnSync(process.execPath, ['bin/fhirmesh.js', 'account', 'token', 'revoke', 'demo', '--token-id', active.tokenId], { cwd: root, env: personEnv(), encoding: 'utf8' });
  assert.is(revoke.status, 0, revoke.stderr);
  const degraded = await until('/health to say degraded', async () => {
    const h = await health();
    return h.status === 'degraded' ? h : undefined;
  }, 30_000);
  assert.is(degraded.reasons?.[0]?.problem, 'refresh-token-refused');
  assert.match(degraded.reasons![0]!.action, /fhirmesh account token issue demo/);
  const logged = stderr.split('\n').find((line) => line.includes('"problem":"refresh-token-refused"'));
  assert.ok(logged, 'logged');
  assert.is(JSON.parse(logged!).level, 50, 'at error level');
  const got = spawnSync(process.execPath, ['bin/fhirmesh.js', 'token', 'get', 'https://storage.azure.com'], { cwd: root, env: personEnv(), encoding: 'utf8' });
  assert.is(got.status, 0, `the operator's own family is untouched: ${got.stderr}`);
});

test("SIGKILL of npm start's process leaves no process behind within seconds", async () => {
  const tree = descendants(child.pid!);
  const start = tree.find((pid) => commandLine(pid).includes('dist/dev/start.js'));
  assert.ok(start, `npm start runs dist/dev/start.js (${tree.map(commandLine).join('; ')})`);
  const below = descendants(start!);
  assert.ok(below.length >= 3, `the services and Azurite run below it (saw ${below.length})`);
  process.kill(start!, 'SIGKILL');
  const startedAt = Date.now();
  let survivors = [...below, ...tree].filter(isAlive);
  while (survivors.length > 0 && Date.now() - startedAt < 10_000) {
    await new Promise((r) => setTimeout(r, 250));
    survivors = survivors.filter(isAlive);
  }
  assert.equal(survivors.map((pid) => `${pid} ${commandLine(pid)}`), [], 'no process of the mesh survives');
  console.log(`  every process gone ${Date.now() - startedAt} ms after the SIGKILL`);
});

test.run();
