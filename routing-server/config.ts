/** The routing server's settings: defaults < config file < environment. */
import { readFileSync } from 'node:fs';
import { loadSettings, type SettingsOf, type SettingsSchema } from '../common/config.ts';

/** Every setting of the routing server, with its environment name and default. */
export const routingSettingsSchema = {
  listen: {
    host: { type: 'string', env: 'ROUTING_HOST', default: '127.0.0.1', doc: 'Address to listen on' },
    port: { type: 'int', env: 'ROUTING_PORT', default: 7443, min: 0, max: 65535, doc: 'gRPC (TLS) port; 0 picks a free one' },
  },
  tls: {
    certFile: { type: 'file', env: 'ROUTING_TLS_CERT_FILE', required: true, doc: 'Server certificate chain (PEM)' },
    keyFile: { type: 'file', env: 'ROUTING_TLS_KEY_FILE', required: true, doc: 'Server private key (PEM)' },
    clientCaFile: { type: 'file', env: 'ROUTING_TLS_CLIENT_CA_FILE', doc: 'CA for optional client certificates' },
    requireClientCertificate: { type: 'bool', env: 'ROUTING_TLS_REQUIRE_CLIENT_CERT', default: false, doc: 'Refuse clients without a certificate' },
  },
  trust: {
    caFile: { type: 'file', env: 'ROUTING_TRUST_CA_FILE', doc: 'Extra CA (PEM) trusted for Cosmos, Key Vault and Entra ID (private endpoints, local stand-ins)' },
  },
  cosmos: {
    endpoint: { type: 'url', env: 'ROUTING_COSMOS_ENDPOINT', required: true, doc: 'Global registry Cosmos DB endpoint' },
    key: { type: 'string', env: 'ROUTING_COSMOS_KEY', secret: true, doc: 'Cosmos DB key (omit to use the server identity)' },
    database: { type: 'string', env: 'ROUTING_COSMOS_DATABASE', default: 'registry', doc: 'Registry database' },
    accountsContainer: { type: 'string', env: 'ROUTING_COSMOS_ACCOUNTS_CONTAINER', default: 'accounts', doc: 'Container of Account and ManagedIdentityMetadata documents' },
    refreshTokensContainer: { type: 'string', env: 'ROUTING_COSMOS_REFRESH_TOKENS_CONTAINER', default: 'refreshTokens', doc: 'Container of refresh token hashes' },
  },
  keyVault: {
    url: { type: 'url', env: 'ROUTING_KEYVAULT_URL', required: true, doc: 'Key Vault holding managed-identity credentials (mi-secretName)' },
  },
  entra: {
    authorityHost: { type: 'url', env: 'ROUTING_ENTRA_AUTHORITY_HOST', default: 'https://login.microsoftonline.com', doc: 'Entra ID authority host' },
  },
  serverIdentity: {
    tenantId: { type: 'string', env: 'ROUTING_IDENTITY_TENANT_ID', required: true, doc: "Tenant of the routing server's own identity (reads Key Vault)" },
    clientId: { type: 'string', env: 'ROUTING_IDENTITY_CLIENT_ID', required: true, doc: "Client id of the routing server's own identity" },
    clientSecret: { type: 'string', env: 'ROUTING_IDENTITY_CLIENT_SECRET', secret: true, doc: 'Its client secret (or give a certificate file)' },
    certificateFile: { type: 'file', env: 'ROUTING_IDENTITY_CERTIFICATE_FILE', doc: 'Its PEM certificate + key' },
  },
  admin: {
    tenantId: { type: 'string', env: 'ROUTING_ADMIN_TENANT_ID', required: true, doc: 'Tenant whose tokens the admin API accepts' },
    audience: { type: 'string', env: 'ROUTING_ADMIN_AUDIENCE', default: 'api://fhirmesh-routing', doc: 'Audience (app id URI) of admin tokens' },
    role: { type: 'string', env: 'ROUTING_ADMIN_ROLE', default: 'Routing.Admin', doc: 'App role an admin token must carry' },
  },
  cache: {
    maxTokens: { type: 'int', env: 'ROUTING_CACHE_MAX_TOKENS', default: 10_000, min: 1, max: 10_000_000, doc: 'Cached (account, resource) tokens' },
    accountSeconds: { type: 'int', env: 'ROUTING_CACHE_ACCOUNT_SECONDS', default: 10, min: 1, max: 3600, doc: 'Account documents are re-read after this' },
    refreshTokenSeconds: { type: 'int', env: 'ROUTING_CACHE_REFRESH_TOKEN_SECONDS', default: 5, min: 0, max: 300, doc: 'Refresh-token validations are re-checked after this (revocation delay)' },
    credentialSeconds: { type: 'int', env: 'ROUTING_CACHE_CREDENTIAL_SECONDS', default: 900, min: 1, max: 86_400, doc: 'Key Vault is re-read for an identity after this' },
    staleIfErrorSeconds: {
      type: 'int', env: 'ROUTING_CACHE_STALE_IF_ERROR_SECONDS', default: 900, min: 0, max: 86_400,
      doc: 'While the registry (Cosmos DB) is unreachable, accounts and refresh tokens read this recently still authenticate callers',
    },
  },
  refreshTokens: {
    lifetimeSeconds: { type: 'int', env: 'ROUTING_REFRESH_TOKEN_LIFETIME_SECONDS', default: 30 * 86_400, min: 60, max: 400 * 86_400, doc: 'Lifetime of a new refresh token' },
    graceSeconds: { type: 'int', env: 'ROUTING_REFRESH_TOKEN_GRACE_SECONDS', default: 120, min: 0, max: 3600, doc: 'A rotated-out token stays valid this long' },
  },
  metrics: {
    enabled: { type: 'bool', env: 'ROUTING_METRICS_ENABLED', default: false, doc: 'Serve Prometheus metrics at https://<metrics.host>:<metrics.port>/metrics (same TLS certificate)' },
    host: { type: 'string', env: 'ROUTING_METRICS_HOST', default: '127.0.0.1', doc: 'Address of the metrics listener' },
    port: { type: 'int', env: 'ROUTING_METRICS_PORT', default: 9464, min: 0, max: 65535, doc: 'Port of the metrics listener; 0 picks a free one' },
    bearerToken: { type: 'string', env: 'ROUTING_METRICS_BEARER_TOKEN', secret: true, doc: 'If set, scrapes must send "authorization: Bearer <it>"' },
  },
  shutdownGraceSeconds: { type: 'int', env: 'ROUTING_SHUTDOWN_GRACE_SECONDS', default: 10, min: 0, max: 600, doc: 'Calls in flight may finish this long on shutdown' },
  logLevel: { type: 'string', env: 'ROUTING_LOG_LEVEL', default: 'info', doc: 'pino log level' },
} satisfies SettingsSchema;

/** Effective routing server settings. */
export type RoutingConfig = SettingsOf<typeof routingSettingsSchema>;

/** Loads the settings from `configFile` (optional JSON) and the environment. */
export function loadRoutingConfig(configFile?: string, env: NodeJS.ProcessEnv = process.env): RoutingConfig {
  const file = configFile ? (JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>) : {};
  const config = loadSettings(routingSettingsSchema, file, env);
  if (!config.serverIdentity.clientSecret && !config.serverIdentity.certificateFile) {
    throw new Error('invalid configuration: set ROUTING_IDENTITY_CLIENT_SECRET or ROUTING_IDENTITY_CERTIFICATE_FILE');
  }
  return config;
}
