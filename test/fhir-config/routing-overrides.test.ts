/**
 * The account's export overrides as the routing server serves them
 * (AccountConfigurationService over TLS, authenticated by the account's refresh
 * token) become effective values on top of the environment; a later change is
 * picked up by the next read; a failed read keeps the configuration.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { startRoutingSetup, type ProvisionedAccount, type RoutingSetup } from '../../dev/routing-setup.ts';
import { watchAccountOverrides, type AccountOverridesSource } from '../../fhir-server/config/account-overrides.ts';
import { EffectiveConfiguration } from '../../fhir-server/config/effective-configuration.ts';
import { loadFhirServerConfig } from '../../fhir-server/config/load.ts';
import { AccountConfigurationServiceClient } from '../../gen/fhirmesh/routing/v1/account_configuration_service.ts';
import { loud } from '../support/hooks.ts';
import { memoryLogger, requiredEnv } from './support/config.ts';

let setup: RoutingSetup;
let account: ProvisionedAccount;
let client: AccountConfigurationServiceClient;

test.before(loud('before', async () => {
  setup = await startRoutingSetup();
  account = await setup.provisionAccount('contoso-fhir', {
    exportJobConfiguration: { rollingFileSizeInMb: 4, maximumNumberOfConcurrentJobsAllowed: 3, storageAccountUri: `${setup.standIns.blob.blobUrl}/` },
  });
  client = new AccountConfigurationServiceClient(setup.address, tlsChannelCredentials(setup.standIns.tls.caPem));
}));
test.after(async () => {
  client?.close();
  await setup?.stop();
});

/** The generated client as an overrides source, authenticated by `refreshToken`. */
function sourceFor(refreshToken: string): AccountOverridesSource {
  return {
    get: async () => (await unaryCall(client.getAccountConfiguration, client, {}, bearerMetadata(refreshToken))).fhirProperties?.exportJobConfiguration,
  };
}

test('overrides read from the routing server at start-up beat the environment; a change is picked up by the next read', async () => {
  const env = requiredEnv(setup.standIns.tls, {
    FHIR_ROUTING_ADDRESS: setup.address,
    FHIR_ROUTING_ACCOUNT_NAME: account.name,
    FHIR_ROUTING_REFRESH_TOKEN: account.refreshToken,
    FHIR_EXPORT_ROLLING_FILE_SIZE_IN_MB: '32',
    FHIR_EXPORT_NUMBER_OF_PAGES_PER_COMMIT: '5',
  });
  const log = memoryLogger();
  const effective = new EffectiveConfiguration(loadFhirServerConfig(undefined, env), log.logger);
  const watch = watchAccountOverrides(effective, sourceFor(account.refreshToken), { logger: log.logger, signal: null });
  try {
    const started = await watch.refresh('start-up');
    assert.is(started.accepted, true);
    const first = effective.current();
    assert.is(first.export.rollingFileSizeInMb, 4);
    assert.is(first.exportSources.rollingFileSizeInMb, 'account');
    assert.is(first.export.maximumNumberOfConcurrentJobsAllowed, 3);
    assert.is(first.export.storageAccountUri, setup.standIns.blob.blobUrl.replace(/\/$/, ''));
    assert.is(first.exportSources.storageAccountUri, 'account');
    assert.is(first.export.numberOfPagesPerCommit, 5);
    assert.is(first.exportSources.numberOfPagesPerCommit, 'environment');

    const md = bearerMetadata(await setup.adminToken());
    const got = await unaryCall(setup.accounts.getAccount, setup.accounts, { name: account.name }, md);
    await unaryCall(setup.accounts.updateAccount, setup.accounts, {
      account: { ...got.account!, fhirProperties: { exportJobConfiguration: { maximumNumberOfConcurrentJobsAllowed: 3, maxJobRestartCount: 2 } } },
      updateMask: ['fhir_properties.export_job_configuration'],
    }, md);
    const next = await watch.refresh('interval');
    assert.equal(next, { accepted: true, changed: ['storageAccountUri', 'rollingFileSizeInMb', 'maxJobRestartCount'] });
    const second = effective.current();
    assert.is(second.export.rollingFileSizeInMb, 32, 'no longer overridden: back to the environment');
    assert.is(second.exportSources.rollingFileSizeInMb, 'environment');
    assert.is(second.export.maxJobRestartCount, 2);
    assert.is(second.export.storageAccountUri, undefined);

    const refused = watchAccountOverrides(effective, sourceFor('not-a-refresh-token'), { logger: log.logger, signal: null });
    const failed = await refused.refresh('interval');
    assert.is(failed.accepted, false);
    assert.match((failed as { reason: string }).reason, /UNAUTHENTICATED/);
    assert.is(effective.current(), second, 'the configuration is kept');
    assert.ok(!log.text().includes(account.refreshToken));
  } finally {
    watch.stop();
  }
});

test.run();
