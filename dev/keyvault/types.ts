/**
 * Public shapes of the Key Vault stand-in.
 */
import type { Logger } from 'pino';
import type { LocalTls } from '../certs.ts';
import type { Fault } from '../entra/faults.ts';
import type { SecretPermission } from './access.ts';
import type { KeyVaultStats } from './stats.ts';

/** The Entra tenant whose tokens the vault accepts. */
export interface KeyVaultEntraSettings {
  /** JWKS URL of the tenant. */
  jwksUri: string;
  /** Required token issuer: `https://sts.windows.net/<tenant>/`. */
  issuer: string;
  /** Tenant id (named in the 401 challenge). */
  tenantId: string;
  /** Authority host (named in the 401 challenge: `authorization="<authorityHost>/<tenant>"`). */
  authorityHost: string;
}

/** Options of `startKeyVault`. */
export interface KeyVaultOptions {
  /** TLS material; its CA is also trusted when fetching the tenant's JWKS. */
  tls: LocalTls;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** The Entra tenant to trust. */
  entra: KeyVaultEntraSettings;
  /** Vault name used in messages (default 'fhirmesh-local'). */
  vaultName?: string;
  /** Days deleted secrets stay recoverable; 0 disables soft delete (default 90). */
  recoverableDays?: number;
  /** Tolerated clock skew for token `exp`/`nbf` (default 300 s). */
  clockSkewSeconds?: number;
  /** Admin key for `/_stand-in/` (default: random per start). */
  adminKey?: string;
  /** Request log (default: silent). Secret values and tokens are never logged. */
  logger?: Logger;
}

/** Options for seeding a secret without a token. */
export interface PutSecretOptions {
  contentType?: string;
  tags?: Record<string, string>;
  enabled?: boolean;
}

/** A running Key Vault stand-in. */
export interface KeyVaultStandIn {
  /** Vault URL `https://127.0.0.1:PORT` (what `SecretClient` takes). */
  url: string;
  /** Key for the `/_stand-in/` admin API (header `x-stand-in-key`). */
  adminKey: string;
  /** Adds secret permissions to a principal (service principal object id or application id). */
  grant(appIdOrObjectId: string, permissions: SecretPermission[]): void;
  /** Removes permissions (all when none are named) from a principal. */
  revoke(appIdOrObjectId: string, permissions?: SecretPermission[]): void;
  /** Stores a secret version directly (seeding, no token needed); resolves to its version id. */
  putSecret(name: string, value: string, options?: PutSecretOptions): string;
  /** Snapshot of the request counters. */
  stats(): KeyVaultStats;
  /** Sets the counters back to zero. */
  resetStats(): void;
  /** Makes secret API requests fail as described (`undefined` clears). */
  setFault(fault: Fault | undefined): void;
  /** Removes an injected fault. */
  clearFault(): void;
  /** Stops listening and closes connections. */
  stop(): Promise<void>;
}
