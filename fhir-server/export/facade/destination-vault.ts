/**
 * Where client-supplied destination URLs are kept: a port, and its adapter
 * over Azure Key Vault (`@azure/keyvault-secrets`). The URL goes into the
 * secret's value only; errors carry the HTTP status, never the request.
 */
import type { TokenCredential } from '@azure/core-auth';
import { SecretClient } from '@azure/keyvault-secrets';
import { trustCa } from '../../../common/azure-tls.ts';
import { FhirError } from '../../fhir/errors.ts';
import type { SecretUrl } from './secret-url.ts';

/** Stores and removes destination URLs by secret name. */
export interface DestinationVault {
  /** Stores `url` under `name` (expiring with the SAS when known). */
  store(name: string, url: SecretUrl, options?: { expiresOn?: Date; tags?: Record<string, string> }): Promise<void>;
  /** Deletes `name` (used when a kick-off fails after storing). */
  remove(name: string): Promise<void>;
}

/** Options of the Key Vault adapter. */
export interface KeyVaultDestinationVaultOptions {
  /** Vault URL, e.g. https://myvault.vault.azure.net. */
  vaultUrl: string;
  /** The fhir-server's credential for Key Vault (needs secrets set and delete). */
  credential: TokenCredential;
  /** Private CA to trust (local stand-in, private endpoint). */
  caPem?: string;
}

/** Content type of a destination secret: one URI. */
export const destinationContentType = 'text/uri-list';

const isAzureVault = (url: string) => /\.vault\.azure\.(net|cn)$|\.vault\.usgovcloudapi\.net$/.test(new URL(url).hostname);

function vaultError(action: string, err: unknown): FhirError {
  const status = (err as { statusCode?: number }).statusCode;
  const cause = new Error(`Key Vault ${action} failed (${status ? `HTTP ${status}` : 'no response'})`);
  if (status === 401 || status === 403) return new FhirError('internal', cause.message, { cause });
  return new FhirError('unavailable', 'Key Vault is unavailable, so a client destination cannot be kept right now; retry later', { cause, retryAfterSeconds: 30 });
}

/** `DestinationVault` over Key Vault. */
export class KeyVaultDestinationVault implements DestinationVault {
  readonly #client: SecretClient;

  /** Creates the one SecretClient. */
  constructor(options: KeyVaultDestinationVaultOptions) {
    this.#client = new SecretClient(options.vaultUrl, options.credential, {
      disableChallengeResourceVerification: !isAzureVault(options.vaultUrl),
      additionalPolicies: trustCa(options.caPem),
      // A kick-off waits for at most two quick retries (Retry-After honoured); then the client gets 503 + Retry-After.
      retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
    });
  }

  async store(name: string, url: SecretUrl, options: { expiresOn?: Date; tags?: Record<string, string> } = {}): Promise<void> {
    try {
      await this.#client.setSecret(name, url.reveal(), { contentType: destinationContentType, expiresOn: options.expiresOn, tags: options.tags });
    } catch (err) {
      throw vaultError('setSecret', err);
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await this.#client.beginDeleteSecret(name);
    } catch (err) {
      throw vaultError('deleteSecret', err);
    }
  }
}
