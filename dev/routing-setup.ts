/**
 * A routing server wired to the local stand-ins, with the identities it needs:
 * its own app (reads Key Vault), an admin app (Routing.Admin role), and a way
 * to provision accounts whose managed identity is a certificate or a client
 * secret kept in Key Vault. Used by tests, benchmarks and `npm start`.
 */
import { ClientSecretCredential } from '@azure/identity';
import type { DestinationStream } from 'pino';
import { randomBytes } from 'node:crypto';
import { entraCredentialOptions } from '../common/auth/entra-credential-options.ts';
import { startRoutingServer, type RunningRoutingServer } from '../routing-server/app.ts';
import { loadRoutingConfig, type RoutingConfig } from '../routing-server/config.ts';
import { AccountServiceClient } from '../gen/fhirmesh/routing/v1/account_service.ts';
import { CredentialKind, type ExportJobConfiguration } from '../gen/fhirmesh/routing/v1/account.ts';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../common/grpc/client.ts';
import { createLogger } from '../common/logging.ts';
import { createIdentityCertificate } from './certs.ts';
import { spawnRoutingServer, type RoutingProcess } from './routing-process.ts';
import { startStandIns, type StandIns, type StandInsOptions } from './standins.ts';

/** App id URI of the routing server's admin API. */
export const ROUTING_API = 'api://fhirmesh-routing';
/** The admin app role. */
export const ADMIN_ROLE = 'Routing.Admin';

/** A provisioned account. */
export interface ProvisionedAccount {
  /** Account name. */
  name: string;
  /** Its first refresh token. */
  refreshToken: string;
  /** Its managed identity's client id. */
  clientId: string;
  /** Key Vault secret holding the identity's credential. */
  secretName: string;
}

/** Options of `provisionAccount`. */
export interface ProvisionOptions {
  /** Credential kind of the identity (default certificate). */
  credential?: 'certificate' | 'secret';
  /** Allowed resources (default https://storage.azure.com). */
  allowedResourceUris?: string[];
  /** Export overrides. */
  exportJobConfiguration?: ExportJobConfiguration;
}

/** See the module comment. */
export interface RoutingSetup {
  /** The stand-ins. */
  standIns: StandIns;
  /** Environment that configures a routing server process for these stand-ins. */
  env: Record<string, string>;
  /** The routing server, when started in this process. */
  routing?: RunningRoutingServer;
  /** The routing server's process, when started as its own process. */
  routingProcess?: RoutingProcess;
  /** host:port of the routing server. */
  address: string;
  /** URL of its Prometheus metrics (https, the stand-ins' CA). */
  metricsUrl?: string;
  /** Admin client of the routing server. */
  accounts: AccountServiceClient;
  /** A fresh admin token. */
  adminToken(): Promise<string>;
  /** Creates an identity (Entra app + Key Vault secret) and an account using it; issues a refresh token. */
  provisionAccount(name: string, options?: ProvisionOptions): Promise<ProvisionedAccount>;
  /** Issues another refresh token (a new family) for account `name`. */
  issueRefreshToken(name: string): Promise<string>;
  /** Stops the routing server (if in process) and the stand-ins (if started here). */
  stop(): Promise<void>;
}

/** Options of `startRoutingSetup`. */
export interface RoutingSetupOptions extends StandInsOptions {
  /** Reuse running stand-ins (then they are not stopped by `stop`). */
  standIns?: StandIns;
  /** Extra ROUTING_* environment settings. */
  env?: Record<string, string>;
  /** Where the routing server runs: in this process (default) or as its own process (routing-server/main.ts). */
  mode?: 'in-process' | 'child-process';
  /** Where an in-process routing server logs (default stdout). */
  logDestination?: DestinationStream;
  /** Starts the routing server some other way (npm start supervises it) from its environment; `mode` is then ignored. */
  launch?: (env: Record<string, string>) => Promise<LaunchedRoutingServer>;
}

/** A routing server started by `RoutingSetupOptions.launch`. */
export interface LaunchedRoutingServer {
  /** host:port. */
  address: string;
  /** Its metrics URL, when metrics are enabled. */
  metricsUrl?: string;
  /** Stops it. */
  stop(): Promise<void>;
}

/**
 * The address clients dial for a server listening on `address`: `localhost` for the loopback IP. grpc-js sends
 * the dialled host as the TLS server name, and Node warns about an IP there (DEP0123, RFC 6066); the local
 * certificate names localhost as well as 127.0.0.1.
 */
export function dialAddress(address: string): string {
  return address.replace(/^127\.0\.0\.1:/, 'localhost:');
}

/** Registers the routing server's own identities with the stand-ins and returns its environment. */
export function routingEnvironment(s: StandIns, extra: Record<string, string> = {}): Record<string, string> {
  const secret = randomBytes(24).toString('base64url');
  const app = s.entra.registerApplication({ displayName: 'fhirmesh routing server', secrets: [secret], identifierUri: ROUTING_API });
  s.keyVault.grant(app.appId, ['get', 'list']);
  return {
    ROUTING_HOST: '127.0.0.1',
    ROUTING_PORT: '0',
    ROUTING_TLS_CERT_FILE: s.tls.certFile,
    ROUTING_TLS_KEY_FILE: s.tls.keyFile,
    ROUTING_TRUST_CA_FILE: s.tls.caFile,
    ROUTING_COSMOS_ENDPOINT: s.cosmos.endpoint,
    ROUTING_COSMOS_KEY: s.cosmos.key,
    ROUTING_KEYVAULT_URL: s.keyVault.url,
    ROUTING_ENTRA_AUTHORITY_HOST: s.entra.authorityHost,
    ROUTING_IDENTITY_TENANT_ID: s.entra.tenantId,
    ROUTING_IDENTITY_CLIENT_ID: app.appId,
    ROUTING_IDENTITY_CLIENT_SECRET: secret,
    ROUTING_ADMIN_TENANT_ID: s.entra.tenantId,
    ROUTING_ADMIN_AUDIENCE: ROUTING_API,
    ROUTING_LOG_LEVEL: 'warn',
    ROUTING_METRICS_ENABLED: 'true',
    ROUTING_METRICS_PORT: '0',
    ...extra,
  };
}

/** Starts (or reuses) the stand-ins and a routing server configured for them. */
export async function startRoutingSetup(options: RoutingSetupOptions = {}): Promise<RoutingSetup> {
  const standIns = options.standIns ?? (await startStandIns(options));
  const env = routingEnvironment(standIns, options.env);
  let routing: RunningRoutingServer | undefined;
  let routingProcess: RoutingProcess | undefined;
  let address: string;
  let metricsUrl: string | undefined;
  let launched: LaunchedRoutingServer | undefined;
  if (options.launch) {
    launched = await options.launch(env);
    address = launched.address;
    metricsUrl = launched.metricsUrl;
  } else if (options.mode === 'child-process') {
    routingProcess = await spawnRoutingServer(env);
    address = routingProcess.address;
    metricsUrl = routingProcess.metricsUrl;
  } else {
    const config: RoutingConfig = loadRoutingConfig(undefined, env);
    routing = await startRoutingServer(config, createLogger('routing-server', config.logLevel, options.logDestination));
    address = routing.address;
    metricsUrl = routing.metrics?.url;
  }
  address = dialAddress(address);
  const channel = tlsChannelCredentials(standIns.tls.caPem);
  const accounts = new AccountServiceClient(address, channel);
  const adminSecret = randomBytes(24).toString('base64url');
  const adminApp = standIns.entra.registerApplication({ displayName: 'fhirmesh operator', secrets: [adminSecret], roles: { [ROUTING_API]: [ADMIN_ROLE] } });
  const adminCredential = new ClientSecretCredential(
    standIns.entra.tenantId,
    adminApp.appId,
    adminSecret,
    entraCredentialOptions({ authorityHost: standIns.entra.authorityHost, caPem: standIns.tls.caPem }),
  );
  const adminToken = async () => (await adminCredential.getToken(`${ROUTING_API}/.default`))!.token;

  const provisionAccount = async (name: string, opts: ProvisionOptions = {}): Promise<ProvisionedAccount> => {
    const secretName = `mi-${name}`;
    let clientId: string;
    let credentialKind: CredentialKind;
    if ((opts.credential ?? 'certificate') === 'certificate') {
      const cert = await createIdentityCertificate(`${name} managed identity`);
      clientId = standIns.entra.registerApplication({ displayName: `${name} identity`, certificates: [cert.certPem] }).appId;
      standIns.keyVault.putSecret(secretName, cert.pemBundle, { contentType: 'application/x-pem-file' });
      credentialKind = CredentialKind.CREDENTIAL_KIND_CERTIFICATE;
    } else {
      const secret = randomBytes(24).toString('base64url');
      clientId = standIns.entra.registerApplication({ displayName: `${name} identity`, secrets: [secret] }).appId;
      standIns.keyVault.putSecret(secretName, secret, { contentType: 'text/plain' });
      credentialKind = CredentialKind.CREDENTIAL_KIND_CLIENT_SECRET;
    }
    const md = bearerMetadata(await adminToken());
    await unaryCall(accounts.createAccount, accounts, {
      account: {
        name,
        displayName: name,
        state: 0,
        allowedResourceUris: opts.allowedResourceUris ?? ['https://storage.azure.com'],
        managedIdentity: { clientId, tenantId: standIns.entra.tenantId, secretName, credentialKind },
        fhirProperties: { exportJobConfiguration: opts.exportJobConfiguration ?? {} },
        etag: '',
      },
    }, md);
    const issued = await unaryCall(accounts.issueRefreshToken, accounts, { accountName: name }, md);
    return { name, refreshToken: issued.refreshToken, clientId, secretName };
  };

  const issueRefreshToken = async (name: string): Promise<string> =>
    (await unaryCall(accounts.issueRefreshToken, accounts, { accountName: name }, bearerMetadata(await adminToken()))).refreshToken;

  return {
    standIns,
    env,
    routing,
    routingProcess,
    address,
    ...(metricsUrl ? { metricsUrl } : {}),
    accounts,
    adminToken,
    provisionAccount,
    issueRefreshToken,
    stop: async () => {
      accounts.close();
      await routing?.stop();
      await routingProcess?.stop();
      await launched?.stop();
      if (!options.standIns) await standIns.stop();
    },
  };
}
