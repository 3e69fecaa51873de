/**
 * `npm start` as a newcomer runs it: a child process, its READY line, an export
 * with the printed token, its files downloaded, then SIGTERM — and no process of
 * the mesh left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { commandLine, descendants, isAlive } from '../../dev/processes.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PATIENTS = 20;

interface Ready {
  fhirBaseUrl: string;
  exportGrpcAddress: string;
  routingAddress: string;
  caFile: string;
  bearerToken: string;
  refreshTokenFile: string;
  smartClientId: string;
  smartKeyFile: string;
  smartKid: string;
  tokenEndpoint: string;
}

let child: ChildProcess;
let tree: number[] = [];
let ready: Ready;
let ca: string;
let output = '';

test.before(loud('npm start', async () => {
  child = spawn('npm', ['start', '--', '--patients', String(PATIENTS)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no READY line within 120 s:\n${output.slice(-2000)}`)), 120_000);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code} before READY:\n${output.slice(-2000)}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += `${line}\n`;
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice('READY '.length)) as Ready);
    });
  });
  ca = readFileSync(ready.caFile, 'utf8');
}));
test.after(() => {
  // Whatever a failed test left running must not outlive this file.
  if (child && child.exitCode === null && child.signalCode === null) tree.push(...descendants(child.pid!)), child.kill('SIGKILL');
  for (const pid of tree.filter(isAlive)) process.kill(pid, 'SIGKILL');
});

test('READY names every endpoint, the CA and the tokens; the person-readable part has the copy-paste commands', () => {
  assert.match(ready.fhirBaseUrl, /^https:\/\/127\.0\.0\.1:\d+/);
  assert.match(ready.routingAddress, /^127\.0\.0\.1:\d+$/);
  assert.match(ready.exportGrpcAddress, /^127\.0\.0\.1:\d+$/);
  assert.ok(ready.bearerToken.split('.').length === 3, 'bearer token is a JWT');
  assert.ok(readFileSync(ready.refreshTokenFile, 'utf8').trim().length > 20, 'refresh token file holds a token');
  assert.match(output, /curl --cacert .* '.*\/\$export\?/);
  assert.match(output, /buf curl .*--list-services/);
});

/** Kick-off, poll (honouring Retry-After), then download every output file with `token`; answers lines per type. */
async function exportAndDownload(token: string, types: string): Promise<Record<string, number>> {
  const kickoff = await https(`${ready.fhirBaseUrl}/$export?_type=${types}`, { ca, token, headers: { prefer: 'respond-async' } });
  assert.is(kickoff.status, 202, kickoff.body);
  const statusUrl = String(kickoff.headers['content-location']);
  let manifest: { output: { type: string; url: string; count: number }[]; requiresAccessToken: boolean } | undefined;
  for (let i = 0; i < 240 && !manifest; i++) {
    const poll = await https(statusUrl, { ca, token });
    if (poll.status === 200) manifest = JSON.parse(poll.body);
    else {
      assert.ok(poll.status === 202 || poll.status === 429, `poll: ${poll.status} ${poll.body}`);
      await new Promise((r) => setTimeout(r, 1000 * Math.min(2, Math.max(0.5, Number(poll.headers['retry-after'] ?? 1)))));
    }
  }
  assert.ok(manifest, 'export finished');
  assert.is(manifest!.requiresAccessToken, true);
  const counts: Record<string, number> = {};
  for (const file of manifest!.output) {
    const res = await https(file.url, { ca, token, headers: { accept: 'application/fhir+ndjson' } });
    assert.is(res.status, 200, res.body.slice(0, 300));
    const lines = res.body.split('\n').filter(Boolean);
    assert.is(lines.length, file.count, `${file.url}: manifest count equals the file's lines`);
    for (const line of lines) assert.is(JSON.parse(line).resourceType, file.type);
    counts[file.type] = (counts[file.type] ?? 0) + lines.length;
  }
  return counts;
}

test('Entra flow: the printed bearer token runs an export; every output file downloads with it', async () => {
  const counts = await exportAndDownload(ready.bearerToken, 'Patient,Observation');
  assert.is(counts.Patient, PATIENTS, 'every seeded patient exported once');
  assert.ok((counts.Observation ?? 0) > 0, 'observations exported');
});

test('SMART Backend Services flow: the printed demo client gets a token at the advertised endpoint and runs an export with it', async () => {
  const discovery = await https(`${ready.fhirBaseUrl}/.well-known/smart-configuration`, { ca, headers: { accept: 'application/json' } });
  assert.is(discovery.status, 200, discovery.body);
  const tokenEndpoint = JSON.parse(discovery.body).token_endpoint as string;
  assert.is(tokenEndpoint, ready.tokenEndpoint);
  // What a Bulk Data client does: sign an assertion with its key, trade it for an access token.
  const key = createPrivateKey(readFileSync(ready.smartKeyFile, 'utf8'));
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: key.asymmetricKeyType === 'ec' ? 'ES384' : 'RS384', kid: ready.smartKid, typ: 'JWT' })
    .setIssuer(ready.smartClientId)
    .setSubject(ready.smartClientId)
    .setAudience(tokenEndpoint)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .sign(key);
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    scope: 'system/*.read',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  }).toString();
  const answer = await https(tokenEndpoint, { method: 'POST', ca, body: form, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' } });
  assert.is(answer.status, 200, answer.body);
  const issued = JSON.parse(answer.body) as { access_token: string; token_type: string; expires_in: number; scope: string };
  assert.is(issued.token_type.toLowerCase(), 'bearer');
  assert.ok(issued.expires_in > 0 && issued.expires_in <= 300, `expires_in ${issued.expires_in}`);
  const counts = await exportAndDownload(issued.access_token, 'Patient');
  assert.is(counts.Patient, PATIENTS, 'every seeded patient exported once');
});

test('SIGTERM stops the mesh within seconds and leaves no process behind', async () => {
  tree = descendants(child.pid!);
  assert.ok(tree.length >= 2, `npm start runs the mesh in child processes (saw ${tree.length})`);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  let deadline: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => (deadline = setTimeout(() => r('timeout'), 30_000)))]);
  clearTimeout(deadline);
  assert.ok(code !== 'timeout', 'npm start exited within 30 s of SIGTERM');
  // Children may take a moment to be reaped after the parent exits.
  let survivors = tree.filter(isAlive);
  for (let i = 0; i < 20 && survivors.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    survivors = survivors.filter(isAlive);
  }
  assert.equal(survivors.map((pid) => `${pid} ${commandLine(pid)}`), [], 'no process of the mesh survives');
});

test.run();
