/** The grpcurl path: a Go reflection client (`buf curl`) lists services over TLS and calls GetToken with a header. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRoutingSetup, type ProvisionedAccount, type RoutingSetup } from '../../dev/routing-setup.ts';
import { claims } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';

const exec = promisify(execFile);
let setup: RoutingSetup;
let account: ProvisionedAccount;

// Async: the routing server runs in this process and must keep serving while buf runs.
async function bufCurl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec('node_modules/.bin/buf', ['curl', '--cacert', setup.standIns.tls.caFile, '--protocol', 'grpc', ...args], { timeout: 60_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

test.before(loud('before', async () => {
  setup = await startRoutingSetup();
  account = await setup.provisionAccount('acct-reflect');
}));
test.after(async () => setup?.stop());

test('buf curl lists the services over TLS by reflection', async () => {
  const res = await bufCurl('--list-services', `https://${setup.address}`);
  assert.is(res.code, 0, res.stderr);
  for (const name of ['TokenService', 'RefreshTokenService', 'AccountService', 'AccountConfigurationService']) {
    assert.ok(res.stdout.includes(`fhirmesh.routing.v1.${name}`), name);
  }
});

test('buf curl calls GetToken with the refresh token in a header', async () => {
  const res = await bufCurl(
    '-H',
    `authorization: Bearer ${account.refreshToken}`,
    '-d',
    '{"resource_uri":"https://storage.azure.com"}',
    `https://${setup.address}/fhirmesh.routing.v1.TokenService/GetToken`,
  );
  assert.is(res.code, 0, res.stderr);
  const body = JSON.parse(res.stdout) as { accessToken: string; expiresOn: string; refreshAfter: string; tokenType: string };
  assert.is(claims(body.accessToken).appid, account.clientId);
  assert.is(body.tokenType, 'Bearer');
  assert.ok(Date.parse(body.expiresOn) > Date.now(), 'expires_on is an RFC 3339 timestamp in the future');
  assert.ok(Date.parse(body.refreshAfter) < Date.parse(body.expiresOn));
});

test('buf curl sees the status and message of a refused call', async () => {
  const res = await bufCurl('-d', '{"resource_uri":"https://storage.azure.com"}', `https://${setup.address}/fhirmesh.routing.v1.TokenService/GetToken`);
  assert.is.not(res.code, 0);
  assert.match(res.stderr, /unauthenticated/i);
  assert.match(res.stderr, /refresh token is required/);
});

test('the standard health service answers SERVING', async () => {
  const res = await bufCurl('-d', '{"service":"fhirmesh.routing.v1.TokenService"}', `https://${setup.address}/grpc.health.v1.Health/Check`);
  assert.is(res.code, 0, res.stderr);
  assert.is(JSON.parse(res.stdout).status, 'SERVING');
});

test.run();
