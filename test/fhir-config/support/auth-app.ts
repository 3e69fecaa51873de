/**
 * Test support: the Entra ID and Cosmos DB stand-ins, client applications
 * holding one role each for the FHIR API, and the fhir-server app with REST
 * security, the admin routes and a probe route standing in for the export facade.
 */
import { ClientSecretCredential } from '@azure/identity';
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { ensureLocalTls, type LocalTls } from '../../../dev/certs.ts';
import { startEntra, type EntraStandIn } from '../../../dev/entra/index.ts';
import { EffectiveConfiguration } from '../../../fhir-server/config/effective-configuration.ts';
import { loadFhirServerConfig } from '../../../fhir-server/config/load.ts';
import { CapabilityRegistry } from '../../../fhir-server/fhir/capabilities.ts';
import { FhirService } from '../../../fhir-server/fhir/fhir-service.ts';
import { buildAdminRoutes } from '../../../fhir-server/http/admin-routes.ts';
import { restAuthFrom } from '../../../fhir-server/http/auth-options.ts';
import { exportCallerOf } from '../../../fhir-server/http/auth-principal.ts';
import { buildApp } from '../../../fhir-server/http/app.ts';
import { sendError } from '../../../fhir-server/http/fhir-routes.ts';
import type { ResourceStore } from '../../../fhir-server/store/resource-store.ts';
import { entraCredentialOptions } from '../../../common/auth/entra-credential-options.ts';
import { freshStore, startCosmosFixture, type CosmosFixture } from '../../fhir/support/cosmos.ts';
import { memoryLogger, requiredEnv } from './config.ts';

/** App id URI of the FHIR API. */
export const FHIR_API = 'api://fhirmesh-fhir';

/** Kinds of client the tests use: one per role, and one without any. */
export type ClientKind = 'reader' | 'writer' | 'exporter' | 'admin' | 'none';

const rolesOf: Record<ClientKind, string[]> = { reader: ['Fhir.Read'], writer: ['Fhir.Write'], exporter: ['Fhir.Export'], admin: ['Fhir.Admin'], none: [] };

/** A registered client application and its credential. */
export interface TestClient {
  appId: string;
  objectId: string;
  credential: ClientSecretCredential;
  /** A token for the FHIR API (or `scope`). */
  token(scope?: string): Promise<string>;
}

/** The running stand-ins, clients and app. */
export interface AuthFixture {
  tls: LocalTls;
  entra: EntraStandIn;
  cosmos: CosmosFixture;
  store: ResourceStore;
  clients: Record<ClientKind, TestClient>;
  configuration: EffectiveConfiguration;
  log: ReturnType<typeof memoryLogger>;
  /** Builds an app with the given `auth` settings over the shared store (FHIR routes, admin routes, export probe). */
  buildApp(auth?: Partial<ReturnType<typeof loadFhirServerConfig>['settings']['auth']>): Promise<FastifyInstance>;
  stop(): Promise<void>;
}

/** Starts Entra ID and Cosmos DB stand-ins and registers the API and its clients. */
export async function startAuthFixture(): Promise<AuthFixture> {
  const tls = await ensureLocalTls();
  const entra = await startEntra({ tls });
  const cosmos = await startCosmosFixture();
  const store = await freshStore(cosmos);
  entra.registerApplication({ displayName: 'fhirmesh FHIR API', identifierUri: FHIR_API });
  const credentialOptions = entraCredentialOptions({ authorityHost: entra.authorityHost, caPem: tls.caPem });
  const clients = {} as Record<ClientKind, TestClient>;
  for (const kind of Object.keys(rolesOf) as ClientKind[]) {
    const secret = randomBytes(24).toString('base64url');
    const { appId, objectId } = entra.registerApplication({ displayName: `fhir ${kind}`, secrets: [secret], roles: { [FHIR_API]: rolesOf[kind] } });
    const credential = new ClientSecretCredential(entra.tenantId, appId, secret, credentialOptions);
    clients[kind] = { appId, objectId, credential, token: async (scope = `${FHIR_API}/.default`) => (await credential.getToken(scope))!.token };
  }
  const env = requiredEnv(tls, {
    FHIR_COSMOS_ENDPOINT: cosmos.cosmos.endpoint,
    FHIR_TRUST_CA_FILE: tls.caFile,
    FHIR_AUTH_TENANT_ID: entra.tenantId,
    FHIR_AUTH_AUTHORITY_HOST: entra.authorityHost,
    FHIR_AUTH_AUDIENCE: FHIR_API,
    FHIR_EXPORT_ROLLING_FILE_SIZE_IN_MB: '16',
  });
  const log = memoryLogger('info');
  const loaded = loadFhirServerConfig(undefined, env);
  const configuration = new EffectiveConfiguration(loaded, log.logger);
  configuration.applyOverrides({ maxJobRestartCount: 3 }, 'routing server (start-up)');

  const build = async (auth: Partial<typeof loaded.settings.auth> = {}) => {
    const rest = restAuthFrom({ ...loaded.settings.auth, ...auth }, { caPem: tls.caPem, logger: log.logger });
    const app = buildApp({ service: new FhirService(store), capabilities: new CapabilityRegistry(), authorize: rest.authorize, baseUrl: 'https://fhir.test', logger: log.logger });
    rest.install(app);
    buildAdminRoutes(app, { configuration, authorize: rest.authorize });
    // Stands in for the export facade: checks 'export' access and answers the caller the engine would see.
    app.register(async (scope) => {
      scope.setErrorHandler((error, request, reply) => sendError(request, reply, error));
      scope.get('/_probe/export-caller', async (request) => {
        await rest.authorize(request, 'export');
        return exportCallerOf(request);
      });
    });
    await app.ready();
    return app;
  };

  return {
    tls,
    entra,
    cosmos,
    store,
    clients,
    configuration,
    log,
    buildApp: build,
    async stop() {
      await cosmos.stop();
      await entra.stop();
    },
  };
}

/** `authorization: Bearer <token>`. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
