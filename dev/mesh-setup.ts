/**
 * The whole mesh on the stand-ins: routing server, one provisioned account
 * whose managed identity may write to the local storage account, and a
 * fhir-server for that account, plus REST client identities with the FHIR roles.
 * Used by end-to-end tests, benchmarks and `npm start`.
 */
import { ClientSecretCredential } from '@azure/identity';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../common/logging.ts';
import { entraCredentialOptions } from '../routing-server/adapters/entra-credentials.ts';
import { startFhirServer, type RunningFhirServer } from '../fhir-server/app.ts';
import { loadFhirServerConfig } from '../fhir-server/config/load.ts';
import type { ExportJobConfiguration } from '../gen/fhirmesh/routing/v1/account.ts';
import { generateClientKey, registerClient, requestAccessToken, type ClientAlg, type ClientKey } from '../fhir-server/http/smart/client-credentials.ts';
import { TOKEN_PATH } from '../fhir-server/http/smart/backend-services.ts';
import { startRoutingSetup, type ProvisionedAccount, type RoutingSetup, type RoutingSetupOptions } from './routing-setup.ts';

/** App id URI of the FHIR REST API. */
export const FHIR_API = 'api://fhirmesh-fhir';
/** The FHIR roles. */
export const FHIR_ROLES = ['Fhir.Read', 'Fhir.Write', 'Fhir.Export', 'Fhir.Admin'] as const;

/** Options of the mesh. */
export interface MeshSetupOptions extends RoutingSetupOptions {
  /** Account name (default "demo"). */
  accountName?: string;
  /** Export overrides of the account. */
  exportJobConfiguration?: ExportJobConfiguration;
  /** Extra FHIR_* environment for the fhir-server. */
  fhirEnv?: Record<string, string>;
  /** More `host:port` endpoints (besides the local storage account) that client destinations and SMART jwks_uri fetches may reach. */
  allowEndpoints?: string[];
}

/** A running mesh. */
export interface MeshSetup {
  /** Routing server, stand-ins, admin helpers. */
  routing: RoutingSetup;
  /** The provisioned account. */
  account: ProvisionedAccount;
  /** The fhir-server. */
  fhir: RunningFhirServer;
  /** Environment the fhir-server was configured with. */
  fhirEnv: Record<string, string>;
  /** A REST bearer token for a client holding `roles` (default all FHIR roles). */
  bearer(roles?: readonly string[]): Promise<string>;
  /** Registers a SMART Backend Services client with a fresh key pair (default scope `system/*.read`, ES384). */
  registerSmartClient(options?: { scope?: string; alg?: ClientAlg; name?: string }): Promise<SmartDemoClient>;
  /** Stops the fhir-server, the routing server and the stand-ins. */
  stop(): Promise<void>;
}

/** A registered SMART client and its private key. */
export interface SmartDemoClient {
  /** The generated client id. */
  clientId: string;
  /** Its key pair. */
  key: ClientKey;
  /** The token endpoint. */
  tokenEndpoint: string;
  /** A SMART access token for `scope` (default: everything registered). */
  token(scope?: string): Promise<string>;
}

/** Environment that configures a fhir-server for `routing` and `account`. */
export function fhirEnvironment(routing: RoutingSetup, account: ProvisionedAccount, extra: Record<string, string> = {}, allowEndpoints: string[] = []): Record<string, string> {
  const s = routing.standIns;
  const kvSecret = randomBytes(24).toString('base64url');
  const kvApp = s.entra.registerApplication({ displayName: `${account.name} fhir-server`, secrets: [kvSecret] });
  s.keyVault.grant(kvApp.appId, ['get', 'set', 'delete', 'purge', 'list']);
  return {
    FHIR_HOST: '127.0.0.1',
    FHIR_PORT: '0',
    FHIR_GRPC_PORT: '0',
    FHIR_TLS_CERT_FILE: s.tls.certFile,
    FHIR_TLS_KEY_FILE: s.tls.keyFile,
    FHIR_TRUST_CA_FILE: s.tls.caFile,
    FHIR_COSMOS_ENDPOINT: s.cosmos.endpoint,
    FHIR_COSMOS_KEY: s.cosmos.key,
    FHIR_COSMOS_DATABASE: `fhir-${account.name}`,
    FHIR_ROUTING_ADDRESS: routing.address,
    FHIR_ROUTING_REFRESH_TOKEN: account.refreshToken,
    FHIR_ROUTING_ACCOUNT_NAME: account.name,
    FHIR_AUTH_AUTHORITY_HOST: s.entra.authorityHost,
    FHIR_AUTH_TENANT_ID: s.entra.tenantId,
    FHIR_AUTH_AUDIENCE: FHIR_API,
    FHIR_KEYVAULT_URL: s.keyVault.url,
    FHIR_KEYVAULT_TENANT_ID: s.entra.tenantId,
    FHIR_KEYVAULT_CLIENT_ID: kvApp.appId,
    FHIR_KEYVAULT_CLIENT_SECRET: kvSecret,
    // The local storage account (Azurite) is on loopback: exempt that one endpoint, not the host.
    FHIR_EXPORT_ALLOWED_DESTINATION_HOSTS: [new URL(s.blob.blobUrl).host, ...allowEndpoints].join(','),
    FHIR_EXPORT_STORAGE_ACCOUNT_URI: s.blob.blobUrl,
    FHIR_EXPORT_JOB_POLLING_FREQUENCY_SECONDS: '1',
    FHIR_LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** Starts the mesh (stand-ins, routing server, account, fhir-server in this process). */
export async function startMeshSetup(options: MeshSetupOptions = {}): Promise<MeshSetup> {
  const routing = await startRoutingSetup(options);
  try {
    routing.standIns.entra.registerResource(FHIR_API);
    const account = await routing.provisionAccount(options.accountName ?? 'demo', {
      ...(options.exportJobConfiguration ? { exportJobConfiguration: options.exportJobConfiguration } : {}),
    });
    const fhirEnv = fhirEnvironment(routing, account, options.fhirEnv, options.allowEndpoints);
    const loaded = loadFhirServerConfig(undefined, fhirEnv);
    const fhir = await startFhirServer(loaded, createLogger('fhir-server', loaded.settings.logLevel, options.logDestination));
    const credentials = new Map<string, ClientSecretCredential>();
    const bearer = async (roles: readonly string[] = FHIR_ROLES) => {
      const key = [...roles].sort().join(',');
      let credential = credentials.get(key);
      if (!credential) {
        const secret = randomBytes(24).toString('base64url');
        const app = routing.standIns.entra.registerApplication({ displayName: `client ${key}`, secrets: [secret], roles: { [FHIR_API]: [...roles] } });
        credential = new ClientSecretCredential(routing.standIns.entra.tenantId, app.appId, secret, entraCredentialOptions({ authorityHost: routing.standIns.entra.authorityHost, caPem: routing.standIns.tls.caPem }));
        credentials.set(key, credential);
      }
      return (await credential.getToken(`${FHIR_API}/.default`))!.token;
    };
    const registerSmartClient = async (smart: { scope?: string; alg?: ClientAlg; name?: string } = {}): Promise<SmartDemoClient> => {
      const caPem = routing.standIns.tls.caPem;
      const scope = smart.scope ?? 'system/*.read';
      const key = await generateClientKey(smart.alg ?? 'ES384');
      const registered = await registerClient(fhir.baseUrl, await bearer(['Fhir.Admin']), { scope, jwks: { keys: [key.publicJwk] }, ...(smart.name ? { client_name: smart.name } : {}) }, caPem);
      const tokenEndpoint = `${fhir.baseUrl}${TOKEN_PATH}`;
      const token = async (requested = scope) => (await requestAccessToken({ clientId: registered.client_id, tokenEndpoint, key, scope: requested, caPem })).access_token;
      return { clientId: registered.client_id, key, tokenEndpoint, token };
    };
    return {
      routing,
      account,
      fhir,
      fhirEnv,
      bearer,
      registerSmartClient,
      stop: async () => {
        await fhir.stop();
        await routing.stop();
      },
    };
  } catch (err) {
    await routing.stop();
    throw err;
  }
}
