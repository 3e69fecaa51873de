/**
 * fhir-server configuration: defaults < config file < environment < account
 * overrides, with the layer of each export value; invalid values fail naming
 * the setting; the result is deep-frozen.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../common/config.ts';
import { ensureLocalTls, type LocalTls } from '../../dev/certs.ts';
import { EffectiveConfiguration } from '../../fhir-server/config/effective-configuration.ts';
import { loadFhirServerConfig } from '../../fhir-server/config/load.ts';
import { describeFhirSettings, fhirSettingsSchema } from '../../fhir-server/config/schema.ts';
import { loud } from '../support/hooks.ts';
import { configFile, requiredEnv, thrownMessage } from './support/config.ts';

let tls: LocalTls;

test.before(loud('before', async () => {
  tls = await ensureLocalTls();
}));

test('with only the required settings, every other value is its documented default', () => {
  const loaded = loadFhirServerConfig(undefined, requiredEnv(tls));
  assert.is(loaded.settings.listen.port, 8443);
  assert.is(loaded.settings.auth.audience, 'api://fhirmesh-fhir');
  assert.equal(loaded.settings.auth.roles, { read: 'Fhir.Read', write: 'Fhir.Write', export: 'Fhir.Export', admin: 'Fhir.Admin' });
  assert.is(loaded.settings.auth.disabled, false);
  assert.equal(loaded.export, {
    storageAccountUri: undefined,
    maximumNumberOfConcurrentJobsAllowed: 4,
    maximumNumberOfConcurrentJobsPerClient: 2,
    destinationTimeoutSeconds: 300,
    jobHeartbeatTimeoutThresholdSeconds: 600,
    jobPollingFrequencySeconds: 60,
    maximumNumberOfResourcesPerQuery: 10_000,
    numberOfPagesPerCommit: 10,
    rollingFileSizeInMb: 64,
    maxJobRestartCount: 64,
    defaultContainer: 'fhir-export',
    outputExpirySeconds: 86_400,
    manifestSasUrls: false,
    sasUrlLifetimeSeconds: 3600,
  });
  assert.ok(Object.values(loaded.exportSources).every((source) => source === 'default'));
});

test('the config file beats defaults, the environment beats the file, account overrides beat the environment', () => {
  const file = configFile({
    listen: { port: 9443 },
    export: { rollingFileSizeInMb: 8, numberOfPagesPerCommit: 3, maxJobRestartCount: 5, storageAccountUri: 'https://filestore.blob.core.windows.net/' },
  });
  const env = requiredEnv(tls, { FHIR_EXPORT_NUMBER_OF_PAGES_PER_COMMIT: '4', FHIR_EXPORT_MAX_JOB_RESTART_COUNT: '6', FHIR_PORT: '10443' });
  const loaded = loadFhirServerConfig(file, env);
  assert.is(loaded.settings.listen.port, 10443);
  assert.is(loaded.export.rollingFileSizeInMb, 8);
  assert.is(loaded.exportSources.rollingFileSizeInMb, 'file');
  assert.is(loaded.export.numberOfPagesPerCommit, 4);
  assert.is(loaded.exportSources.numberOfPagesPerCommit, 'environment');
  assert.is(loaded.export.storageAccountUri, 'https://filestore.blob.core.windows.net', 'normalised like the routing server does');
  assert.is(loaded.exportSources.jobPollingFrequencySeconds, 'default');

  const effective = new EffectiveConfiguration(loaded);
  const result = effective.applyOverrides({ maxJobRestartCount: 7, rollingFileSizeInMb: 16, defaultContainer: 'contoso-out' }, 'test');
  assert.equal(result, { accepted: true, changed: ['rollingFileSizeInMb', 'maxJobRestartCount', 'defaultContainer'] });
  const current = effective.current();
  assert.is(current.export.maxJobRestartCount, 7);
  assert.is(current.exportSources.maxJobRestartCount, 'account');
  assert.is(current.export.rollingFileSizeInMb, 16);
  assert.is(current.exportSources.rollingFileSizeInMb, 'account');
  assert.is(current.export.numberOfPagesPerCommit, 4, 'not overridden: the environment value stays');
  assert.is(current.exportSources.numberOfPagesPerCommit, 'environment');
  assert.is(current.export.defaultContainer, 'contoso-out');

  // The next read no longer overrides rollingFileSizeInMb: it falls back to the file's value.
  effective.applyOverrides({ maxJobRestartCount: 7, defaultContainer: 'contoso-out' }, 'test');
  assert.is(effective.current().export.rollingFileSizeInMb, 8);
  assert.is(effective.current().exportSources.rollingFileSizeInMb, 'file');
});

test('an invalid environment value fails naming the setting and its variable; every problem is listed', () => {
  const message = thrownMessage(() =>
    loadFhirServerConfig(undefined, requiredEnv(tls, { FHIR_PORT: 'eighty', FHIR_AUTH_DISABLED: 'maybe', FHIR_EXPORT_MAXIMUM_NUMBER_OF_CONCURRENT_JOBS_ALLOWED: '500' })),
  );
  assert.match(message, /listen\.port \(FHIR_PORT\) must be an integer/);
  assert.match(message, /auth\.disabled \(FHIR_AUTH_DISABLED\) must be true or false/);
  // loadSettings stops at its own problems; the export bound is checked once those are fixed.
  const bound = thrownMessage(() => loadFhirServerConfig(undefined, requiredEnv(tls, { FHIR_EXPORT_MAXIMUM_NUMBER_OF_CONCURRENT_JOBS_ALLOWED: '500' })));
  assert.match(bound, /export\.maximumNumberOfConcurrentJobsAllowed \(FHIR_EXPORT_MAXIMUM_NUMBER_OF_CONCURRENT_JOBS_ALLOWED\) from the environment: must be an integer from 1 to 64/);
  const uri = thrownMessage(() => loadFhirServerConfig(undefined, requiredEnv(tls, { FHIR_EXPORT_STORAGE_ACCOUNT_URI: 'http://plain.blob.core.windows.net' })));
  assert.match(uri, /export\.storageAccountUri \(FHIR_EXPORT_STORAGE_ACCOUNT_URI\) must be an https URL/);
});

test('an invalid config file value fails naming the setting; unknown keys, bad JSON and missing files are refused', () => {
  const bounds = thrownMessage(() => loadFhirServerConfig(configFile({ export: { rollingFileSizeInMb: 0, defaultContainer: 'Not_A_Container' } }), requiredEnv(tls)));
  assert.match(bounds, /export\.rollingFileSizeInMb \(FHIR_EXPORT_ROLLING_FILE_SIZE_IN_MB\) from the file: must be an integer from 1 to 100000/);
  assert.match(bounds, /export\.defaultContainer \(FHIR_EXPORT_DEFAULT_CONTAINER\) from the file: must be a storage container name/);
  assert.match(thrownMessage(() => loadFhirServerConfig(configFile({ listen: { port: 'x' } }), requiredEnv(tls))), /listen\.port \(FHIR_PORT\) must be an integer/);
  assert.match(thrownMessage(() => loadFhirServerConfig(configFile({ export: { rollingFileSize: 3 } }), requiredEnv(tls))), /unknown setting "export\.rollingFileSize"/);
  assert.match(thrownMessage(() => loadFhirServerConfig(configFile('{ "listen": '), requiredEnv(tls))), /is not valid JSON/);
  assert.match(thrownMessage(() => loadFhirServerConfig(configFile('[1]'), requiredEnv(tls))), /must hold a JSON object/);
  assert.match(thrownMessage(() => loadFhirServerConfig('/nonexistent/fhir.json', requiredEnv(tls))), /config file \/nonexistent\/fhir\.json cannot be read \(ENOENT\)/);
});

test('required settings, readable files, host:port and the tenant (unless auth is disabled) are checked', () => {
  const env = requiredEnv(tls, { FHIR_TLS_KEY_FILE: '/nonexistent/key.pem', FHIR_ROUTING_ADDRESS: 'https://routing:7443', FHIR_AUTH_TENANT_ID: '' });
  const message = thrownMessage(() => loadFhirServerConfig(undefined, env));
  assert.match(message, /tls\.keyFile \(FHIR_TLS_KEY_FILE\) names a file that cannot be read/);
  assert.match(message, /routing\.address \(FHIR_ROUTING_ADDRESS\) must be host:port/);
  assert.match(message, /auth\.tenantId \(FHIR_AUTH_TENANT_ID\) is required unless auth\.disabled/);
  const { FHIR_ROUTING_REFRESH_TOKEN: _omitted, ...withoutToken } = requiredEnv(tls);
  assert.match(thrownMessage(() => loadFhirServerConfig(undefined, withoutToken)), /routing\.refreshToken is required \(set FHIR_ROUTING_REFRESH_TOKEN/);
  const disabled = loadFhirServerConfig(undefined, requiredEnv(tls, { FHIR_AUTH_TENANT_ID: '', FHIR_AUTH_DISABLED: 'true', FHIR_ROUTING_ADDRESS: '[::1]:7443' }));
  assert.is(disabled.settings.auth.disabled, true);
  assert.throws(() => loadFhirServerConfig(undefined, env), (err: unknown) => err instanceof ConfigError);
});

test('loaded settings and every snapshot are deep-frozen', () => {
  const loaded = loadFhirServerConfig(configFile({ export: { numberOfPagesPerCommit: 2 } }), requiredEnv(tls));
  const effective = new EffectiveConfiguration(loaded);
  effective.applyOverrides({ numberOfPagesPerCommit: 9 }, 'test');
  const snapshot = effective.current();
  for (const object of [loaded, loaded.settings, loaded.settings.auth.roles, loaded.export, snapshot, snapshot.export, snapshot.exportSources, snapshot.overrides!, snapshot.overrides!.values]) {
    assert.ok(Object.isFrozen(object));
  }
  assert.throws(() => {
    (snapshot.export as { numberOfPagesPerCommit: number }).numberOfPagesPerCommit = 1;
  }, TypeError);
  assert.throws(() => {
    (loaded.settings.auth.roles as { admin: string }).admin = 'Everyone';
  }, TypeError);
  assert.is(effective.current().export.numberOfPagesPerCommit, 9);
});

test('the settings table documents every environment variable with its default', () => {
  const table = describeFhirSettings();
  const envNames: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    for (const child of Object.values(node) as Array<Record<string, unknown>>) {
      if (typeof child.env === 'string') envNames.push(child.env);
      else walk(child);
    }
  };
  walk(fhirSettingsSchema);
  for (const name of envNames) assert.ok(table.includes(`\`${name}\``), name);
  assert.ok(envNames.every((name) => name.startsWith('FHIR_')));
  assert.match(table, /\| `export\.rollingFileSizeInMb` \| `FHIR_EXPORT_ROLLING_FILE_SIZE_IN_MB` \| `64` \|/);
});

test.run();
