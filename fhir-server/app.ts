/**
 * Composition root of the fhir-server: configuration → Cosmos store →
 * routing clients (token client, routing credential, refresh-token upkeep,
 * account overrides) → export engine → REST app (FHIR, $export, admin) and the
 * gRPC ExportService → listen. `stop()` drains in the reverse order.
 */
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import { Server } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createCosmosClient } from '../common/cosmos.ts';
import { createEntraTokenVerifier } from '../common/auth/entra-token-verifier.ts';
import { guardDecoding } from '../common/grpc/decode-guard.ts';
import { ServerHealth } from '../common/grpc/health.ts';
import { addReflection } from '../common/grpc/reflection.ts';
import { serverCredentials } from '../common/grpc/server-tls.ts';
import { entraCredentialOptions } from '../common/auth/entra-credential-options.ts';
import { watchAccountOverrides } from './config/account-overrides.ts';
import { EffectiveConfiguration } from './config/effective-configuration.ts';
import type { LoadedConfiguration } from './config/load.ts';
import { HostPortAllowList } from '../common/net/host-allow-list.ts';
import { openExportEngine, type EngineHooks, type ExportEngineOptions } from './export/engine/index.ts';
import { exportService, exportServiceDefinition } from './export/facade/grpc-service.ts';
import { KeyVaultDestinationVault } from './export/facade/destination-vault.ts';
import { registerExportRoutes } from './export/facade/rest-routes.ts';
import { serverAssociatedData } from './export/facade/options.ts';
import { CapabilityRegistry } from './fhir/capabilities.ts';
import { FhirService } from './fhir/fhir-service.ts';
import { buildAdminRoutes } from './http/admin-routes.ts';
import { buildApp } from './http/app.ts';
import { baseUrlResolver, commaList, listenBaseUrl, withoutTrailingSlash } from './http/base-url.ts';
import { FhirMetrics } from './observability/metrics.ts';
import { registerMetricsRoute } from './observability/metrics-route.ts';
import { verifierOptionsFrom, restAuthFrom } from './http/auth-options.ts';
import { exportCallerOf } from './http/auth-principal.ts';
import { registerSmartRoutes } from './http/smart/routes.ts';
import { openSmartBackendServices } from './http/smart/setup.ts';
import { accountOverridesSource, AccountConfigurationClient } from './routing/account-configuration-client.ts';
import { openCosmosRefreshTokenRepository } from './routing/cosmos-refresh-token-repository.ts';
import { ExternalResourceTokenClient } from './routing/external-resource-token-client.ts';
import { RefreshTokenUpkeep } from './routing/refresh-token-upkeep.ts';
import { connectRouting } from './routing/routing-connection.ts';
import { RoutingHealth } from './routing/routing-health.ts';
import { RoutingTokenCredential } from './routing/routing-token-credential.ts';
import { readOverridesAtStartup } from './routing/startup-overrides.ts';
import { SearchService } from './search/search-service.ts';
import { cosmosSearchSource } from './search/search-source.ts';
import { openCosmosResourceStore } from './store/cosmos-resource-store.ts';
import { openWhenCosmosAnswers } from './store/cosmos-startup.ts';
import { startHistoryRetention } from './store/retention.ts';
import { warmFhirDefinitions } from './fhir/warm-up.ts';
import { startTransactionRecovery } from './store/recovery.ts';

/** A running fhir-server. */
export interface RunningFhirServer {
  /** FHIR base URL (https). */
  baseUrl: string;
  /** host:port of the gRPC ExportService. */
  grpcAddress: string;
  /** The effective configuration. */
  configuration: EffectiveConfiguration;
  /** The token client (counters for tests and metrics). */
  tokenClient: ExternalResourceTokenClient;
  /** Metrics (served at `GET /metrics` to the admin role). */
  metrics: FhirMetrics;
  /** The REST app. */
  app: FastifyInstance;
  /** Drains and stops everything within `shutdownGraceSeconds`. */
  stop(): Promise<ShutdownReport>;
}

/** How a stop went. */
export interface ShutdownReport {
  /** Every export work item checkpointed and gave its lease back within the grace time. */
  workersStopped: boolean;
  /** Milliseconds the stop took. */
  ms: number;
}

/** Test seams of the composition (none is needed in production). */
export interface FhirServerSeams {
  /** Export engine hooks (e.g. pace pages, observe checkpoints). */
  exportHooks?: EngineHooks;
  /** Export engine options over the configuration (internal knobs such as byte sizes). */
  exportOptions?: Partial<ExportEngineOptions>;
}

const read = (file: string | undefined) => (file ? readFileSync(file, 'utf8') : undefined);

function keyVaultCredential(kv: LoadedConfiguration['settings']['keyVault'], authorityHost: string, caPem: string | undefined): TokenCredential | undefined {
  if (!kv.url || !kv.tenantId || !kv.clientId) return undefined;
  const options = entraCredentialOptions({ authorityHost, caPem });
  if (kv.certificateFile) return new ClientCertificateCredential(kv.tenantId, kv.clientId, { certificate: read(kv.certificateFile)! }, options);
  if (kv.clientSecret) return new ClientSecretCredential(kv.tenantId, kv.clientId, kv.clientSecret, options);
  return undefined;
}

/** Starts the fhir-server described by `loaded`. */
export async function startFhirServer(loaded: LoadedConfiguration, logger: Logger, seams: FhirServerSeams = {}): Promise<RunningFhirServer> {
  const settings = loaded.settings;
  logger.info({ ms: warmFhirDefinitions() }, 'R4 definitions, validation tables and search extraction built');
  const caPem = read(settings.trust.caFile);
  // Endpoints that client destinations and SMART jwks_uri fetches may reach although not public (local testing only).
  const allowedEndpoints = HostPortAllowList.parse(settings.keyVault.allowedDestinationHosts);
  const cosmos = createCosmosClient({ endpoint: settings.cosmos.endpoint!, key: settings.cosmos.key ?? undefined, caPem });
  const databaseId = settings.cosmos.database!;
  // Cosmos DB down at start: wait a bounded time, then fail with one sentence (main.ts exits 3).
  const store = await openWhenCosmosAnswers(() => openCosmosResourceStore(cosmos, { databaseId, containerId: settings.cosmos.resourcesContainer! }), { endpoint: settings.cosmos.endpoint!, logger });
  const recovery = startTransactionRecovery(store, { intervalMs: 30_000 });

  // The routing side: one channel, the refresh token from the account database.
  const metrics = new FhirMetrics();
  const connection = connectRouting({ address: settings.routing.address!, caPem: read(settings.routing.caFile) ?? caPem, interceptors: [metrics.routingInterceptor], callersWaitMs: Math.min(settings.routing.tokenWaitSeconds, settings.routing.startupWaitSeconds) * 1000 });
  const repository = await openCosmosRefreshTokenRepository(cosmos, { databaseId, bootstrapRefreshToken: settings.routing.refreshToken });
  const tokenClient = new ExternalResourceTokenClient({ connection, repository, logger, retry: { overallTimeoutMs: settings.routing.tokenWaitSeconds * 1000 } });
  metrics.observeTokenClient(tokenClient);
  const credential = new RoutingTokenCredential(tokenClient);
  const upkeep = new RefreshTokenUpkeep({ connection, repository, logger });
  upkeep.start();
  // /health: does the routing server answer, and does it accept this service's refresh token?
  const routingHealth = new RoutingHealth({ connection, repository, accountName: settings.routing.accountName!, intervalMs: settings.routing.healthCheckSeconds * 1000, logger });
  routingHealth.start();

  // Configuration: the account's overrides are read before anything uses the export settings.
  const configuration = new EffectiveConfiguration(loaded, logger);
  const overridesClient = new AccountConfigurationClient({ connection, repository, logger, retry: { overallTimeoutMs: settings.routing.startupWaitSeconds * 1000 } });
  const overrides = watchAccountOverrides(configuration, accountOverridesSource(overridesClient), {
    intervalMs: settings.routing.overridesRefreshSeconds * 1000,
    logger,
  });
  // The routing server may be down: wait routing.startupWaitSeconds, then go on with our own settings and retry in the background.
  const startupOverrides = await readOverridesAtStartup(overrides, { logger });
  const exportSettings = configuration.current().export;

  const kvCredential = keyVaultCredential(settings.keyVault, settings.auth.authorityHost!, caPem);
  const engine = await openExportEngine({
    cosmos,
    databaseId,
    jobsContainerId: settings.cosmos.jobsContainer!,
    store,
    credential,
    ...(kvCredential ? { keyVault: { vaultUrl: settings.keyVault.url!, credential: kvCredential } } : {}),
    caPem,
    clientDestinationGuard: { allow: allowedEndpoints },
    options: { ...exportSettings, tokenWaitSeconds: settings.routing.tokenWaitSeconds, ...seams.exportOptions },
    logger,
    workerId: `fhir-${process.pid}-${randomUUID().slice(0, 8)}`,
    observeJobs: (jobs) => metrics.observeJobs(jobs),
    ...(seams.exportHooks ? { hooks: seams.exportHooks } : {}),
  });

  // REST: FHIR, $export, admin, SMART, health.
  // Links start with one base URL (base-url.ts): publicBaseUrl, else a trusted proxy's forwarded origin, else the listen address.
  const publicBaseUrl = settings.publicBaseUrl ? withoutTrailingSlash(settings.publicBaseUrl) : undefined;
  // The server's own base (SMART issuer, gRPC links): the public base URL, else the listen address, known after listen.
  let ownBaseUrl = publicBaseUrl ?? '';
  const baseUrl = baseUrlResolver({ ...(publicBaseUrl ? { publicBaseUrl } : {}), listenBase: () => ownBaseUrl, trustedProxies: commaList(settings.trustedProxies) });
  const smart = settings.smart.enabled
    ? await openSmartBackendServices(settings, { cosmos, databaseId, ...(kvCredential ? { keyVaultCredential: kvCredential } : {}), caPem, allowedEndpoints, baseUrl: () => ownBaseUrl, logger })
    : undefined;
  const auth = restAuthFrom(settings.auth, { caPem, logger, ...(smart ? { paths: [smart.bearerPath()] } : {}) });
  const capabilities = new CapabilityRegistry();
  const app = buildApp({
    service: new FhirService(store),
    search: new SearchService(cosmosSearchSource(store.container)),
    capabilities,
    authorize: auth.authorize,
    logger,
    https: { cert: read(settings.tls.certFile)!, key: read(settings.tls.keyFile)! },
    observeHttp: metrics.observeHttp,
    baseUrl,
  });
  auth.install(app);
  buildAdminRoutes(app, { configuration, authorize: auth.authorize });
  registerMetricsRoute(app, { registry: metrics.registry, authorize: auth.authorize });
  if (smart) registerSmartRoutes(app, smart, { authorize: auth.authorize, capabilities, baseUrl });
  const frontDoor = registerExportRoutes(app, {
    jobs: engine,
    authorize: auth.authorize,
    callerOf: exportCallerOf,
    capabilities,
    baseUrl,
    options: {
      defaultContainer: exportSettings.defaultContainer,
      manifestSasUrls: exportSettings.manifestSasUrls,
      // Provenance (the IG's two codes), earlier versions (_history) and deleted resources (_deleted); other associated data is "not supported" (400 strict, a note lenient).
      features: { includeAssociatedData: serverAssociatedData },
    },
    destinations: {
      ...(kvCredential ? { vault: new KeyVaultDestinationVault({ vaultUrl: settings.keyVault.url!, credential: kvCredential, caPem }) } : {}),
      hostPolicy: { allow: allowedEndpoints },
    },
  });
  let draining = false;
  app.addHook('onRequest', async (request, reply) => {
    if (draining && request.url !== '/health') return reply.code(503).header('retry-after', '5').send({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: 'the server is shutting down; retry on another instance' }] });
  });
  // 503 only while draining: load balancers stop sending work here. Degraded stays 200: reads and writes still work,
  // and another instance would fare no better (docs/operations.md, "Health").
  app.get('/health', async (_request, reply) => {
    if (draining) return reply.code(503).header('retry-after', '5').send({ status: 'draining' });
    const link = routingHealth.state;
    reply.header('cache-control', 'no-store');
    if (link.state !== 'degraded') return { status: 'ok', routing: link.state };
    return { status: 'degraded', routing: link.state, reasons: [{ component: 'routing', problem: link.problem, detail: link.detail, since: link.since, action: link.action }] };
  });

  await app.listen({ host: settings.listen.host!, port: settings.listen.port });
  const address = app.server.address() as { port: number };
  const hostForUrl = settings.listen.host!.includes(':') ? `[${settings.listen.host}]` : settings.listen.host!;
  const listenBase = publicBaseUrl ?? listenBaseUrl(settings.listen.host!, address.port, read(settings.tls.certFile));
  ownBaseUrl = listenBase;

  // gRPC ExportService, same process, same export operations.
  const grpc = new Server();
  const health = new ServerHealth(['fhirmesh.fhir.v1.ExportService']);
  // Undecodable request bytes are INVALID_ARGUMENT (the caller's fault), not grpc-js's INTERNAL.
  grpc.addService(...guardDecoding(exportServiceDefinition, exportService({
    frontDoor,
    verify: createEntraTokenVerifier(verifierOptionsFrom(settings.auth, caPem)),
    requiredPermission: settings.auth.roles.export!,
    baseUrl: listenBase,
    logger,
  })));
  health.addToServer(grpc);
  addReflection(grpc, ['fhirmesh.fhir.v1.ExportService']);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync(`${hostForUrl}:${settings.listen.grpcPort}`, serverCredentials({ certPem: read(settings.tls.certFile)!, keyPem: read(settings.tls.keyFile)! }), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  health.serving();
  engine.pool.start();
  const retention =
    settings.history.retentionDays > 0
      ? startHistoryRetention({
          retentionDays: settings.history.retentionDays,
          neededSince: () => engine.historyNeededSince(),
          purge: (horizonMs, stillNeededSince) => store.purgeHistory(horizonMs, stillNeededSince),
          onReport: (report) => report.deleted > 0 && logger.info(report, 'history purged past the retention period'),
          onError: (error) => logger.warn({ err: error }, 'history retention pass failed; the next pass tries again'),
        })
      : undefined;
  logger.info({ baseUrl: listenBase, grpc: `${hostForUrl}:${grpcPort}`, export: exportSettings }, 'fhir-server listening');

  const graceMs = settings.shutdownGraceSeconds * 1000;
  return {
    baseUrl: listenBase,
    grpcAddress: `${hostForUrl}:${grpcPort}`,
    configuration,
    tokenClient,
    metrics,
    app,
    stop: async () => {
      // Stop accepting (503), let workers checkpoint, drain requests, then close the clients; all within one grace time.
      const started = Date.now();
      const left = () => Math.max(0, started + graceMs - Date.now());
      draining = true;
      health.notServing();
      const workersStopped = await engine.pool.stop(left());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => (grpc.forceShutdown(), resolve()), left());
        grpc.tryShutdown(() => (clearTimeout(timer), resolve()));
      });
      const closing = app.close();
      const cut = setTimeout(() => app.server.closeAllConnections(), left());
      await closing;
      clearTimeout(cut);
      overrides.stop();
      startupOverrides.stop();
      upkeep.stop();
      routingHealth.stop();
      recovery.stop();
      retention?.stop();
      tokenClient.close();
      connection.close();
      await store.close?.().catch((error: unknown) => logger.warn({ err: error }, 'retiring the writer lease failed (it runs out by itself)'));
      cosmos.dispose();
      const report = { workersStopped, ms: Date.now() - started };
      logger.info(report, 'fhir-server stopped');
      return report;
    },
  };
}
