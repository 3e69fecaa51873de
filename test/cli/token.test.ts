/**
 * `fhirmesh account token issue|list|revoke` and `fhirmesh token get|rotate`
 * against a real routing server on the stand-ins: issued tokens really work
 * and are never printed unless asked for, rotation rewrites the file and
 * retires the old token after the grace window, revoked families are refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { loud } from '../support/hooks.ts';
import { cli, oneSentence } from './support/cli.ts';

let setup: RoutingSetup;
let env: Record<string, string>;
let dir: string;

test.before(loud('before', async () => {
  setup = await startRoutingSetup({ env: { ROUTING_REFRESH_TOKEN_GRACE_SECONDS: '1' } });
  await setup.provisionAccount('contoso', { credential: 'secret' });
  dir = mkdtempSync(join(tmpdir(), 'fhirmesh-cli-'));
  env = { FHIRMESH_ROUTING_ADDRESS: setup.address, FHIRMESH_CA_FILE: setup.standIns.tls.caFile, FHIRMESH_ADMIN_TOKEN: await setup.adminToken() };
}));
test.after(async () => setup?.stop());

test('account token issue writes a working refresh token to a 0600 file; token get shows expiry, the token only when asked', async () => {
  const file = join(dir, 'contoso-token');
  const issue = await cli(['account', 'token', 'issue', 'contoso', '--out', file], env);
  assert.is(issue.code, 0, issue.stderr);
  const token = readFileSync(file, 'utf8').trim();
  assert.ok(token.length > 20);
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.not.ok(issue.stdout.includes(token) || issue.stderr.includes(token), 'the token is not printed');
  const get = await cli(['token', 'get', 'https://storage.azure.com', '--refresh-token-file', file], env);
  assert.is(get.code, 0, get.stderr);
  assert.match(get.stdout, /expires on\s+\d{4}-/);
  assert.match(get.stdout, /refresh after\s+\d{4}-/);
  assert.not.match(get.stdout + get.stderr, /eyJ/, 'no access token without --show-token');
  const shown = await cli(['token', 'get', 'https://storage.azure.com', '--show-token'], { ...env, FHIRMESH_REFRESH_TOKEN_FILE: file });
  assert.is(shown.code, 0, shown.stderr);
  assert.is(decodeJwt(shown.stdout.trim()).aud, 'https://storage.azure.com');
  const stdout = await cli(['account', 'token', 'issue', 'contoso'], env);
  assert.is(stdout.code, 0, stdout.stderr);
  assert.ok(stdout.stdout.trim().length > 20, 'token on stdout without --out');
});

test('token rotate rewrites the file atomically; the new token works, the old one is refused after the grace window', async () => {
  const file = join(dir, 'rotating-token');
  assert.is((await cli(['account', 'token', 'issue', 'contoso', '--out', file], env)).code, 0);
  const old = readFileSync(file, 'utf8').trim();
  const rotate = await cli(['token', 'rotate', '--refresh-token-file', file], env);
  assert.is(rotate.code, 0, rotate.stderr);
  assert.match(rotate.stdout, /previous token valid until\s+\d{4}-/);
  const fresh = readFileSync(file, 'utf8').trim();
  assert.is.not(fresh, old);
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.not.ok(rotate.stdout.includes(fresh) || rotate.stderr.includes(fresh), 'the new token is not printed');
  assert.is((await cli(['token', 'get', 'https://storage.azure.com', '--refresh-token-file', file], env)).code, 0, 'new token works');
  const oldFile = join(dir, 'old-token');
  writeFileSync(oldFile, old);
  await new Promise((r) => setTimeout(r, 2500)); // grace window is 1 s
  const replay = await cli(['token', 'get', 'https://storage.azure.com', '--refresh-token-file', oldFile], env);
  assert.is(replay.code, 4, replay.stderr);
  assert.ok(oneSentence(replay), replay.stderr);
  assert.match(replay.stderr, /UNAUTHENTICATED/);
});

test('account token list and revoke: a revoked family is refused', async () => {
  const file = join(dir, 'revoked-token');
  assert.is((await cli(['account', 'token', 'issue', 'contoso', '--out', file], env)).code, 0);
  const list = await cli(['account', 'token', 'list', 'contoso', '--json'], env);
  assert.is(list.code, 0, list.stderr);
  const tokens = JSON.parse(list.stdout) as { tokenId: string; state: string }[];
  assert.ok(tokens.length >= 4);
  const newest = tokens[0]!;
  assert.is(newest.state, 'REFRESH_TOKEN_STATE_ACTIVE');
  const revoke = await cli(['account', 'token', 'revoke', 'contoso', '--token-id', newest.tokenId], env);
  assert.is(revoke.code, 0, revoke.stderr);
  assert.match(revoke.stdout, /revoked 1 refresh token/);
  const refused = await cli(['token', 'get', 'https://storage.azure.com', '--refresh-token-file', file], env);
  assert.is(refused.code, 4);
  const ambiguous = await cli(['account', 'token', 'revoke', 'contoso'], env);
  assert.is(ambiguous.code, 2);
  assert.ok(oneSentence(ambiguous), ambiguous.stderr);
});

test.run();
