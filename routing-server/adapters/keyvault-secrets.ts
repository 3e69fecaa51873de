/** IdentitySecretStore over Azure Key Vault (`@azure/keyvault-secrets`). */
import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { trustCa } from '../../common/azure-tls.ts';
import { RoutingError } from '../domain/errors.ts';
import type { IdentitySecret, IdentitySecretStore } from '../domain/ports.ts';
import { parseRetryAfter } from './entra-observed-credential.ts';

/** Options of the Key Vault secret store. */
export interface KeyVaultSecretStoreOptions {
  /** Vault URL, e.g. https://myvault.vault.azure.net. */
  vaultUrl: string;
  /** The routing server's own credential for Key Vault. */
  credential: TokenCredential;
  /** Private CA to trust (local stand-in). */
  caPem?: string;
  /** Sends the requests (default: the SDK's own Node client). */
  httpClient?: HttpClient;
  /** Skip the challenge resource check (needed for a vault not on *.vault.azure.net). */
  disableChallengeResourceVerification?: boolean;
}

/** See the module comment. */
export class KeyVaultIdentitySecretStore implements IdentitySecretStore {
  private readonly client: SecretClient;

  /** Creates the SecretClient once; it is reused for every read. */
  constructor(options: KeyVaultSecretStoreOptions) {
    this.client = new SecretClient(options.vaultUrl, options.credential, {
      disableChallengeResourceVerification: options.disableChallengeResourceVerification ?? !/\.vault\.azure\.(net|cn)$|\.vault\.usgovcloudapi\.net$/.test(new URL(options.vaultUrl).hostname),
      additionalPolicies: trustCa(options.caPem),
      ...(options.httpClient ? { httpClient: options.httpClient } : {}),
      // One retry layer: callers retry UNAVAILABLE with backoff.
      retryOptions: { maxRetries: 0 },
    });
  }

  /** Reads the latest version of a secret; errors name the secret, never its value. */
  async getSecret(name: string): Promise<IdentitySecret> {
    try {
      const secret = await this.client.getSecret(name);
      if (!secret.value) throw new RoutingError('credential-unavailable', `Key Vault secret '${name}' is empty`);
      if (secret.properties.enabled === false) throw new RoutingError('credential-unavailable', `Key Vault secret '${name}' is disabled`);
      return { value: secret.value, contentType: secret.properties.contentType, version: secret.properties.version };
    } catch (err) {
      if (err instanceof RoutingError) throw err;
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404) throw new RoutingError('credential-unavailable', `Key Vault secret '${name}' (mi-secretName) does not exist`, { cause: err });
      if (status === 401 || status === 403) {
        throw new RoutingError('credential-unavailable', `the routing server may not read Key Vault secret '${name}' (HTTP ${status})`, { cause: err });
      }
      if (/^(AuthenticationError|AuthenticationRequiredError|CredentialUnavailableError)$/.test((err as Error)?.name ?? '')) {
        throw new RoutingError('dependency-unavailable', 'Entra ID gave the routing server no token for Key Vault; retry later', { cause: err });
      }
      const code = (err as { code?: unknown }).code;
      const reason = status ? `HTTP ${status}` : typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : 'no response';
      const headers = (err as { response?: { headers?: { get(name: string): string | undefined } } }).response?.headers;
      const retryAfterMs = headers ? parseRetryAfter(headers) : undefined;
      throw new RoutingError('dependency-unavailable', `Key Vault is unavailable (${reason}); retry later`, { cause: err, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    }
  }
}
