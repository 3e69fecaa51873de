/**
 * Every setting of the fhir-server, declared once: environment name (`FHIR_*`),
 * type, default and doc. Layers: built-in defaults < config file (JSON) <
 * environment; the account's export overrides come on top (see
 * effective-configuration.ts). The export block mirrors the microsoft/fhir-server
 * `ExportJobConfiguration` (its defaults; names as in the routing contract).
 */
import { describeSettings, type SettingsOf, type SettingsSchema } from '../../common/config.ts';

/** The fhir-server settings schema. */
export const fhirSettingsSchema = {
  listen: {
    host: { type: 'string', env: 'FHIR_HOST', default: '127.0.0.1', doc: 'Address to listen on' },
    port: { type: 'int', env: 'FHIR_PORT', default: 8443, min: 0, max: 65535, doc: 'HTTPS port (the server never serves plain HTTP); 0 picks a free one' },
    grpcPort: { type: 'int', env: 'FHIR_GRPC_PORT', default: 8444, min: 0, max: 65535, doc: 'gRPC (TLS) port of ExportService; 0 picks a free one' },
  },
  tls: {
    certFile: { type: 'file', env: 'FHIR_TLS_CERT_FILE', required: true, doc: 'Server certificate chain (PEM)' },
    keyFile: { type: 'file', env: 'FHIR_TLS_KEY_FILE', required: true, doc: 'Server private key (PEM)' },
  },
  publicBaseUrl: {
    type: 'url', env: 'FHIR_PUBLIC_BASE_URL',
    doc: "FHIR base URL as clients see it (links, Location, manifests, SMART issuer); default: what a trusted proxy forwards, else the listening address (on every interface: the certificate's name) — never the request's Host header",
  },
  trustedProxies: {
    type: 'string', env: 'FHIR_TRUSTED_PROXIES',
    doc: 'Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-Proto/-Host (or Forwarded) headers set link URLs when publicBaseUrl is not set; anyone else\'s are ignored',
  },
  trust: {
    caFile: { type: 'file', env: 'FHIR_TRUST_CA_FILE', doc: 'Extra CA (PEM) trusted for Cosmos DB, Entra ID, Key Vault and Storage (private endpoints, local stand-ins)' },
  },
  cosmos: {
    endpoint: { type: 'url', env: 'FHIR_COSMOS_ENDPOINT', required: true, doc: "Cosmos DB endpoint of the account's database" },
    key: { type: 'string', env: 'FHIR_COSMOS_KEY', secret: true, doc: 'Cosmos DB key' },
    database: { type: 'string', env: 'FHIR_COSMOS_DATABASE', default: 'fhir', doc: "The account's database" },
    resourcesContainer: { type: 'string', env: 'FHIR_COSMOS_RESOURCES_CONTAINER', default: 'resource-versions', doc: 'Container of FHIR resource versions (layout 2; data of earlier releases in `resources` is migrated with npm run migrate-store)' },
    jobsContainer: { type: 'string', env: 'FHIR_COSMOS_JOBS_CONTAINER', default: 'exportJobs', doc: 'Container of export JobRecords' },
  },
  routing: {
    address: { type: 'string', env: 'FHIR_ROUTING_ADDRESS', required: true, doc: 'Routing server host:port (gRPC over TLS)' },
    caFile: { type: 'file', env: 'FHIR_ROUTING_CA_FILE', doc: 'CA (PEM) of the routing server certificate; default: trust.caFile, then the system CAs' },
    refreshToken: { type: 'string', env: 'FHIR_ROUTING_REFRESH_TOKEN', required: true, secret: true, doc: "The account's bootstrap refresh token for the routing server" },
    accountName: { type: 'string', env: 'FHIR_ROUTING_ACCOUNT_NAME', required: true, doc: 'Account this FHIR service belongs to' },
    overridesRefreshSeconds: {
      type: 'int', env: 'FHIR_ROUTING_OVERRIDES_REFRESH_SECONDS', default: 300, min: 0, max: 86_400,
      doc: "Re-read the account's export overrides this often (0: only at start-up and on SIGHUP)",
    },
    startupWaitSeconds: {
      type: 'int', env: 'FHIR_ROUTING_STARTUP_WAIT_SECONDS', default: 30, min: 1, max: 3_600,
      doc: "At start-up, wait this long for the routing server (the account's export overrides); then start with the service's own settings and keep retrying in the background",
    },
    tokenWaitSeconds: {
      type: 'int', env: 'FHIR_ROUTING_TOKEN_WAIT_SECONDS', default: 120, min: 1, max: 3_600,
      doc: 'A storage token request retries (with backoff) this long while the routing server is unreachable; an outage shorter than this never fails an export',
    },
    healthCheckSeconds: {
      type: 'int', env: 'FHIR_ROUTING_HEALTH_CHECK_SECONDS', default: 15, min: 1, max: 3_600,
      doc: 'How often /health asks the routing server whether it accepts this service (unreachable, or its refresh token refused: degraded)',
    },
  },
  auth: {
    disabled: { type: 'bool', env: 'FHIR_AUTH_DISABLED', default: false, doc: 'Turns REST authentication off (local experiments only; logged loudly)' },
    authorityHost: { type: 'url', env: 'FHIR_AUTH_AUTHORITY_HOST', default: 'https://login.microsoftonline.com', doc: 'Entra ID authority host' },
    tenantId: { type: 'string', env: 'FHIR_AUTH_TENANT_ID', doc: 'Entra ID tenant whose tokens are accepted (required unless auth.disabled)' },
    audience: { type: 'string', env: 'FHIR_AUTH_AUDIENCE', default: 'api://fhirmesh-fhir', doc: "Accepted token audience (the API's app id URI)" },
    clientId: { type: 'string', env: 'FHIR_AUTH_CLIENT_ID', doc: "The API's application id, also accepted as audience" },
    roles: {
      read: { type: 'string', env: 'FHIR_AUTH_ROLE_READ', default: 'Fhir.Read', doc: 'App role (or delegated scope) for reads' },
      write: { type: 'string', env: 'FHIR_AUTH_ROLE_WRITE', default: 'Fhir.Write', doc: 'App role (or delegated scope) for writes' },
      export: { type: 'string', env: 'FHIR_AUTH_ROLE_EXPORT', default: 'Fhir.Export', doc: 'App role (or delegated scope) for $export' },
      admin: { type: 'string', env: 'FHIR_AUTH_ROLE_ADMIN', default: 'Fhir.Admin', doc: 'App role (or delegated scope) for /_admin' },
    },
  },
  keyVault: {
    url: { type: 'url', env: 'FHIR_KEYVAULT_URL', doc: 'Key Vault holding client-supplied export destinations; without it such kick-offs are refused' },
    tenantId: { type: 'string', env: 'FHIR_KEYVAULT_TENANT_ID', doc: "Tenant of the FHIR service's own identity for that Key Vault" },
    clientId: { type: 'string', env: 'FHIR_KEYVAULT_CLIENT_ID', doc: "Client id of the FHIR service's own identity for that Key Vault" },
    clientSecret: { type: 'string', env: 'FHIR_KEYVAULT_CLIENT_SECRET', secret: true, doc: 'Its client secret (or a certificate file)' },
    certificateFile: { type: 'file', env: 'FHIR_KEYVAULT_CERTIFICATE_FILE', doc: 'Its PEM certificate + key' },
    allowedDestinationHosts: {
      type: 'string', env: 'FHIR_EXPORT_ALLOWED_DESTINATION_HOSTS',
      doc: 'Comma-separated host:port endpoints that client-supplied export destinations and SMART jwks_uri fetches may reach even when loopback or private (local testing only)',
    },
  },
  smart: {
    enabled: { type: 'bool', env: 'FHIR_SMART_ENABLED', default: true, doc: 'SMART Backend Services: discovery, token endpoint, client registry and SMART bearer tokens' },
    accessTokenLifetimeSeconds: { type: 'int', env: 'FHIR_SMART_ACCESS_TOKEN_LIFETIME_SECONDS', default: 300, min: 30, max: 300, doc: 'Lifetime of a SMART access token' },
    signingKeyFile: { type: 'file', env: 'FHIR_SMART_SIGNING_KEY_FILE', doc: 'PEM private key (EC P-384 or RSA) signing SMART access tokens; default: the Key Vault secret' },
    previousSigningKeyFile: { type: 'file', env: 'FHIR_SMART_PREVIOUS_SIGNING_KEY_FILE', doc: 'The previous signing key (PEM), still accepted for verification after a rotation' },
    signingKeySecretName: { type: 'string', env: 'FHIR_SMART_SIGNING_KEY_SECRET_NAME', default: 'fhir-smart-signing-key', doc: 'Key Vault secret (keyVault.*) holding the signing key; created on first start' },
    keyRefreshSeconds: { type: 'int', env: 'FHIR_SMART_KEY_REFRESH_SECONDS', default: 600, min: 30, max: 86_400, doc: 'Re-read the signing keys this often (picks up a rotation)' },
    replayCacheSize: { type: 'int', env: 'FHIR_SMART_REPLAY_CACHE_SIZE', default: 100_000, min: 1000, max: 10_000_000, doc: 'Client assertion ids (jti) remembered per instance until they expire' },
    clientCacheSeconds: {
      type: 'int', env: 'FHIR_SMART_CLIENT_CACHE_SECONDS', default: 5, min: 1, max: 60,
      doc: "Each instance re-reads a client's registration this often: a client deleted or disabled on one instance has its tokens refused on every other within this time (at once on its own)",
    },
  },
  export: {
    storageAccountUri: { type: 'url', env: 'FHIR_EXPORT_STORAGE_ACCOUNT_URI', doc: 'Default storage account (blob endpoint URI) for exports that name no destination' },
    maximumNumberOfConcurrentJobsAllowed: {
      type: 'int', env: 'FHIR_EXPORT_MAXIMUM_NUMBER_OF_CONCURRENT_JOBS_ALLOWED', default: 4,
      doc: "Export jobs the account may have queued or running at once (across instances; past it a kick-off gets 429); also the work items one instance runs at once",
    },
    maximumNumberOfConcurrentJobsPerClient: {
      type: 'int', env: 'FHIR_EXPORT_MAXIMUM_NUMBER_OF_CONCURRENT_JOBS_PER_CLIENT', default: 2, min: 1, max: 1000,
      doc: 'Export jobs one client (token principal) may have queued or running at once (past it 429); keep it below the account limit so no client can take every slot',
    },
    destinationTimeoutSeconds: {
      type: 'int', env: 'FHIR_EXPORT_DESTINATION_TIMEOUT_SECONDS', default: 300, min: 1, max: 86_400,
      doc: "A job whose destination (Blob Storage, or Key Vault for a client's destination) completes none of its requests for this long fails with 504 naming it; a request without an answer is abandoned after it (time waiting for a storage token is not counted: routing.tokenWaitSeconds bounds that, and then fails the job too)",
    },
    jobHeartbeatTimeoutThresholdSeconds: { type: 'int', env: 'FHIR_EXPORT_JOB_HEARTBEAT_TIMEOUT_THRESHOLD_SECONDS', default: 600, doc: 'Seconds without a heartbeat after which another worker takes a job over' },
    jobPollingFrequencySeconds: { type: 'int', env: 'FHIR_EXPORT_JOB_POLLING_FREQUENCY_SECONDS', default: 60, doc: 'Seconds between queue polls of an idle worker' },
    maximumNumberOfResourcesPerQuery: { type: 'int', env: 'FHIR_EXPORT_MAXIMUM_NUMBER_OF_RESOURCES_PER_QUERY', default: 10_000, doc: 'Resources read per store query (page size)' },
    numberOfPagesPerCommit: { type: 'int', env: 'FHIR_EXPORT_NUMBER_OF_PAGES_PER_COMMIT', default: 10, doc: 'Pages written between progress checkpoints' },
    rollingFileSizeInMb: { type: 'int', env: 'FHIR_EXPORT_ROLLING_FILE_SIZE_IN_MB', default: 64, doc: 'Size in MiB at which an output file is closed and the next started' },
    maxJobRestartCount: { type: 'int', env: 'FHIR_EXPORT_MAX_JOB_RESTART_COUNT', default: 64, doc: 'Times a job may be taken over before it fails' },
    defaultContainer: { type: 'string', env: 'FHIR_EXPORT_DEFAULT_CONTAINER', default: 'fhir-export', doc: 'Container for exports that name none' },
    outputExpirySeconds: { type: 'int', env: 'FHIR_EXPORT_OUTPUT_EXPIRY_SECONDS', default: 86_400, min: 60, max: 90 * 86_400, doc: 'Output files may be deleted this long after a job completes' },
    manifestSasUrls: { type: 'bool', env: 'FHIR_EXPORT_MANIFEST_SAS_URLS', default: false, doc: 'Manifest lists short-lived SAS URLs instead of download URLs that need a bearer token' },
    sasUrlLifetimeSeconds: { type: 'int', env: 'FHIR_EXPORT_SAS_URL_LIFETIME_SECONDS', default: 3600, min: 60, max: 7 * 86_400, doc: 'Lifetime of a manifest SAS URL (user delegation SAS: at most 7 days)' },
  },
  history: {
    retentionDays: {
      type: 'int', env: 'FHIR_HISTORY_RETENTION_DAYS', default: 0, min: 0, max: 36_500,
      doc: 'Replaced versions are purged this many days after they were replaced, never while a running export needs them; 0 keeps every version',
    },
  },
  shutdownGraceSeconds: { type: 'int', env: 'FHIR_SHUTDOWN_GRACE_SECONDS', default: 10, min: 0, max: 600, doc: 'On SIGTERM/SIGINT the whole stop keeps to this: new requests get 503, export workers checkpoint and give their items back, requests in flight finish (the process exits at most 5 s later regardless)' },
  logLevel: { type: 'string', env: 'FHIR_LOG_LEVEL', default: 'info', doc: 'pino log level' },
} satisfies SettingsSchema;

/** Settings as loaded from defaults, file and environment (before account overrides). */
export type FhirSettings = SettingsOf<typeof fhirSettingsSchema>;

/** The settings as a Markdown table (setting, environment, default, meaning) for the documentation. */
export function describeFhirSettings(): string {
  return ['| Setting | Environment | Default | Meaning |', '|---|---|---|---|', ...describeSettings(fhirSettingsSchema)].join('\n');
}

const exportSchema = fhirSettingsSchema.export;

/** Built-in defaults of the export settings: their one source (the export engine's defaults and bench:export take them from here). */
export const exportSettingDefaults = Object.freeze({
  maximumNumberOfConcurrentJobsAllowed: exportSchema.maximumNumberOfConcurrentJobsAllowed.default,
  maximumNumberOfConcurrentJobsPerClient: exportSchema.maximumNumberOfConcurrentJobsPerClient.default,
  destinationTimeoutSeconds: exportSchema.destinationTimeoutSeconds.default,
  jobHeartbeatTimeoutThresholdSeconds: exportSchema.jobHeartbeatTimeoutThresholdSeconds.default,
  jobPollingFrequencySeconds: exportSchema.jobPollingFrequencySeconds.default,
  maximumNumberOfResourcesPerQuery: exportSchema.maximumNumberOfResourcesPerQuery.default,
  numberOfPagesPerCommit: exportSchema.numberOfPagesPerCommit.default,
  rollingFileSizeInMb: exportSchema.rollingFileSizeInMb.default,
  maxJobRestartCount: exportSchema.maxJobRestartCount.default,
  defaultContainer: exportSchema.defaultContainer.default,
  outputExpirySeconds: exportSchema.outputExpirySeconds.default,
  manifestSasUrls: exportSchema.manifestSasUrls.default,
  sasUrlLifetimeSeconds: exportSchema.sasUrlLifetimeSeconds.default,
  /** routing.tokenWaitSeconds: how long the engine waits for a storage token before it fails a job. */
  tokenWaitSeconds: fhirSettingsSchema.routing.tokenWaitSeconds.default,
});
