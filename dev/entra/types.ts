/**
 * Public shapes of the Entra ID stand-in.
 */
import type { JWTPayload } from 'jose';
import type { Logger } from 'pino';
import type { LocalTls } from '../certs.ts';
import type { AssertionReplayPolicy } from './assertion.ts';
import type { ApplicationRegistration, ApplicationSummary, ApplicationUpdate, RegisteredApplication } from './directory.ts';
import type { Fault } from './faults.ts';
import type { EntraStats } from './stats.ts';

/** Options of `startEntra`. */
export interface EntraOptions {
  /** TLS material (the loopback leaf signed by the local CA). */
  tls: LocalTls;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Tenant id (default: a new GUID per start). */
  tenantId?: string;
  /** Lifetime of issued tokens (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /** Extra resources tokens may be issued for (besides the built-in Azure ones). */
  resources?: string[];
  /** Applications to register at start. */
  applications?: ApplicationRegistration[];
  /** Tolerated clock skew for client assertions (default 300 s, like Entra). */
  clockSkewSeconds?: number;
  /** How re-presented client assertions are treated (default 'allow-identical'). */
  assertionReplay?: AssertionReplayPolicy;
  /** Admin key for `/_stand-in/` (default: random per start). */
  adminKey?: string;
  /** Request log (default: silent). Secrets, assertions and tokens are never logged. */
  logger?: Logger;
}

/** A running Entra ID stand-in. */
export interface EntraStandIn {
  /** `https://127.0.0.1:PORT`. */
  url: string;
  /** Same as `url`: what `@azure/identity` takes as `authorityHost`. */
  authorityHost: string;
  /** The tenant's id. */
  tenantId: string;
  /** Key for the `/_stand-in/` admin API (header `x-stand-in-key`). */
  adminKey: string;
  /** v2 JWKS URL of the tenant. */
  jwksUri: string;
  /** v2 OpenID configuration URL of the tenant. */
  metadataUrl: string;
  /** v2 token endpoint of the tenant. */
  tokenEndpoint: string;
  /** `iss` of the tokens issued for a tenant: `https://sts.windows.net/<tenant>/`. */
  issuer(tenantId?: string): string;
  /** Registers an application (with its service principal). */
  registerApplication(registration: ApplicationRegistration): RegisteredApplication;
  /** Changes an application: credentials, roles, lifetime, disabled. */
  updateApplication(appId: string, change: ApplicationUpdate): ApplicationSummary;
  /** Deletes an application. */
  removeApplication(appId: string): void;
  /** Reads an application back (no secret material), if registered. */
  getApplication(appId: string): ApplicationSummary | undefined;
  /** Makes a resource URI known (e.g. a local storage account URL). */
  registerResource(uri: string): void;
  /** Sets the tenant-wide lifetime of tokens issued from now on. */
  setTokenLifetime(seconds: number): void;
  /** Sets how re-presented client assertions are treated. */
  setAssertionReplayPolicy(policy: AssertionReplayPolicy): void;
  /** Snapshot of the request counters. */
  stats(): EntraStats;
  /** Sets the counters back to zero. */
  resetStats(): void;
  /** Makes the token endpoints fail as described (`undefined` clears). */
  setFault(fault: Fault | undefined): void;
  /** Removes an injected fault. */
  clearFault(): void;
  /** Signs arbitrary claims with the tenant's token-signing key (to test how resource servers treat odd tokens). */
  signAccessToken(claims: JWTPayload): Promise<string>;
  /** Stops listening and closes connections. */
  stop(): Promise<void>;
}
