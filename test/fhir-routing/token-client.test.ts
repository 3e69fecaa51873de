/**
 * ExternalResourceTokenClient against a real routing server and the stand-ins:
 * one call for many concurrent callers, refresh ahead of expiry without callers
 * waiting, typed refusals that are not retried, and the UNAUTHENTICATED re-read.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { startRoutingSetup, type ProvisionedAccount, type RoutingSetup } from '../../dev/routing-setup.ts';
import { RefreshTokenStoreError, type RefreshTokenRepository, type StoredRefreshToken } from '../../fhir-server/routing/refresh-token-repository.ts';
import { RoutingTokenError } from '../../fhir-server/routing/routing-token-error.ts';
import { claims } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { GET_TOKEN, startInstance, type FhirInstance } from './support/instance.ts';

const STORAGE = 'https://storage.azure.com';
let setup: RoutingSetup;
const instances: FhirInstance[] = [];

async function instanceFor(account: ProvisionedAccount, db = `fhir-${account.name}`) {
  const instance = await startInstance(setup, { databaseId: db, bootstrapRefreshToken: account.refreshToken });
  instances.push(instance);
  return instance;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail; it succeeded');
}

test.before(loud('before', async () => {
  setup = await startRoutingSetup({ env: { ROUTING_REFRESH_TOKEN_GRACE_SECONDS: '2', ROUTING_CACHE_REFRESH_TOKEN_SECONDS: '1' } });
}));

test.after(async () => {
  for (const instance of instances) await instance.close();
  await setup?.stop();
});

test('100 concurrent callers of a cold resource share one GetToken call and get the same token', async () => {
  const account = await setup.provisionAccount('tc-crowd');
  const fhir = await instanceFor(account);
  setup.standIns.entra.resetStats();
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => fhir.tokens.getToken(i % 2 ? STORAGE : 'https://storage.azure.com/.default')));
  assert.is(new Set(results.map((r) => r.token)).size, 1, 'everyone got the same token');
  assert.is(fhir.calls.get(GET_TOKEN), 1, 'one GetToken call left the client');
  assert.is(fhir.tokens.caller.stats.attempts, 1);
  assert.is(setup.standIns.entra.stats().byAppId[account.clientId.toLowerCase()]?.issued, 1, 'one token issued by Entra ID');
  assert.is(claims(results[0]!.token).appid, account.clientId);
  assert.is(claims(results[0]!.token).aud, STORAGE);
  assert.ok(results[0]!.refreshAfterTimestamp < results[0]!.expiresOnTimestamp);
  // Warm: served from memory, nothing sent.
  await Promise.all(Array.from({ length: 20 }, () => fhir.tokens.getToken(STORAGE)));
  assert.is(fhir.calls.get(GET_TOKEN), 1);
});

test('a short-lived token is replaced before it expires, with no caller waiting', async () => {
  const account = await setup.provisionAccount('tc-short');
  setup.standIns.entra.updateApplication(account.clientId, { tokenLifetimeSeconds: 20 });
  const fhir = await instanceFor(account);
  const first = await fhir.tokens.getToken(STORAGE);
  assert.ok(first.expiresOnTimestamp - Date.now() <= 21_000, 'short-lived token');
  const missesAfterFirst = fhir.tokens.cacheStats.misses;
  let replacement: typeof first | undefined;
  while (Date.now() < first.expiresOnTimestamp + 5_000) {
    const got = await fhir.tokens.getToken(STORAGE);
    assert.ok(got.expiresOnTimestamp > Date.now(), 'never handed out an expired token');
    if (got.token !== first.token) {
      replacement = got;
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(replacement, 'a new token was served');
  assert.ok(Date.now() < first.expiresOnTimestamp, 'the new token was served before the first expired');
  assert.is(claims(replacement!.token).appid, account.clientId);
  assert.is(fhir.tokens.cacheStats.misses, missesAfterFirst, 'no caller found the cache empty and had to wait');
  assert.ok(fhir.tokens.cacheStats.backgroundRefreshes >= 1, 'the refresh ran in the background');
});

test('PERMISSION_DENIED and INVALID_ARGUMENT are typed and not retried; the error never carries the refresh token', async () => {
  const account = await setup.provisionAccount('tc-denied');
  const fhir = await instanceFor(account);
  const denied = await rejection(fhir.tokens.getToken('https://otheracct.blob.core.windows.net'));
  assert.instance(denied, RoutingTokenError);
  const e = denied as RoutingTokenError;
  assert.is(e.code, status.PERMISSION_DENIED);
  assert.is(e.attempts, 1);
  assert.match(e.details, /may not get tokens for https:\/\/otheracct/);
  assert.not.ok(JSON.stringify({ ...e, message: e.message, stack: e.stack }).includes(account.refreshToken), 'no token in the error');
  const invalid = (await rejection(fhir.tokens.getToken('http://storage.azure.com'))) as RoutingTokenError;
  assert.is(invalid.code, status.INVALID_ARGUMENT);
  assert.is(fhir.calls.get(GET_TOKEN), 2, 'one call each');
  assert.is(fhir.tokens.caller.stats.retries, 0);
});

test('an aborted caller stops waiting while the shared acquisition completes for the others', async () => {
  const account = await setup.provisionAccount('tc-abort');
  const fhir = await instanceFor(account);
  const controller = new AbortController();
  const waiting = fhir.tokens.getToken(STORAGE, { abortSignal: controller.signal });
  const other = fhir.tokens.getToken(STORAGE);
  controller.abort();
  const err = (await rejection(waiting)) as Error;
  assert.is(err.name, 'AbortError');
  assert.is(claims((await other).token).appid, account.clientId);
});

/** A repository (at the port) whose first read returns a stale token, as if another instance rotated it since. */
class StaleFirstRead implements RefreshTokenRepository {
  reads = 0;
  constructor(private readonly inner: RefreshTokenRepository, private readonly staleToken: string) {}
  async current(): Promise<StoredRefreshToken> {
    const stored = await this.inner.current();
    return this.reads++ === 0 ? { ...stored, token: this.staleToken, tokenId: 'rt-stale' } : stored;
  }
  replace: RefreshTokenRepository['replace'] = (expected, next) => this.inner.replace(expected, next);
}

test('UNAUTHENTICATED re-reads the repository once and retries with the stored token', async () => {
  const account = await setup.provisionAccount('tc-reread');
  let stale: StaleFirstRead | undefined;
  const fhir = await startInstance(setup, {
    databaseId: 'fhir-tc-reread',
    bootstrapRefreshToken: account.refreshToken,
    wrapRepository: (inner) => (stale = new StaleFirstRead(inner, 'fmrt_' + 'A'.repeat(43))),
  });
  instances.push(fhir);
  const got = await fhir.tokens.getToken(STORAGE);
  assert.is(claims(got.token).appid, account.clientId);
  assert.is(fhir.tokens.caller.stats.reauthentications, 1);
  assert.is(fhir.calls.get(GET_TOKEN), 2, 'the refused call and one retry');
  assert.is(stale!.reads, 2);
});

test('UNAUTHENTICATED with no newer token stored fails at once', async () => {
  const account = await setup.provisionAccount('tc-unknown');
  const fhir = await instanceFor({ ...account, refreshToken: 'fmrt_' + 'B'.repeat(43) });
  const err = (await rejection(fhir.tokens.getToken(STORAGE))) as RoutingTokenError;
  assert.instance(err, RoutingTokenError);
  assert.is(err.code, status.UNAUTHENTICATED);
  assert.match(err.details, /unknown/);
  assert.is(fhir.calls.get(GET_TOKEN), 1, 'not retried with the same token');
});

test('without a stored token or a bootstrap token the client says so', async () => {
  const fhir = await startInstance(setup, { databaseId: 'fhir-tc-empty' });
  instances.push(fhir);
  const err = await rejection(fhir.tokens.getToken(STORAGE));
  assert.instance(err, RefreshTokenStoreError);
  assert.is((err as RefreshTokenStoreError).kind, 'not-configured');
  assert.is(fhir.calls.get(GET_TOKEN), undefined, 'nothing sent');
});

test('the account configuration client returns the overrides provisioned for the account', async () => {
  const account = await setup.provisionAccount('tc-config', { exportJobConfiguration: { rollingFileSizeInMb: 7 } });
  const fhir = await instanceFor(account);
  const cfg = await fhir.accountConfiguration.get({ correlationId: 'cfg-1' });
  assert.is(cfg.accountName, 'tc-config');
  assert.equal(cfg.exportJobConfiguration, { rollingFileSizeInMb: 7 });
  assert.is(cfg.fhirProperties.exportJobConfiguration?.rollingFileSizeInMb, 7);
  assert.equal(cfg.allowedResourceUris, [STORAGE]);
  assert.ok(cfg.etag);
});

test.run();
