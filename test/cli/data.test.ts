/**
 * `fhirmesh load`, `seed` and `config show` against a running mesh: loaded
 * resources are readable through the REST API, failures are counted and named,
 * and the configuration shown is the fhir-server's effective one.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { patientGroup } from '../../fhir-server/seed/synthetic.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { cli, oneSentence } from './support/cli.ts';

let mesh: MeshSetup;
let env: Record<string, string>;
let dir: string;
let ca: string;
let token: string;

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'cli-data' });
  ca = mesh.routing.standIns.tls.caPem;
  token = await mesh.bearer();
  dir = mkdtempSync(join(tmpdir(), 'fhirmesh-cli-data-'));
  env = { FHIRMESH_FHIR_URL: mesh.fhir.baseUrl, FHIRMESH_CA_FILE: mesh.routing.standIns.tls.caFile, FHIRMESH_BEARER_TOKEN: token };
}));
test.after(async () => mesh?.stop());

const read = (path: string) => https(`${mesh.fhir.baseUrl}/${path}`, { ca, token });

test('load: NDJSON files and folders are written in batch Bundles with their ids; the resources are then readable', async () => {
  const folder = join(dir, 'ndjson');
  mkdirSync(folder);
  const patients = Array.from({ length: 7 }, (_, i) => ({ resourceType: 'Patient', id: `cli-p${i}`, name: [{ family: `Load${i}` }] }));
  writeFileSync(join(folder, 'Patient.ndjson'), `${patients.map((p) => JSON.stringify(p)).join('\n')}\n`);
  writeFileSync(join(folder, 'Observation.ndjson'), `${JSON.stringify({ resourceType: 'Observation', id: 'cli-o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/cli-p0' } })}\n`);
  const single = join(dir, 'Practitioner.ndjson');
  writeFileSync(single, `${JSON.stringify({ resourceType: 'Practitioner', id: 'cli-dr', name: [{ family: 'Who' }] })}\n`);
  const run = await cli(['load', folder, single, '--batch-size', '3'], env);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /9 resources, 9 created, 0 updated, 0 failed/);
  for (const path of ['Patient/cli-p0', 'Patient/cli-p6', 'Observation/cli-o1', 'Practitioner/cli-dr']) assert.is((await read(path)).status, 200, path);
  assert.is(JSON.parse((await read('Patient/cli-p3')).body).name[0].family, 'Load3');
  const again = await cli(['load', single], env);
  assert.match(again.stdout, /1 resources, 0 created, 1 updated/);
});

test('load: a transaction Bundle is sent as it is; bad lines and refused entries are counted, named, and exit 8', async () => {
  const bundle = join(dir, 'tx.json');
  writeFileSync(bundle, JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:7f1b7c8e-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', name: [{ family: 'Tx' }] }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'y' }, subject: { reference: 'urn:uuid:7f1b7c8e-0000-4000-8000-000000000001' } }, request: { method: 'POST', url: 'Observation' } },
    ],
  }));
  const mixed = join(dir, 'mixed.ndjson');
  writeFileSync(mixed, [JSON.stringify({ resourceType: 'Patient', id: 'cli-ok' }), '{not json', JSON.stringify({ resourceType: 'Patient', id: 'bad id!' }), ''].join('\n'));
  const run = await cli(['load', bundle, mixed], env);
  assert.is(run.code, 8, run.stderr);
  assert.match(run.stdout, /5 resources, 3 created, 0 updated, 2 failed/);
  assert.match(run.stderr, /mixed\.ndjson:2: not valid JSON/);
  assert.match(run.stderr, /mixed\.ndjson:3: Patient\/bad id!: 400/);
  assert.match(run.stderr, /^error: 2 of 5 resources could not be loaded/m);
  assert.is((await read('Patient/cli-ok')).status, 200);
});

test('seed: synthetic patients through the REST API, ids as the seed defines them', async () => {
  const run = await cli(['seed', '--patients', '3', '--seed', 'cli'], env);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /seeded 3 patients: \d+ resources, \d+ created, 0 updated, 0 failed/);
  const group = await read(`Group/${patientGroup({ patients: 3, seed: 'cli' }).id}`);
  assert.is(group.status, 200);
  assert.is(JSON.parse(group.body).member.length, 3);
});

test('config show prints the effective configuration, secrets redacted; a token without Fhir.Admin is refused', async () => {
  const run = await cli(['config', 'show'], env);
  assert.is(run.code, 0, run.stderr);
  const config = JSON.parse(run.stdout) as { export: Record<string, { value: unknown; source: string }>; settings: { routing: { refreshToken: string } } };
  assert.is(config.export.jobPollingFrequencySeconds!.value, 1);
  assert.is(config.export.jobPollingFrequencySeconds!.source, 'environment');
  assert.is(config.settings.routing.refreshToken, '[redacted]');
  assert.not.ok(run.stdout.includes(mesh.account.refreshToken));
  const reader = await cli(['config', 'show'], { ...env, FHIRMESH_BEARER_TOKEN: await mesh.bearer(['Fhir.Read']) });
  assert.is(reader.code, 4, reader.stderr);
  assert.ok(oneSentence(reader), reader.stderr);
  assert.match(reader.stderr, /HTTP 403/);
});

test('failures: bad bearer token, untrusted certificate, unreachable server, missing URL, missing file', async () => {
  const file = join(dir, 'one.ndjson');
  writeFileSync(file, `${JSON.stringify({ resourceType: 'Patient', id: 'cli-x' })}\n`);
  const cases: [string[], Record<string, string>, number, RegExp][] = [
    [['load', file], { ...env, FHIRMESH_BEARER_TOKEN: 'not-a-token' }, 4, /HTTP 401/],
    [['config', 'show'], { ...env, FHIRMESH_CA_FILE: '' }, 3, /not trusted/],
    [['load', file, '--fhir-url', 'https://127.0.0.1:1'], env, 3, /could not reach the server/],
    [['seed', '--patients', '1'], { FHIRMESH_BEARER_TOKEN: 'x' }, 2, /no FHIR base URL: give --fhir-url/],
    [['load', join(dir, 'nothing-here.ndjson')], env, 2, /no such file or folder/],
  ];
  const runs = await Promise.all(cases.map(([args, runEnv]) => cli(args, runEnv)));
  for (const [i, [args, , code, pattern]] of cases.entries()) {
    const run = runs[i]!;
    assert.is(run.code, code, `${args.join(' ')}: ${run.stderr}`);
    assert.ok(oneSentence(run), `${args.join(' ')}: one sentence, got ${run.stderr}`);
    assert.match(run.stderr, pattern);
  }
});

test.run();
