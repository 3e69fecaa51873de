/**
 * An export that outlives its storage tokens: the app's tokens live 10 s, the
 * export is slowed to take longer, and it still completes — the storage SDK
 * asks the credential again and the Entra stand-in counts several acquisitions.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { setTimeout as sleep } from 'node:timers/promises';
import { loud } from '../support/hooks.ts';
import { caller, exactlyOnce, exportRequest, it, linesOf, startExportFixture, storeJson, waitForEnd, type ExportFixture } from './support/fixture.ts';

let fx: ExportFixture;
const lifetimeSeconds = 10;

test.before(
  loud('before', async () => {
    fx = await startExportFixture();
    await fx.store.bulkUpsert(Array.from({ length: 500 }, (_, i) => ({ resourceType: 'Observation', id: `o-${i}`, status: 'final', code: { text: `n${i}` } })));
  }),
);
test.after(async () => {
  await fx?.stop();
});

it('an export longer than its tokens live completes, with several token acquisitions', async () => {
  const app = fx.credentialFor({ tokenLifetimeSeconds: lifetimeSeconds });
  const expiries: number[] = [];
  const engine = await fx.engine(
    { maximumNumberOfResourcesPerQuery: 10, numberOfPagesPerCommit: 2, blockSizeBytes: 1024, rollingFileSizeBytes: 16 * 1024 },
    { credential: app.credential, onStorageToken: (expiresOn) => expiries.push(expiresOn), hooks: { afterPage: () => sleep(250) } },
  );
  const { id } = await engine.start(exportRequest({ types: ['Observation'], destination: { kind: 'default', container: 'short-tokens' } }), caller);
  const view = await waitForEnd(engine, id, caller, 55_000);
  assert.is(view.status, 'completed', JSON.stringify(view.failure));
  exactlyOnce(await linesOf(fx.blobs, 'short-tokens', view, 'Observation'), await storeJson(fx.store, 'Observation'), 'Observation');
  assert.ok(expiries.length > 0);
  assert.ok(Math.min(...expiries) < Date.parse(view.endTime!), 'the export ran past the expiry of its first token');
  assert.ok(new Set(expiries).size >= 2, `distinct token expiries: ${new Set(expiries).size}`);
  const issued = fx.standIns.entra.stats().byAppId[app.appId.toLowerCase()]?.issued ?? 0;
  assert.ok(issued >= 2, `tokens issued to the app: ${issued}`);
});

test.run();
