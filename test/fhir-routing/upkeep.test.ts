/**
 * Refresh-token upkeep against the real routing server and the Cosmos stand-in:
 * the bootstrap token is rotated at first start, rotations survive restarts,
 * two instances rotating at once are handed one successor and both keep
 * working past the grace window, a rotation whose answer was lost is handed
 * out again, and the loop runs on its own schedule through failures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RefreshTokenState } from '../../gen/fhirmesh/routing/v1/account.ts';
import { bearerMetadata, unaryCall } from '../../common/grpc/client.ts';
import { createLogger } from '../../common/logging.ts';
import { startRoutingSetup, type RoutingSetup } from '../../dev/routing-setup.ts';
import { RefreshTokenStoreError, type RefreshTokenRepository, type StoredRefreshToken } from '../../fhir-server/routing/refresh-token-repository.ts';
import { claims } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { ROTATE, eventually, startInstance, type FhirInstance, type InstanceOptions } from './support/instance.ts';

const STORAGE = 'https://storage.azure.com';
const PAST_GRACE_MS = 3_500; // grace 2 s + validation cache 1 s + margin
let setup: RoutingSetup;
const instances: FhirInstance[] = [];

async function instance(options: InstanceOptions): Promise<FhirInstance> {
  const created = await startInstance(setup, options);
  instances.push(created);
  return created;
}

/** The account's refresh tokens as the routing server's admin API lists them. */
async function tokenStates(accountName: string): Promise<Map<string, RefreshTokenState>> {
  const md = bearerMetadata(await setup.adminToken());
  const res = await unaryCall(setup.accounts.listRefreshTokens, setup.accounts, { accountName }, md);
  return new Map(res.tokens.map((t) => [t.tokenId, t.state]));
}

/** Decorates a repository (at the port): the first read of each instance waits until `parties` instances have read. */
function barrier(parties: number) {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => (release = r));
  return (inner: RefreshTokenRepository): RefreshTokenRepository => {
    let held = false;
    return {
      current: async () => {
        const stored = await inner.current();
        if (!held) {
          held = true;
          if (++arrived === parties) release();
          await all;
        }
        return stored;
      },
      replace: (expected, next) => inner.replace(expected, next),
    };
  };
}

/** Decorates a repository (at the port) so its next `reads` reads or `writes` writes fail as an unreachable store would. */
function flaky(counts: { reads: number; writes: number }) {
  return (inner: RefreshTokenRepository): RefreshTokenRepository => ({
    current: async (): Promise<StoredRefreshToken> => {
      if (counts.reads > 0 && counts.reads--) throw new RefreshTokenStoreError('unavailable', 'refresh token store failed while reading (HTTP 503)', 503);
      return inner.current();
    },
    replace: async (expected, next) => {
      if (counts.writes > 0 && counts.writes--) throw new RefreshTokenStoreError('unavailable', 'refresh token store failed while storing (HTTP 503)', 503);
      return inner.replace(expected, next);
    },
  });
}

test.before(loud('before', async () => {
  setup = await startRoutingSetup({
    env: { ROUTING_REFRESH_TOKEN_LIFETIME_SECONDS: '60', ROUTING_REFRESH_TOKEN_GRACE_SECONDS: '2', ROUTING_CACHE_REFRESH_TOKEN_SECONDS: '1' },
  });
}));

test.after(async () => {
  for (const i of instances) await i.close();
  await setup?.stop();
});

test('the bootstrap token is rotated at the first check, and a restarted instance uses the stored token, not the configured one', async () => {
  const account = await setup.provisionAccount('up-restart');
  const first = await instance({ databaseId: 'fhir-up-restart', bootstrapRefreshToken: account.refreshToken });
  const outcome = await first.upkeep.checkNow();
  assert.is(outcome.action, 'rotated');
  if (outcome.action !== 'rotated') return;
  assert.is(outcome.from, 'bootstrap');
  assert.ok(outcome.previousValidUntilMs! > Date.now() - 1_000, 'the server said how long the old token stays valid');
  assert.is((await first.tokens.getToken(STORAGE)).token.length > 0, true);
  await first.close();

  await new Promise((r) => setTimeout(r, PAST_GRACE_MS));
  // Same configuration as before the restart: the configured seed is now only history.
  const second = await instance({ databaseId: 'fhir-up-restart', bootstrapRefreshToken: account.refreshToken });
  const stored = await second.repository.current();
  assert.is(stored.tokenId, outcome.to);
  assert.is.not(stored.token, account.refreshToken);
  assert.is(claims((await second.tokens.getToken(STORAGE)).token).appid, account.clientId);
  assert.is((await second.upkeep.checkNow()).action, 'not-due');
  const states = await tokenStates('up-restart');
  assert.is(states.get(outcome.to), RefreshTokenState.REFRESH_TOKEN_STATE_ACTIVE);
  assert.is([...states.values()].filter((s) => s === RefreshTokenState.REFRESH_TOKEN_STATE_ROTATED).length, 1, 'the seed was rotated out');
  assert.not.ok([...states.values()].includes(RefreshTokenState.REFRESH_TOKEN_STATE_REVOKED), 'nothing presented a dead token');
});

test('two instances rotating the same token at once: both are handed the one successor, one write wins, both keep working', async () => {
  const account = await setup.provisionAccount('up-twins');
  const together = barrier(2);
  const a = await instance({ databaseId: 'fhir-up-twins', bootstrapRefreshToken: account.refreshToken, wrapRepository: together });
  const b = await instance({ databaseId: 'fhir-up-twins', bootstrapRefreshToken: account.refreshToken, wrapRepository: together });
  const outcomes = await Promise.all([a.upkeep.checkNow(), b.upkeep.checkNow()]);
  assert.equal(outcomes.map((o) => o.action).sort(), ['lost-race', 'rotated']);
  const won = outcomes.find((o) => o.action === 'rotated');
  const lost = outcomes.find((o) => o.action === 'lost-race');
  if (won?.action !== 'rotated' || lost?.action !== 'lost-race') return;
  assert.is(lost.kept, won.to, 'the loser keeps the stored token');
  assert.is(lost.discarded, won.to, 'and what it discarded was that same token: no second live token exists');
  assert.is(a.calls.get(ROTATE), 1);
  assert.is(b.calls.get(ROTATE), 1);

  await new Promise((r) => setTimeout(r, PAST_GRACE_MS));
  for (const fhir of [a, b]) {
    assert.is((await fhir.repository.current()).tokenId, won.to);
    assert.is(claims((await fhir.tokens.getToken(STORAGE)).token).appid, account.clientId);
    assert.is((await fhir.accountConfiguration.get()).accountName, 'up-twins');
  }
  const states = await tokenStates('up-twins');
  assert.is(states.get(won.to), RefreshTokenState.REFRESH_TOKEN_STATE_ACTIVE);
  assert.is([...states.values()].filter((s) => s === RefreshTokenState.REFRESH_TOKEN_STATE_ACTIVE).length, 1, 'one live token');
  assert.not.ok([...states.values()].includes(RefreshTokenState.REFRESH_TOKEN_STATE_REVOKED));
});

test('an instance that died between rotating and storing: the next one rotating the stored token gets the same successor', async () => {
  const account = await setup.provisionAccount('up-crash');
  const fhir = await instance({ databaseId: 'fhir-up-crash', bootstrapRefreshToken: account.refreshToken });
  const stored = await fhir.repository.current();
  // The rotation the dead instance made: its answer was never stored.
  const lostAnswer = await unaryCall(fhir.connection.refreshTokens.rotateRefreshToken, fhir.connection.refreshTokens, {}, bearerMetadata(stored.token));
  const outcome = await fhir.upkeep.checkNow();
  assert.is(outcome.action, 'rotated');
  if (outcome.action !== 'rotated') return;
  assert.is(outcome.to, lostAnswer.tokenId);
  assert.is((await fhir.repository.current()).token, lostAnswer.refreshToken);
  const states = await tokenStates('up-crash');
  assert.is([...states.values()].filter((s) => s === RefreshTokenState.REFRESH_TOKEN_STATE_ACTIVE).length, 1, 'one live token');
  assert.is(claims((await fhir.tokens.getToken(STORAGE)).token).appid, account.clientId);
});

test('a rotation whose write failed is stored on the next check without rotating again', async () => {
  const account = await setup.provisionAccount('up-write-fail');
  const fhir = await instance({ databaseId: 'fhir-up-write-fail', bootstrapRefreshToken: account.refreshToken, wrapRepository: flaky({ reads: 0, writes: 1 }) });
  let failed: unknown;
  try {
    await fhir.upkeep.checkNow();
  } catch (err) {
    failed = err;
  }
  assert.instance(failed, RefreshTokenStoreError);
  const outcome = await fhir.upkeep.checkNow();
  assert.is(outcome.action, 'rotated');
  assert.is(fhir.calls.get(ROTATE), 1, 'one rotation');
  assert.is((await fhir.repository.current()).tokenId, outcome.action === 'rotated' ? outcome.to : '');
});

test('the loop rotates on its own schedule, survives failures, and every token it leaves behind works', async () => {
  const account = await setup.provisionAccount('up-loop');
  const lines: string[] = [];
  const fhir = await instance({
    databaseId: 'fhir-up-loop',
    bootstrapRefreshToken: account.refreshToken,
    logger: createLogger('fhir-routing', 'debug', { write: (line: string) => void lines.push(line) }),
    wrapRepository: flaky({ reads: 2, writes: 0 }),
    // 60 s tokens rotated with 58 s left: a rotation every 2 s.
    upkeep: { checkIntervalMs: 300, rotateBeforeMs: 58_000, failureBackoffInitialMs: 100 },
  });
  fhir.upkeep.start();
  try {
    assert.ok(await eventually(() => fhir.upkeep.stats.rotations >= 2, 20_000), `rotations: ${JSON.stringify(fhir.upkeep.stats)}`);
  } finally {
    await fhir.upkeep.stop();
  }
  assert.is(fhir.upkeep.stats.failures, 2, 'the two failed reads were logged and retried');
  const checks = fhir.upkeep.stats.checks;
  await new Promise((r) => setTimeout(r, 700)); // more than two check intervals
  assert.is(fhir.upkeep.stats.checks, checks, 'stop() ends the loop');
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const rotatedLines = logged.filter((l) => l.msg === 'refresh token rotated');
  assert.is(rotatedLines.length, fhir.upkeep.stats.rotations);
  assert.is(rotatedLines[0]!.from, 'bootstrap');
  assert.match(String(rotatedLines[1]!.to), /^rt-/);
  assert.is(logged.filter((l) => l.msg === 'refresh token upkeep failed; retrying').length, 2);
  assert.not.ok(lines.some((l) => l.includes('fmrt_')), 'no refresh token value in any log line');
  await new Promise((r) => setTimeout(r, PAST_GRACE_MS));
  assert.is(claims((await fhir.tokens.getToken(STORAGE)).token).appid, account.clientId);
  const states = await tokenStates('up-loop');
  assert.is(states.get((await fhir.repository.current()).tokenId), RefreshTokenState.REFRESH_TOKEN_STATE_ACTIVE);
  assert.not.ok([...states.values()].includes(RefreshTokenState.REFRESH_TOKEN_STATE_REVOKED));
});

test.run();
