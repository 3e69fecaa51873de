/**
 * Exports that cannot progress, against a real fhir-server process whose
 * routing server and storage account sit behind fault proxies: a storage token
 * that cannot be had past `routing.tokenWaitSeconds`, and a destination that
 * never answers past `export.destinationTimeoutSeconds`. While they wait,
 * `X-Progress` says what for; past the limit the job fails 504 with an
 * OperationOutcome naming the cause, and its slot is free again. With the
 * default limits one client cannot take every slot: its third job is refused
 * while another client's is taken.
 */
import { ClientSecretCredential } from '@azure/identity';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FHIR_API } from '../../dev/mesh-setup.ts';
import { proxyFor, startFaultProxy, type FaultProxy } from '../../dev/fault-proxy.ts';
import { entraCredentialOptions } from '../../routing-server/adapters/entra-credentials.ts';
import { loud } from '../support/hooks.ts';
import { https, type HttpResponse } from '../support/https.ts';
import { kickoff, pollToEnd } from './support/export-checks.ts';
import { seedObservations, startExportMesh, type ExportMesh } from './support/export-mesh.ts';
import { startServerProcess, type ServerProcess } from './support/export-process.ts';

const TOKEN_WAIT_SECONDS = 3;
const DESTINATION_TIMEOUT_SECONDS = 4;
let mesh: ExportMesh;
let server: ServerProcess;
let routing: FaultProxy;
let storage: FaultProxy;
let otherClient: () => Promise<string>;

test.before(loud('before', async () => {
  mesh = await startExportMesh('stalled');
  await seedObservations(mesh.store, 40);
  const s = mesh.routing.standIns;
  routing = await startFaultProxy({ targetPort: Number(mesh.routing.address.split(':').pop()) });
  storage = await proxyFor(s.blob.blobUrl);
  // The per-client and account limits are the defaults.
  server = await startServerProcess({
    ...mesh.env,
    FHIR_ROUTING_ADDRESS: routing.address,
    FHIR_EXPORT_STORAGE_ACCOUNT_URI: storage.url(new URL(s.blob.blobUrl).pathname),
    FHIR_ROUTING_TOKEN_WAIT_SECONDS: String(TOKEN_WAIT_SECONDS),
    FHIR_EXPORT_DESTINATION_TIMEOUT_SECONDS: String(DESTINATION_TIMEOUT_SECONDS),
  });
  const secret = randomBytes(24).toString('base64url');
  const app = s.entra.registerApplication({ displayName: 'second export client', secrets: [secret], roles: { [FHIR_API]: ['Fhir.Export'] } });
  const credential = new ClientSecretCredential(s.entra.tenantId, app.appId, secret, entraCredentialOptions({ authorityHost: s.entra.authorityHost, caPem: s.tls.caPem }));
  otherClient = async () => (await credential.getToken(`${FHIR_API}/.default`))!.token;
}));
test.after(async () => {
  server?.child.kill('SIGKILL');
  await routing?.stop();
  await storage?.stop();
  await mesh?.stop();
});

/** Polls a status URL to its end, collecting every `X-Progress`. */
async function watch(statusUrl: string, token: string): Promise<{ progress: string[]; end: HttpResponse }> {
  const progress: string[] = [];
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
    const res = await https(statusUrl, { ca: mesh.ca, token });
    if (res.status !== 202) return { progress, end: res };
    progress.push(String(res.headers['x-progress']));
  }
  throw new Error(`still running after 30 s: ${progress.at(-1)}`);
}

function assertTimedOut(end: HttpResponse, cause: RegExp): string {
  assert.is(end.status, 504, end.body.slice(0, 400));
  const outcome = JSON.parse(end.body) as { resourceType: string; issue: { severity: string; code: string; diagnostics: string }[] };
  assert.is(outcome.resourceType, 'OperationOutcome');
  assert.is(outcome.issue[0]!.code, 'timeout');
  assert.match(outcome.issue[0]!.diagnostics, cause);
  assert.not.match(end.body, /eyJ[\w-]+\.|fmrt_|sig=/);
  return outcome.issue[0]!.diagnostics;
}

test(`no storage token past routing.tokenWaitSeconds (${TOKEN_WAIT_SECONDS} s): X-Progress names the wait, then 504 naming the routing server; once it is back a new export completes`, async () => {
  const token = await mesh.bearer();
  await routing.cut('refuse');
  const started = await kickoff(server.baseUrl, '/$export?_type=Observation', mesh.ca, token);
  assert.is(started.status, 202, started.body);
  const { progress, end } = await watch(String(started.headers['content-location']), token);
  assert.ok(progress.some((p) => /^0% complete, 0 of 40 resources; waiting \d+ s for a storage token from the routing server$/.test(p)), progress.join(' | '));
  const diagnostics = assertTimedOut(end, new RegExp(`no storage token for \\d+ s \\(limit routing.tokenWaitSeconds: ${TOKEN_WAIT_SECONDS} s\\).*UNAVAILABLE`));
  process.stdout.write(`OBSERVED token wait: X-Progress ${JSON.stringify(progress.filter((p) => p.includes('waiting')).at(-1))}; outcome: ${diagnostics}\n`);
  await routing.restore();
  const again = await kickoff(server.baseUrl, '/$export?_type=Observation', mesh.ca, token);
  assert.is(again.status, 202, again.body);
  assert.is((await pollToEnd(String(again.headers['content-location']), mesh.ca, token, { limitMs: 30_000 })).status, 200);
});

test(`a destination that never answers: X-Progress names Blob Storage, then 504 after export.destinationTimeoutSeconds (${DESTINATION_TIMEOUT_SECONDS} s); meanwhile one client gets 2 slots and another client one more`, async () => {
  const token = await mesh.bearer();
  await storage.cut('blackhole');
  const mine = [await kickoff(server.baseUrl, '/$export?_type=Observation', mesh.ca, token), await kickoff(server.baseUrl, '/$export?_type=Observation', mesh.ca, token)];
  for (const started of mine) assert.is(started.status, 202, started.body);
  const third = await kickoff(server.baseUrl, '/$export?_type=Observation', mesh.ca, token);
  assert.is(third.status, 429, third.body);
  assert.ok(Number(third.headers['retry-after']) > 0, 'Retry-After on 429');
  assert.match(third.body, /this client has 2 export jobs queued or running; the per-client limit is 2/);
  const other = await otherClient();
  const theirs = await kickoff(server.baseUrl, '/$export?_type=Observation', mesh.ca, other);
  assert.is(theirs.status, 202, `another client still gets a slot: ${theirs.body}`);

  const watched = await Promise.all([...mine.map((m) => watch(String(m.headers['content-location']), token)), watch(String(theirs.headers['content-location']), other)]);
  for (const { progress, end } of watched) {
    assert.ok(progress.some((p) => /; waiting \d+ s for Blob Storage$/.test(p)), progress.join(' | '));
    assertTimedOut(end, new RegExp(`^Blob Storage did not complete a request within ${DESTINATION_TIMEOUT_SECONDS} s \\(export.destinationTimeoutSeconds\\)$`));
  }
  process.stdout.write(`OBSERVED destination blackholed: X-Progress ${JSON.stringify(watched[0]!.progress.filter((p) => p.includes('waiting')).at(-1))}; outcome: ${JSON.parse(watched[0]!.end.body).issue[0].diagnostics}\n`);

  // The failed jobs hold no slot: with the destination back, the client exports again.
  await storage.restore();
  const next = await kickoff(server.baseUrl, '/$export?_type=Observation', mesh.ca, token);
  assert.is(next.status, 202, next.body);
  const done = await pollToEnd(String(next.headers['content-location']), mesh.ca, token, { limitMs: 30_000 });
  assert.is(done.status, 200, done.body.slice(0, 300));
});

test.run();
