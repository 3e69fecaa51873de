/** With short-lived tokens, a cached token is replaced before it expires, and no caller waits for Entra ID. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { claims } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';

let setup: RoutingSetup;
let tokens: TokenServiceClient;

test.before(loud('before', async () => {
  setup = await startRoutingSetup();
  tokens = new TokenServiceClient(setup.address, tlsChannelCredentials(setup.standIns.tls.caPem));
}));
test.after(async () => {
  tokens?.close();
  await setup?.stop();
});

test('a cached token is replaced before it expires, with no caller waiting', async () => {
  const acct = await setup.provisionAccount('acct-short');
  const lifetime = 12;
  setup.standIns.entra.updateApplication(acct.clientId, { tokenLifetimeSeconds: lifetime });
  const md = bearerMetadata(acct.refreshToken);
  const get = () => unaryCall(tokens.getToken, tokens, { resourceUri: 'https://storage.azure.com' }, md);
  const first = await get();
  const firstExp = first.expiresOn!.getTime();
  assert.ok(firstExp - Date.now() <= lifetime * 1000 + 1000, 'short-lived token');
  setup.standIns.entra.resetStats();
  const missesBefore = setup.routing!.provider.tokenStats.misses;

  // Keep calling (a caller every 250 ms) until a new token appears; every answer must still be valid when served.
  const seen = new Set([first.accessToken]);
  let replacedAt = 0;
  let replacement = '';
  const deadline = firstExp + 5_000;
  while (Date.now() < deadline) {
    const res = await get();
    assert.ok(res.expiresOn!.getTime() > Date.now(), 'never served an expired token');
    if (!seen.has(res.accessToken)) {
      replacedAt = Date.now();
      replacement = res.accessToken;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(replacement, 'a new token was served');
  assert.ok(replacedAt < firstExp, `replaced ${firstExp - replacedAt} ms before the first token expired`);
  assert.is(claims(replacement).appid, acct.clientId);
  const stats = setup.standIns.entra.stats().byAppId[acct.clientId.toLowerCase()];
  assert.is(stats?.issued, 1, 'exactly one refresh reached Entra ID');
  const cacheStats = setup.routing!.provider.tokenStats;
  assert.ok(cacheStats.backgroundRefreshes >= 1, 'the refresh ran in the background');
  assert.is(cacheStats.misses, missesBefore, 'no caller found the cache empty and had to wait');
});

test.run();
