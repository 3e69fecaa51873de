/**
 * The Key Vault adapter of `DestinationSecrets`: client destinations (container
 * SAS URLs) are read by secret name and deleted (then purged, where allowed)
 * when their job ends.
 */
import type { TokenCredential } from '@azure/core-auth';
import { SecretClient } from '@azure/keyvault-secrets';
import { trustCa } from '../../../common/azure-tls.ts';
import type { DestinationSecrets } from './destinations.ts';

/** Options of {@link keyVaultDestinationSecrets}. */
export interface KeyVaultSecretsOptions {
  /** Vault URL. */
  vaultUrl: string;
  /** The FHIR service's own identity (needs get and delete on secrets; purge optional). */
  credential: TokenCredential;
  /** CA to trust for the vault. */
  caPem?: string;
}

const statusOf = (error: unknown): number | undefined => (error as { statusCode?: number }).statusCode;

/** A Key Vault `SecretClient` as `DestinationSecrets`. */
export function keyVaultDestinationSecrets(options: KeyVaultSecretsOptions): DestinationSecrets {
  const client = new SecretClient(options.vaultUrl, options.credential, {
    // A vault on a private or local endpoint answers challenges for its own host.
    disableChallengeResourceVerification: true,
    additionalPolicies: trustCa(options.caPem),
  });
  return secretClientDestinationSecrets(client);
}

/** `client` as `DestinationSecrets`. */
export function secretClientDestinationSecrets(client: SecretClient): DestinationSecrets {
  return {
    async read(name, options = {}) {
      try {
        return (await client.getSecret(name, { abortSignal: options.abortSignal })).value;
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },
    async remove(name) {
      try {
        const poller = await client.beginDeleteSecret(name, { intervalInMs: 250 });
        await poller.pollUntilDone();
      } catch (error) {
        if (statusOf(error) === 404) return;
        throw error;
      }
      // Soft-deleted secrets stay recoverable; purge when the identity may (403/409 are fine to leave).
      await client.purgeDeletedSecret(name).catch(() => undefined);
    },
  };
}
