/** Composition root of the routing server: config → adapters → domain → gRPC server. */
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { entraCredentialOptions } from '../common/auth/entra-credential-options.ts';
import { createEntraTokenVerifier } from '../common/auth/entra-token-verifier.ts';
import { createCosmosClient } from '../common/cosmos.ts';
import { isolatedHttpClient } from '../common/http/isolated-http-client.ts';
import { createLogger } from '../common/logging.ts';
import { startMetricsListener, type MetricsListener } from '../common/metrics/listener.ts';
import { CosmosAccountRegistry, REGISTRY_PARTITION_KEY } from './adapters/cosmos-registry.ts';
import { CosmosRefreshTokenStore, REFRESH_TOKEN_PARTITION_KEY } from './adapters/cosmos-refresh-tokens.ts';
import { EntraCredentialFactory } from './adapters/entra-credentials.ts';
import { KeyVaultIdentitySecretStore } from './adapters/keyvault-secrets.ts';
import { ObservedEntraCredential, type EntraAnswerObserver } from './adapters/entra-observed-credential.ts';
import { RegistryContainers } from './adapters/registry-containers.ts';
import { DependencyGate } from './domain/dependency-gate.ts';
import { ResilientAccountRegistry, ResilientRefreshTokenStore } from './domain/resilient-registry.ts';
import type { RoutingConfig } from './config.ts';
import { AccountAdmin } from './domain/account-admin.ts';
import { AccountCache } from './domain/account-cache.ts';
import { RefreshTokenManager } from './domain/refresh-tokens.ts';
import { ManagedIdentityResourceTokenProvider } from './domain/token-provider.ts';
import { TokenUseCases } from './domain/token-service.ts';
import { DependencyMonitor } from './observability/dependency-monitor.ts';
import { routingHealth } from './observability/health.ts';
import { RoutingMetrics } from './observability/metrics.ts';
import { entraAdminGuard } from './transport/admin-guard.ts';
import { buildRoutingServer } from './transport/server.ts';

/** A running routing server. */
export interface RunningRoutingServer {
  /** Bound port. */
  port: number;
  /** host:port to dial. */
  address: string;
  /** The token provider (cache counters for tests and metrics). */
  provider: ManagedIdentityResourceTokenProvider;
  /** The metrics registry and its listener's URL, when metrics are enabled. */
  metrics?: { registry: RoutingMetrics['registry']; url: string };
  /** Graceful stop: drain calls in flight, then close. */
  stop(): Promise<void>;
}

function serverCredential(config: RoutingConfig, caPem: string | undefined, httpClient: HttpClient): TokenCredential {
  return new ObservedEntraCredential((observer) => buildServerCredential(config, caPem, httpClient, observer));
}

function buildServerCredential(config: RoutingConfig, caPem: string | undefined, httpClient: HttpClient, observer: EntraAnswerObserver): TokenCredential {
  const { tenantId, clientId, clientSecret, certificateFile } = config.serverIdentity;
  const common = entraCredentialOptions({ authorityHost: config.entra.authorityHost!, caPem, httpClient });
  const options = { ...common, additionalPolicies: [...common.additionalPolicies, observer] };
  if (certificateFile) return new ClientCertificateCredential(tenantId!, clientId!, { certificate: readFileSync(certificateFile, 'utf8') }, options);
  return new ClientSecretCredential(tenantId!, clientId!, clientSecret!, options);
}

/** Starts the routing server described by `config`. */
export async function startRoutingServer(config: RoutingConfig, logger: Logger = createLogger('routing-server', config.logLevel)): Promise<RunningRoutingServer> {
  const caPem = config.trust.caFile ? readFileSync(config.trust.caFile, 'utf8') : undefined;
  // Every outbound request (Cosmos DB, Key Vault, Entra ID, the admin JWKS) is sent from one worker thread, so this
  // thread's stream code serves gRPC only (see common/http/isolated-http-client.ts; measured with bench:token).
  // Each answer through it also tells /health how Cosmos DB, Key Vault and Entra ID are doing.
  const dependencies = new DependencyMonitor([
    { name: 'Cosmos DB', url: config.cosmos.endpoint },
    { name: 'Key Vault', url: config.keyVault.url },
    { name: 'Entra ID', url: config.entra.authorityHost },
  ]);
  const httpClient = dependencies.observe(isolatedHttpClient());
  const cosmos = createCosmosClient({ endpoint: config.cosmos.endpoint!, key: config.cosmos.key ?? undefined, aadCredentials: config.cosmos.key ? undefined : serverCredential(config, caPem, httpClient), caPem, httpClient });
  // Cosmos DB may be unreachable at start: the containers are made sure of in the background (health NOT_SERVING until then).
  const containers = new RegistryContainers(cosmos, config.cosmos.database!, [
    { id: config.cosmos.accountsContainer!, partitionKeyPath: REGISTRY_PARTITION_KEY },
    { id: config.cosmos.refreshTokensContainer!, partitionKeyPath: REFRESH_TOKEN_PARTITION_KEY },
  ], logger);
  await containers.start();
  const registry = new CosmosAccountRegistry(containers.source(config.cosmos.accountsContainer!));
  // During a registry outage, accounts and refresh tokens read recently keep answering (cached tokens stay served).
  const registryGate = new DependencyGate('the registry database (Cosmos DB)');
  // The containers made sure of: Cosmos DB answers. Calls refused before (not reachable since start-up) must not
  // keep the gate shut once health says SERVING (this callback runs before the health service's: registered first).
  void containers.whenReady.then(() => registryGate.open());
  const resilience = {
    gate: registryGate,
    staleIfErrorMs: config.cache.staleIfErrorSeconds * 1000,
    maxEntries: 100_000,
    onStale: (what: string) => logger.debug({ what }, 'registry unavailable; using the document last read'),
  };
  const metrics = config.metrics.enabled ? new RoutingMetrics() : undefined;
  const secrets = new KeyVaultIdentitySecretStore({ vaultUrl: config.keyVault.url!, credential: serverCredential(config, caPem, httpClient), caPem, httpClient });
  const provider = new ManagedIdentityResourceTokenProvider(secrets, new EntraCredentialFactory({ authorityHost: config.entra.authorityHost!, caPem, httpClient }), {
    maxTokens: config.cache.maxTokens,
    credentialTtlMs: config.cache.credentialSeconds * 1000,
    onBackgroundError: (key, err) => logger.warn({ account: key.split('\n')[0], reason: (err as Error).message }, 'background token refresh failed'),
    ...(metrics ? { onAcquisition: metrics.onTokenAcquisition } : {}),
  });
  const accountCache = new AccountCache(new ResilientAccountRegistry(registry, resilience), config.cache.accountSeconds * 1000, config.cache.maxTokens);
  const refreshTokens = new RefreshTokenManager(new ResilientRefreshTokenStore(new CosmosRefreshTokenStore(containers.source(config.cosmos.refreshTokensContainer!)), resilience), {
    lifetimeMs: config.refreshTokens.lifetimeSeconds * 1000,
    graceMs: config.refreshTokens.graceSeconds * 1000,
    cacheTtlMs: config.cache.refreshTokenSeconds * 1000,
    cacheMaxEntries: 100_000,
  });
  metrics?.observe({ tokenCache: () => provider.tokenStats, refreshTokens: refreshTokens.stats });
  const authority = config.entra.authorityHost!.replace(/\/+$/, '');
  const verifyAdmin = createEntraTokenVerifier({
    jwksUri: `${authority}/${config.admin.tenantId}/discovery/v2.0/keys`,
    issuers: [`https://sts.windows.net/${config.admin.tenantId}/`, `${authority}/${config.admin.tenantId}/v2.0`],
    audiences: [config.admin.audience!],
    caPem,
    httpClient,
  });
  const server = buildRoutingServer(
    {
      tokens: new TokenUseCases(refreshTokens, accountCache, provider),
      refreshTokens,
      accounts: new AccountAdmin(registry, accountCache),
      requireAdmin: entraAdminGuard(verifyAdmin, config.admin.role!),
      logger,
      ...(metrics ? { calls: metrics.calls } : {}),
    },
    {
      certPem: readFileSync(config.tls.certFile!, 'utf8'),
      keyPem: readFileSync(config.tls.keyFile!, 'utf8'),
      clientCaPem: config.tls.clientCaFile ? readFileSync(config.tls.clientCaFile, 'utf8') : undefined,
      requireClientCertificate: config.tls.requireClientCertificate,
    },
    { ready: containers.whenReady },
  );
  const port = await server.listen(config.listen.host!, config.listen.port);
  const host = config.listen.host!;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  let metricsListener: MetricsListener | undefined;
  let draining = false;
  if (metrics) {
    metricsListener = await startMetricsListener({
      registry: metrics.registry,
      host: config.metrics.host!,
      port: config.metrics.port,
      tls: { certPem: readFileSync(config.tls.certFile!, 'utf8'), keyPem: readFileSync(config.tls.keyFile!, 'utf8') },
      ...(config.metrics.bearerToken ? { bearerToken: config.metrics.bearerToken } : {}),
      onError: (err) => logger.error({ err }, 'metrics listener failed'),
      health: () => routingHealth({ ready: () => containers.isReady, draining: () => draining, dependencies }),
    }).catch(async (err: unknown) => {
      await server.shutdown(0);
      cosmos.dispose();
      throw err;
    });
  }
  logger.info({ address, metrics: metricsListener?.url }, 'routing server listening');
  return {
    port,
    address,
    provider,
    ...(metrics && metricsListener ? { metrics: { registry: metrics.registry, url: metricsListener.url } } : {}),
    stop: async () => {
      draining = true;
      await server.shutdown(config.shutdownGraceSeconds * 1000);
      await metricsListener?.close();
      containers.stop();
      cosmos.dispose();
      logger.info('routing server stopped');
    },
  };
}
