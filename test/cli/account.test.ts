/**
 * `fhirmesh account provision|show|list|update` against a real routing server
 * on the stand-ins: provisioned accounts really exist with what the flags said,
 * updates change only what they name, and failures are one sentence with the
 * documented exit code.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bearerMetadata, unaryCall } from '../../common/grpc/client.ts';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { AccountState } from '../../gen/fhirmesh/routing/v1/account.ts';
import { loud } from '../support/hooks.ts';
import { cli, oneSentence } from './support/cli.ts';

let setup: RoutingSetup;
let env: Record<string, string>;
let dir: string;

/** A managed identity with a client secret in Key Vault, as an operator would have prepared it. */
function prepareIdentity(name: string): { clientId: string; secretName: string } {
  const secret = randomBytes(24).toString('base64url');
  const clientId = setup.standIns.entra.registerApplication({ displayName: `${name} identity`, secrets: [secret] }).appId;
  setup.standIns.keyVault.putSecret(`mi-${name}`, secret, { contentType: 'text/plain' });
  return { clientId, secretName: `mi-${name}` };
}

async function getAccount(name: string) {
  return (await unaryCall(setup.accounts.getAccount, setup.accounts, { name }, bearerMetadata(await setup.adminToken()))).account!;
}

/** The export overrides of an account, without the absent fields. */
async function overridesOf(name: string): Promise<Record<string, unknown>> {
  const config = (await getAccount(name)).fhirProperties?.exportJobConfiguration ?? {};
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
}

test.before(loud('before', async () => {
  setup = await startRoutingSetup();
  dir = mkdtempSync(join(tmpdir(), 'fhirmesh-cli-'));
  const adminFile = join(dir, 'admin-token');
  writeFileSync(adminFile, `${await setup.adminToken()}\n`);
  env = { FHIRMESH_ROUTING_ADDRESS: setup.address, FHIRMESH_CA_FILE: setup.standIns.tls.caFile, FHIRMESH_ADMIN_TOKEN_FILE: adminFile, FHIRMESH_TENANT_ID: setup.standIns.entra.tenantId };
}));
test.after(async () => setup?.stop());

test('account provision creates the account with its identity, allowed resources and export overrides (flags over file)', async () => {
  const id = prepareIdentity('contoso');
  const configFile = join(dir, 'export.json');
  writeFileSync(configFile, JSON.stringify({ rolling_file_size_in_mb: 16, defaultContainer: 'from-file', maxJobRestartCount: 3 }));
  const run = await cli(['account', 'provision', 'contoso', '--client-id', id.clientId, '--secret-name', id.secretName, '--allowed-resource', 'https://storage.azure.com', '--credential-kind', 'client-secret', '--export-config', configFile, '--default-container', 'from-flag'], env);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /name\s+contoso/);
  assert.match(run.stdout, /defaultContainer=from-flag/);
  const stored = await getAccount('contoso');
  assert.is(stored.managedIdentity!.clientId, id.clientId);
  assert.is(stored.managedIdentity!.secretName, 'mi-contoso');
  assert.is(stored.managedIdentity!.tenantId, setup.standIns.entra.tenantId);
  assert.equal(stored.allowedResourceUris, ['https://storage.azure.com']);
  assert.equal(await overridesOf('contoso'), { rollingFileSizeInMb: 16, defaultContainer: 'from-flag', maxJobRestartCount: 3 });
});

test('account show, list and update: only the given fields change; overrides merge, unset and reset', async () => {
  const show = await cli(['account', 'show', 'contoso', '--json'], env);
  assert.is(show.code, 0, show.stderr);
  assert.is(JSON.parse(show.stdout).name, 'contoso');
  const list = await cli(['account', 'list'], env);
  assert.is(list.code, 0, list.stderr);
  assert.match(list.stdout, /^contoso\s+active/m);
  const update = await cli(['account', 'update', 'contoso', '--display-name', 'Contoso Ltd', '--rolling-file-size-in-mb', '32', '--unset-export', 'max_job_restart_count'], env);
  assert.is(update.code, 0, update.stderr);
  let stored = await getAccount('contoso');
  assert.is(stored.displayName, 'Contoso Ltd');
  assert.equal(await overridesOf('contoso'), { rollingFileSizeInMb: 32, defaultContainer: 'from-flag' });
  assert.equal(stored.allowedResourceUris, ['https://storage.azure.com'], 'untouched');
  const reset = await cli(['account', 'update', 'contoso', '--reset-export-config', '--number-of-pages-per-commit', '5'], env);
  assert.is(reset.code, 0, reset.stderr);
  stored = await getAccount('contoso');
  assert.equal(await overridesOf('contoso'), { numberOfPagesPerCommit: 5 });
  assert.is(stored.displayName, 'Contoso Ltd', 'untouched');
});

test('a disabled account gets no tokens; enabling it again restores them', async () => {
  const file = join(dir, 'contoso-token');
  const issued = await unaryCall(setup.accounts.issueRefreshToken, setup.accounts, { accountName: 'contoso' }, bearerMetadata(await setup.adminToken()));
  writeFileSync(file, issued.refreshToken);
  assert.is((await cli(['account', 'update', 'contoso', '--disable'], env)).code, 0);
  assert.is((await getAccount('contoso')).state, AccountState.ACCOUNT_STATE_DISABLED);
  const refused = await cli(['token', 'get', 'https://storage.azure.com', '--refresh-token-file', file], env);
  assert.is(refused.code, 4, refused.stderr);
  assert.ok(oneSentence(refused), refused.stderr);
  assert.is((await cli(['account', 'update', 'contoso', '--enable'], env)).code, 0);
  assert.is((await cli(['token', 'get', 'https://storage.azure.com', '--refresh-token-file', file], env)).code, 0);
});

test('failures are one sentence with their exit code: unknown account, taken name, invalid field, bad admin token, missing settings, unreachable server', async () => {
  const cases: [string[], Record<string, string>, number, RegExp][] = [
    [['account', 'show', 'nobody-here'], env, 5, /NOT_FOUND: account nobody-here does not exist/],
    [['account', 'provision', 'contoso', '--client-id', 'x', '--secret-name', 'y', '--allowed-resource', 'https://storage.azure.com'], env, 6, /ALREADY_EXISTS/],
    [['account', 'provision', 'bad-uri', '--client-id', 'x', '--secret-name', 'y', '--allowed-resource', 'http://storage.azure.com'], env, 7, /INVALID_ARGUMENT: .*https/],
    [['account', 'provision', 'half'], env, 2, /needs --client-id, --secret-name, --allowed-resource/],
    [['account', 'list'], { ...env, FHIRMESH_ADMIN_TOKEN_FILE: '', FHIRMESH_ADMIN_TOKEN: 'not-a-token' }, 4, /UNAUTHENTICATED/],
    [['account', 'list'], { FHIRMESH_CA_FILE: env.FHIRMESH_CA_FILE!, FHIRMESH_ADMIN_TOKEN: 'x' }, 2, /no routing server address: give --routing-address/],
    [['account', 'list', '--routing-address', '127.0.0.1:1'], env, 3, /UNAVAILABLE/],
    [['token', 'get', 'https://storage.azure.com', '--refresh-token-file', join(dir, 'missing')], env, 2, /cannot read the refresh token file/],
  ];
  const runs = await Promise.all(cases.map(([args, runEnv]) => cli(args, runEnv)));
  for (const [i, [args, , code, pattern]] of cases.entries()) {
    const run = runs[i]!;
    assert.is(run.code, code, `${args.join(' ')}: ${run.stderr}`);
    assert.ok(oneSentence(run), `${args.join(' ')}: one sentence, got ${run.stderr}`);
    assert.match(run.stderr, pattern);
  }
  const verbose = await cli(['account', 'show', 'nobody-here', '--verbose'], env);
  assert.is(verbose.code, 5);
  assert.match(verbose.stderr, /\n\s+at /, '--verbose adds the stack');
});

test.run();
