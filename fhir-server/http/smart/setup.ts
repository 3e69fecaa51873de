/**
 * SMART Backend Services from the fhir-server settings. Signing keys: the
 * configured PEM files when given; else the Key Vault secret (created on first
 * start) when a Key Vault is configured; else a key generated at start-up,
 * valid for this instance only (logged as a warning).
 */
import type { CosmosClient } from '@azure/cosmos';
import type { TokenCredential } from '@azure/core-auth';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { HostPortAllowList } from '../../../common/net/host-allow-list.ts';
import type { FhirSettings } from '../../config/schema.ts';
import { SmartBackendServices } from './backend-services.ts';
import { openCosmosSmartClientRegistry } from './cosmos-client-registry.ts';
import { keyVaultSigningKeySource } from './key-vault-signing-keys.ts';
import { ephemeralSigningKeySource, pemSigningKeySource, type SigningKeySource } from './signing-keys.ts';

/** What the set-up needs besides the settings. */
export interface SmartSetupDeps {
  /** The account's Cosmos client and database (clients go to its `system` container). */
  cosmos: CosmosClient;
  databaseId: string;
  /** The fhir-server's Key Vault identity, when configured. */
  keyVaultCredential?: TokenCredential;
  /** Private CA (Key Vault, clients' jwks_uri). */
  caPem?: string;
  /** Endpoints clients' jwks_uri may reach although not public (local testing). */
  allowedEndpoints?: HostPortAllowList;
  /** The public base URL once known. */
  baseUrl: () => string;
  logger: Logger;
}

function signingKeySource(settings: FhirSettings, deps: SmartSetupDeps): SigningKeySource {
  const smart = settings.smart;
  if (smart.signingKeyFile) {
    const pems = [smart.signingKeyFile, smart.previousSigningKeyFile].filter((f): f is string => Boolean(f)).map((f) => readFileSync(f, 'utf8'));
    return pemSigningKeySource(pems, `PEM file ${smart.signingKeyFile}${smart.previousSigningKeyFile ? ` (+ previous ${smart.previousSigningKeyFile})` : ''}`);
  }
  if (settings.keyVault.url && deps.keyVaultCredential) {
    return keyVaultSigningKeySource({ vaultUrl: settings.keyVault.url, credential: deps.keyVaultCredential, secretName: smart.signingKeySecretName, caPem: deps.caPem });
  }
  deps.logger.warn('SMART access tokens are signed with a key generated at start-up: they are valid on this instance only until it stops. Configure smart.signingKeyFile or a Key Vault (keyVault.*) for several instances.');
  return ephemeralSigningKeySource();
}

/** Opens the registry, loads the signing keys and returns the running services. */
export async function openSmartBackendServices(settings: FhirSettings, deps: SmartSetupDeps): Promise<SmartBackendServices> {
  const registry = await openCosmosSmartClientRegistry(deps.cosmos, { databaseId: deps.databaseId, cacheSeconds: settings.smart.clientCacheSeconds });
  const smart = new SmartBackendServices({
    registry,
    signingKeys: signingKeySource(settings, deps),
    baseUrl: deps.baseUrl,
    caPem: deps.caPem,
    ...(deps.allowedEndpoints ? { jwksGuard: { allow: deps.allowedEndpoints } } : {}),
    accessTokenLifetimeSeconds: settings.smart.accessTokenLifetimeSeconds,
    replayCacheSize: settings.smart.replayCacheSize,
    keyRefreshSeconds: settings.smart.keyRefreshSeconds,
    logger: deps.logger,
  });
  await smart.start();
  return smart;
}
