/**
 * The CLI's pure parts, in process: the error table, the order of connection
 * settings, the mesh file, export override input, account update masks,
 * kick-off requests, Retry-After, secret files, and help for every command.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { accountToCreate, accountUpdate } from '../../cli/account-input.ts';
import { Connection } from '../../cli/connection.ts';
import { CliError, ExitCode, exitCodeOfHttp, fromGrpcStatus, toCliError } from '../../cli/errors.ts';
import { exportOverridesFrom } from '../../cli/export-config-input.ts';
import { instantOf, kickoffRequest } from '../../cli/export/kickoff.ts';
import { retryAfterMs } from '../../cli/export/status.ts';
import { processIo } from '../../cli/io.ts';
import { readMeshFile } from '../../cli/mesh-file.ts';
import { buildProgram } from '../../cli/program.ts';
import { writeSecretFile } from '../../cli/secret-file.ts';
import { repoRoot } from '../../dev/certs.ts';
import { AccountState, type Account } from '../../gen/fhirmesh/routing/v1/account.ts';
import { cli } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fhirmesh-cli-unit-'));

test('one table: gRPC and HTTP statuses map to the documented exit codes and one sentence', () => {
  const cases: [status, number][] = [
    [status.UNAUTHENTICATED, ExitCode.refused],
    [status.PERMISSION_DENIED, ExitCode.refused],
    [status.NOT_FOUND, ExitCode.notFound],
    [status.ALREADY_EXISTS, ExitCode.conflict],
    [status.ABORTED, ExitCode.conflict],
    [status.FAILED_PRECONDITION, ExitCode.conflict],
    [status.INVALID_ARGUMENT, ExitCode.invalid],
    [status.UNAVAILABLE, ExitCode.unavailable],
    [status.DEADLINE_EXCEEDED, ExitCode.unavailable],
    [status.INTERNAL, ExitCode.failed],
  ];
  for (const [code, exit] of cases) {
    const error = fromGrpcStatus(code, 'line one\n  line two', 'host:1');
    assert.is(error.exitCode, exit, status[code]);
    assert.not.match(error.message, /\n/);
    assert.match(error.message, new RegExp(`^the routing server at host:1 answered ${status[code]}: line one line two`));
  }
  assert.equal([401, 403, 404, 409, 412, 400, 429, 503, 500].map(exitCodeOfHttp), [4, 4, 5, 6, 6, 7, 3, 3, 1]);
  assert.is(toCliError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })).exitCode, ExitCode.unavailable);
  assert.is(toCliError(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' })).exitCode, ExitCode.unavailable);
  assert.is(toCliError(new TypeError('boom')).exitCode, ExitCode.failed);
});

test('connection settings: flag over environment over mesh file; a missing one names its flag and variable', () => {
  const flagFile = join(dir, 'flag-token');
  const envFile = join(dir, 'env-token');
  writeFileSync(flagFile, 'from-flag\n');
  writeFileSync(envFile, 'from-env-file\n');
  const mesh = { routingAddress: 'mesh:1', fhirBaseUrl: 'https://mesh/fhir/', bearerToken: 'from-mesh', tenantId: 't-mesh' };
  const env = { FHIRMESH_ROUTING_ADDRESS: 'https://env:2', FHIRMESH_BEARER_TOKEN_FILE: envFile };
  assert.is(new Connection({ routingAddress: 'flag:3' }, env, mesh).routingAddress(), 'flag:3');
  assert.is(new Connection({}, env, mesh).routingAddress(), 'env:2');
  assert.is(new Connection({}, {}, mesh).routingAddress(), 'mesh:1');
  assert.is(new Connection({}, {}, mesh).fhirUrl(), 'https://mesh/fhir');
  assert.is(new Connection({ bearerTokenFile: flagFile }, env, mesh).bearerToken(), 'from-flag');
  assert.is(new Connection({}, env, mesh).bearerToken(), 'from-env-file');
  assert.is(new Connection({}, { FHIRMESH_BEARER_TOKEN: 'from-env' }, mesh).bearerToken(), 'from-env');
  assert.is(new Connection({}, {}, mesh).bearerToken(), 'from-mesh');
  assert.is(new Connection({}, {}, mesh).tenantId(), 't-mesh');
  assert.is(new Connection({ timeout: 5 }, {}, {}).timeoutMs, 5000);
  try {
    new Connection({}, {}, {}).adminToken();
    assert.unreachable();
  } catch (error) {
    assert.instance(error, CliError);
    assert.is((error as CliError).exitCode, ExitCode.usage);
    assert.match((error as Error).message, /--admin-token-file .*FHIRMESH_ADMIN_TOKEN/);
  }
});

test('the mesh file is used while its writer runs and ignored once it has exited', () => {
  const path = join(dir, 'mesh.json');
  writeFileSync(path, JSON.stringify({ routingAddress: 'a:1', pid: process.pid }));
  assert.is(readMeshFile(path).routingAddress, 'a:1');
  writeFileSync(path, JSON.stringify({ routingAddress: 'a:1', pid: 2 ** 22 + 12345 }));
  assert.equal(readMeshFile(path), {});
  assert.equal(readMeshFile(join(dir, 'absent.json')), {});
  assert.equal(readMeshFile(''), {});
});

test('export overrides: file (camel or snake case) under flags; update merges, unsets, resets; unknown keys refused', () => {
  const file = join(dir, 'export.json');
  writeFileSync(file, JSON.stringify({ rolling_file_size_in_mb: 8, defaultContainer: 'file' }));
  assert.equal(exportOverridesFrom({ exportConfig: file, defaultContainer: 'flag' }), { rollingFileSizeInMb: 8, defaultContainer: 'flag' });
  const current = { rollingFileSizeInMb: 64, maxJobRestartCount: 2 };
  assert.equal(exportOverridesFrom({ numberOfPagesPerCommit: 3, unsetExport: ['max-job-restart-count'] }, current), { rollingFileSizeInMb: 64, numberOfPagesPerCommit: 3 });
  assert.equal(exportOverridesFrom({ resetExportConfig: true, numberOfPagesPerCommit: 3 }, current), { numberOfPagesPerCommit: 3 });
  writeFileSync(file, JSON.stringify({ rollingFileSize: 8 }));
  assert.throws(() => exportOverridesFrom({ exportConfig: file }), (e: CliError) => e.exitCode === ExitCode.usage && /unknown field "rollingFileSize"/.test(e.message));
  writeFileSync(file, JSON.stringify({ rollingFileSizeInMb: '8' }));
  assert.throws(() => exportOverridesFrom({ exportConfig: file }), /must be a whole number/);
});

test('account create needs identity and resources; update masks exactly the fields given', () => {
  assert.throws(() => accountToCreate('a-b-c', {}, undefined), /needs --client-id, --secret-name, --tenant-id .*--allowed-resource/);
  const created = accountToCreate('a-b-c', { clientId: 'c', secretName: 's', allowedResource: ['https://x'], credentialKind: 'certificate' }, 'tenant');
  assert.is(created.managedIdentity!.tenantId, 'tenant');
  assert.is(created.managedIdentity!.credentialKind, 1);
  const current: Account = { ...created, etag: 'e1', fhirProperties: { exportJobConfiguration: { rollingFileSizeInMb: 4 } } };
  const { account, updateMask } = accountUpdate(current, { disable: true, secretName: 's2', maxJobRestartCount: 1 });
  assert.equal(updateMask, ['state', 'managed_identity', 'fhir_properties.export_job_configuration']);
  assert.is(account.state, AccountState.ACCOUNT_STATE_DISABLED);
  assert.equal(account.managedIdentity, { clientId: 'c', tenantId: 'tenant', secretName: 's2', credentialKind: 1 });
  assert.equal(account.fhirProperties!.exportJobConfiguration, { rollingFileSizeInMb: 4, maxJobRestartCount: 1 });
  assert.is(account.etag, 'e1', 'the etag guards the update');
  assert.throws(() => accountUpdate(current, {}), /nothing to change/);
  assert.throws(() => accountUpdate(current, { enable: true, disable: true }), /not both/);
});

test('kick-off: level from --group/--patient/--level, parameters as a FHIR Parameters body; ages become instants', () => {
  assert.is(kickoffRequest({}).path, '/$export');
  assert.is(kickoffRequest({ level: 'patient' }).path, '/Patient/$export');
  assert.is(kickoffRequest({ group: 'g1' }).path, '/Group/g1/$export');
  const { path, body } = kickoffRequest({ patient: ['p1', 'Patient/p2'], type: ['Patient', 'Observation'], since: '2024-01-01T00:00:00Z', typeFilter: ['Observation?status=final'], container: 'c1' });
  assert.is(path, '/Patient/$export');
  assert.equal(body.parameter, [
    { name: '_type', valueString: 'Patient' },
    { name: '_type', valueString: 'Observation' },
    { name: '_since', valueInstant: '2024-01-01T00:00:00Z' },
    { name: '_typeFilter', valueString: 'Observation?status=final' },
    { name: '_container', valueString: 'c1' },
    { name: 'patient', valueReference: { reference: 'Patient/p1' } },
    { name: 'patient', valueReference: { reference: 'Patient/p2' } },
  ]);
  assert.is(instantOf('2h', '--since', Date.UTC(2025, 0, 1, 12)), '2025-01-01T10:00:00.000Z');
  assert.throws(() => instantOf('2025-01-01', '--since'), /time zone/);
});

test('Retry-After: seconds or an HTTP date', () => {
  assert.is(retryAfterMs('3'), 3000);
  assert.is(retryAfterMs(new Date(Date.UTC(2025, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2025, 0, 1)), 10_000);
  assert.is(retryAfterMs(undefined), undefined);
  assert.is(retryAfterMs('soon'), undefined);
});

test('secret files are written whole with mode 0600, replacing the previous content', () => {
  const path = join(dir, 'secret');
  writeFileSync(path, 'old\n', { mode: 0o644 });
  writeSecretFile(path, 'new-token');
  assert.is(readFileSync(path, 'utf8'), 'new-token\n');
  assert.is(statSync(path).mode & 0o777, 0o600);
});

test('every command has a description and help that lists the global connection options', () => {
  const program = buildProgram({ io: processIo, env: {} });
  const leaves: Command[] = [];
  const walk = (command: Command) => (command.commands.length === 0 ? leaves.push(command) : command.commands.forEach(walk));
  walk(program);
  const names = leaves.map((c) => `${c.parent!.name() === 'fhirmesh' ? '' : `${c.parent!.parent?.name() === 'account' ? 'account ' : ''}${c.parent!.name()} `}${c.name()}`);
  for (const expected of ['account provision', 'account update', 'account show', 'account list', 'account token issue', 'account token revoke', 'token rotate', 'token get', 'load', 'seed', 'export start', 'export follow', 'export download', 'export run', 'export cancel', 'config show']) {
    assert.ok(names.includes(expected), `${expected} exists (have ${names.join(', ')})`);
  }
  for (const leaf of leaves) {
    assert.ok(leaf.description().length > 10, `${leaf.name()} has a description`);
    assert.match(leaf.helpInformation(), /--routing-address/, `${leaf.name()} help shows the global options`);
  }
});

test('bin/fhirmesh.js runs the CLI: help exits 0, an unknown command exits 2', async () => {
  const { spawnSync } = await import('node:child_process');
  const help = spawnSync(process.execPath, ['bin/fhirmesh.js', 'export', '--help'], { encoding: 'utf8', cwd: repoRoot });
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: fhirmesh export/);
  const unknown = await cli(['exprot']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'exprot'[\s\S]*export/);
});

test.run();
