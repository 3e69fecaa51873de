/**
 * `fhirmesh export start|follow|download|run|cancel` against a running mesh:
 * the downloaded files hold exactly the store's resources, byte for byte as
 * read; progress goes to stderr as plain lines when it is not a terminal;
 * cancelled and unknown exports, bad tokens and bad parameters are one sentence.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCosmosClient } from '../../common/cosmos.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import type { ResourceStore } from '../../fhir-server/store/resource-store.ts';
import { seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';
import { loud } from '../support/hooks.ts';
import { cli, oneSentence } from './support/cli.ts';

let mesh: MeshSetup;
let store: ResourceStore;
let env: Record<string, string>;
let dir: string;
let disposeCosmos: () => void;

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'cli-export' });
  const cosmos = createCosmosClient({ endpoint: mesh.fhirEnv.FHIR_COSMOS_ENDPOINT!, key: mesh.fhirEnv.FHIR_COSMOS_KEY, caPem: mesh.routing.standIns.tls.caPem });
  disposeCosmos = () => cosmos.dispose();
  store = await openCosmosResourceStore(cosmos, { databaseId: mesh.fhirEnv.FHIR_COSMOS_DATABASE! });
  await seedSynthetic(store, { patients: 12, seed: 'cli-export' });
  dir = mkdtempSync(join(tmpdir(), 'fhirmesh-cli-export-'));
  env = { FHIRMESH_FHIR_URL: mesh.fhir.baseUrl, FHIRMESH_CA_FILE: mesh.routing.standIns.tls.caFile, FHIRMESH_BEARER_TOKEN: await mesh.bearer(['Fhir.Export', 'Fhir.Read']) };
}));
test.after(async () => {
  disposeCosmos?.();
  await mesh?.stop();
});

/** Every resource of `type` as the store serves it (the JSON a read returns). */
async function storeLines(type: string): Promise<string[]> {
  const lines: string[] = [];
  let continuation;
  do {
    const page = await store.queryForExport({ resourceType: type, pageSize: 500, ...(continuation ? { continuation } : {}) });
    lines.push(...page.resources);
    continuation = page.continuation;
  } while (continuation);
  return lines.sort();
}

function downloadedLines(folder: string, type: string): string[] {
  return readdirSync(folder)
    .filter((f) => f.startsWith(`${type}-`) && f.endsWith('.ndjson'))
    .flatMap((f) => readFileSync(join(folder, f), 'utf8').split('\n').filter(Boolean))
    .sort();
}

test('start prints the status URL; follow reports progress lines on stderr and the manifest summary; download writes exactly the store', async () => {
  const start = await cli(['export', 'start', '--type', 'Patient,Observation'], env);
  assert.is(start.code, 0, start.stderr);
  const statusUrl = start.stdout.trim();
  assert.ok(statusUrl.startsWith(`${mesh.fhir.baseUrl}/_export/`), statusUrl);
  const follow = await cli(['export', 'follow', statusUrl], env);
  assert.is(follow.code, 0, follow.stderr);
  assert.match(follow.stderr, /^export: 100% complete$/m);
  assert.not.match(follow.stderr, /\r/, 'no redraws when stderr is not a terminal');
  const patients = await storeLines('Patient');
  const observations = await storeLines('Observation');
  assert.match(follow.stdout, new RegExp(`^Patient\\s+\\d+\\s+${patients.length}$`, 'm'));
  assert.match(follow.stdout, new RegExp(`^Observation\\s+\\d+\\s+${observations.length}$`, 'm'));
  const out = join(dir, 'first');
  const download = await cli(['export', 'download', statusUrl, '--dir', out], env);
  assert.is(download.code, 0, download.stderr);
  assert.match(download.stdout, new RegExp(`downloaded \\d+ files, ${patients.length + observations.length} resources, \\d+ bytes into ${out}`));
  assert.equal(downloadedLines(out, 'Patient'), patients, 'Patient files hold every Patient once, byte for byte');
  assert.equal(downloadedLines(out, 'Observation'), observations, 'Observation files hold every Observation once');
  assert.not.ok(readdirSync(out).some((f) => f.endsWith('.part')), 'no partial files left');
});

test('run = start + follow + download; a Group export holds the Group members', async () => {
  const groupLines = await storeLines('Group');
  const group = JSON.parse(groupLines[0]!) as { id: string; member: { entity: { reference: string } }[] };
  const out = join(dir, 'group');
  const run = await cli(['export', 'run', '--group', group.id, '--type', 'Patient', '--dir', out], env);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, /^export started: https:\/\/.*\/_export\//m);
  const ids = downloadedLines(out, 'Patient').map((l) => `Patient/${(JSON.parse(l) as { id: string }).id}`).sort();
  assert.equal(ids, group.member.map((m) => m.entity.reference).sort());
});

test('cancel: the export is gone afterwards (follow and cancel say so with exit 5)', async () => {
  const start = await cli(['export', 'start'], env);
  assert.is(start.code, 0, start.stderr);
  const statusUrl = start.stdout.trim();
  const cancel = await cli(['export', 'cancel', statusUrl], env);
  assert.is(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, /^cancelled https:/);
  const [follow, again] = await Promise.all([cli(['export', 'follow', statusUrl], env), cli(['export', 'cancel', statusUrl], env)]);
  for (const run of [follow, again]) {
    assert.is(run.code, 5, run.stderr);
    assert.ok(oneSentence(run), run.stderr);
    assert.match(run.stderr, /no export at/);
  }
});

test('failures: unknown type, bad --since, a token without the export role, another client\'s export', async () => {
  const reader = await mesh.bearer(['Fhir.Read']);
  const other = await mesh.bearer(['Fhir.Export']);
  const start = await cli(['export', 'start', '--type', 'Patient'], env);
  const statusUrl = start.stdout.trim();
  const cases: [string[], Record<string, string>, number, RegExp][] = [
    [['export', 'start', '--type', 'NotAType'], env, 7, /HTTP 400/],
    [['export', 'start', '--since', 'yesterday'], env, 2, /--since must be an instant/],
    [['export', 'start'], { ...env, FHIRMESH_BEARER_TOKEN: reader }, 4, /HTTP 403/],
    [['export', 'download', statusUrl], { ...env, FHIRMESH_BEARER_TOKEN: other }, 5, /no export at/],
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
