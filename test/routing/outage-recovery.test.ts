/**
 * After a short Entra ID outage the routing server recovers as soon as its own
 * back-off ends — also for its own Key Vault credential, which MSAL would
 * otherwise keep refusing for about a minute after a 5xx.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { startStandIns, type StandIns } from '../../dev/standins.ts';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { claims, expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';

let standIns: StandIns;
let provisioner: RoutingSetup;

test.before(loud('before', async () => {
  standIns = await startStandIns();
  provisioner = await startRoutingSetup({ standIns });
}));
test.after(async () => {
  await provisioner?.stop();
  await standIns?.stop();
});

test('a fresh routing server recovers from a one-request Entra outage within its back-off', async () => {
  const account = await provisioner.provisionAccount('acct-blip');
  // A second routing server over the same registry: it has no Key Vault token yet.
  const fresh = await startRoutingSetup({ standIns });
  const client = new TokenServiceClient(fresh.address, tlsChannelCredentials(standIns.tls.caPem));
  try {
    standIns.entra.setFault({ status: 503, count: 1 });
    const get = () => unaryCall(client.getToken, client, { resourceUri: 'https://storage.azure.com' }, bearerMetadata(account.refreshToken));
    const err = await expectStatus(get(), status.UNAVAILABLE);
    const waitMs = Number(err.metadata.get('retry-after-ms')[0] ?? 1000);
    assert.ok(waitMs <= 2_000, `asked to wait ${waitMs} ms`);
    await new Promise((r) => setTimeout(r, waitMs + 100));
    const res = await get();
    assert.is(claims(res.accessToken).appid, account.clientId);
  } finally {
    standIns.entra.clearFault();
    client.close();
    await fresh.stop();
  }
});

test.run();
