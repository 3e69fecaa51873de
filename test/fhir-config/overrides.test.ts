/**
 * Account overrides on the effective configuration: an invalid set is rejected
 * whole with one log line and the previous values kept; accepted changes reach
 * listeners; the watch re-reads on a signal and survives read failures; the
 * redacted view hides secrets and names each export value's layer.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureLocalTls, type LocalTls } from '../../dev/certs.ts';
import { watchAccountOverrides, type AccountOverridesSource } from '../../fhir-server/config/account-overrides.ts';
import { EffectiveConfiguration, type ConfigurationSnapshot } from '../../fhir-server/config/effective-configuration.ts';
import type { ExportJobConfigurationOverrides } from '../../fhir-server/config/export-job-configuration.ts';
import { loadFhirServerConfig } from '../../fhir-server/config/load.ts';
import { loud } from '../support/hooks.ts';
import { memoryLogger, requiredEnv, secrets } from './support/config.ts';

let tls: LocalTls;

test.before(loud('before', async () => {
  tls = await ensureLocalTls();
}));

function fresh(extra: Record<string, string> = {}) {
  const log = memoryLogger();
  const effective = new EffectiveConfiguration(loadFhirServerConfig(undefined, requiredEnv(tls, extra)), log.logger);
  return { effective, log };
}

test('an invalid override set is rejected whole, with one log line naming each bad field; the previous values stay', () => {
  const { effective, log } = fresh();
  assert.equal(effective.applyOverrides({ maximumNumberOfConcurrentJobsAllowed: 3, jobPollingFrequencySeconds: 5 }, 'start-up'), { accepted: true, changed: ['maximumNumberOfConcurrentJobsAllowed', 'jobPollingFrequencySeconds'] });
  const before = effective.current();
  const changes: ConfigurationSnapshot[] = [];
  effective.onChange((current) => changes.push(current));
  const linesBefore = log.lines().length;

  const result = effective.applyOverrides(
    { maximumNumberOfConcurrentJobsAllowed: 8, maxJobRestartCount: 1000, storageAccountUri: 'http://insecure.example', numberOfPagesPerCommit: 2.5 },
    'routing server (interval)',
  );
  assert.is(result.accepted, false);
  const reasons = (result as { reasons: string[] }).reasons;
  assert.equal(reasons.length, 3);
  assert.match(reasons.join('\n'), /storageAccountUri: resource_uri must use https/);
  assert.match(reasons.join('\n'), /numberOfPagesPerCommit: must be an integer from 1 to 1000/);
  assert.match(reasons.join('\n'), /maxJobRestartCount: must be an integer from 0 to 100/);

  assert.is(effective.current(), before, 'the same frozen snapshot is kept');
  assert.is(effective.current().export.maximumNumberOfConcurrentJobsAllowed, 3, 'the valid field of the rejected set is not applied either');
  assert.equal(changes, []);
  const added = log.lines().slice(linesBefore);
  assert.is(added.length, 1);
  assert.is(added[0]!.msg, 'account export overrides rejected; keeping the previous configuration');
  assert.is(added[0]!.source, 'routing server (interval)');
  assert.ok(!log.text().includes('insecure.example'), 'values are not logged');
  const view = effective.redacted() as { lastRejectedOverrides: { reasons: string[] } };
  assert.equal(view.lastRejectedOverrides.reasons, reasons);
});

test('wrong types are refused: a number where a container name belongs, a string where a count belongs', () => {
  const { effective } = fresh();
  const result = effective.applyOverrides({ defaultContainer: 123, rollingFileSizeInMb: '64' } as unknown as ExportJobConfigurationOverrides, 'test');
  assert.equal(result, { accepted: false, reasons: ['rollingFileSizeInMb: must be an integer from 1 to 100000', 'defaultContainer: must be a string'] });
});

test('listeners hear accepted changes with the previous snapshot; an unchanged re-read notifies nobody', () => {
  const { effective } = fresh();
  const heard: Array<[number, number]> = [];
  const unsubscribe = effective.onChange((current, previous) => heard.push([current.export.rollingFileSizeInMb, previous.export.rollingFileSizeInMb]));
  effective.applyOverrides({ rollingFileSizeInMb: 32 }, 'a');
  effective.applyOverrides({ rollingFileSizeInMb: 32 }, 'b');
  assert.equal(heard, [[32, 64]]);
  assert.is(effective.current().overrides?.source, 'b');
  unsubscribe();
  effective.applyOverrides({}, 'c');
  assert.equal(heard, [[32, 64]]);
  assert.is(effective.current().export.rollingFileSizeInMb, 64);
});

test('the watch applies what the source returns, keeps the configuration when a read fails, and re-reads on SIGHUP', async () => {
  const { effective, log } = fresh();
  let answer: ExportJobConfigurationOverrides | Error = { numberOfPagesPerCommit: 20 };
  let reads = 0;
  // A port-level fake: the routing server client is exercised in routing-overrides.test.ts.
  const source: AccountOverridesSource = {
    async get() {
      reads += 1;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  const watch = watchAccountOverrides(effective, source, { logger: log.logger });
  try {
    assert.equal(await watch.refresh('start-up'), { accepted: true, changed: ['numberOfPagesPerCommit'] });
    assert.is(effective.current().overrides?.source, 'routing server (start-up)');
    answer = new Error('14 UNAVAILABLE: No connection established');
    const failed = await watch.refresh('interval');
    assert.equal(failed, { accepted: false, readFailed: true, reason: '14 UNAVAILABLE: No connection established' });
    assert.is(effective.current().export.numberOfPagesPerCommit, 20);

    answer = { numberOfPagesPerCommit: 30 };
    const changed = new Promise<number>((resolve) => effective.onChange((current) => resolve(current.export.numberOfPagesPerCommit)));
    // A signal handler does not keep the event loop alive; a guard timer does while the signal is on its way.
    const guard = setTimeout(() => undefined, 30_000);
    process.kill(process.pid, 'SIGHUP');
    assert.is(await changed.finally(() => clearTimeout(guard)), 30);
    assert.is(effective.current().overrides?.source, 'routing server (SIGHUP)');
    assert.is(reads, 3);
    const [a, b] = await Promise.all([watch.refresh(), watch.refresh()]);
    assert.is(a, b, 'concurrent refreshes share one read');
    assert.is(reads, 4);
  } finally {
    watch.stop();
  }
});

test('the redacted view hides secrets and shows each export value with its layer', () => {
  const { effective } = fresh({ FHIR_EXPORT_ROLLING_FILE_SIZE_IN_MB: '16' });
  effective.applyOverrides({ maxJobRestartCount: 3 }, 'routing server (start-up)');
  const view = effective.redacted() as {
    settings: { cosmos: { key: string; endpoint: string }; routing: { refreshToken: string; accountName: string } };
    export: Record<string, { value: unknown; source: string }>;
    accountOverrides: { source: string; fields: string[] };
  };
  const text = JSON.stringify(view);
  assert.ok(!text.includes(secrets.cosmosKey));
  assert.ok(!text.includes(secrets.refreshToken));
  assert.is(view.settings.cosmos.key, '[redacted]');
  assert.is(view.settings.routing.refreshToken, '[redacted]');
  assert.is(view.settings.routing.accountName, 'contoso');
  assert.equal(view.export.rollingFileSizeInMb, { value: 16, source: 'environment' });
  assert.equal(view.export.maxJobRestartCount, { value: 3, source: 'account' });
  assert.equal(view.export.numberOfPagesPerCommit, { value: 10, source: 'default' });
  assert.equal(view.export.storageAccountUri, { value: null, source: 'default' });
  assert.equal(view.accountOverrides.fields, ['maxJobRestartCount']);
  assert.ok(Object.isFrozen(effective.current().settings.cosmos), 'redaction copies, the settings stay as they are');
  assert.is(effective.current().settings.cosmos.key, secrets.cosmosKey);
});

test.run();
