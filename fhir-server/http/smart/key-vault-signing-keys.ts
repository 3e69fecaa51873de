/**
 * SMART signing keys kept as one Key Vault secret (a PKCS#8 PEM per version),
 * shared by every fhir-server instance of the account. The newest enabled
 * version signs; it and the two before it verify (a rotation keeps the
 * previous key valid, and first-start races of up to three instances stay
 * covered). Rotating is setting a new version. On first start the secret is absent and each starting instance
 * sets a fresh key: when several race, each stores a version, every one
 * re-reads, and all converge on the newest (an instance that read early picks
 * up the newer key when a token names it). Errors carry the status only.
 */
import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/core-auth';
import { trustCa } from '../../../common/azure-tls.ts';
import { generateSigningKeyPem, type SigningKeySource } from './signing-keys.ts';

/** Options of the Key Vault source. */
export interface KeyVaultSigningKeysOptions {
  /** Vault URL. */
  vaultUrl: string;
  /** The fhir-server's identity (secrets get, list, set). */
  credential: TokenCredential;
  /** Secret name (default `fhir-smart-signing-key`). */
  secretName?: string;
  /** Private CA (stand-in, private endpoint). */
  caPem?: string;
}

/** Default secret name. */
export const defaultSigningKeySecretName = 'fhir-smart-signing-key';

/** Versions that verify: the current one and two before it. */
const VERIFYING_VERSIONS = 3;

const isAzureVault = (url: string) => /\.vault\.azure\.(net|cn)$|\.vault\.usgovcloudapi\.net$/.test(new URL(url).hostname);
const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

function vaultError(doing: string, err: unknown): Error {
  const status = statusOf(err);
  return new Error(`Key Vault failed while ${doing} the SMART signing key (${status ? `HTTP ${status}` : 'no response'})`);
}

/** A `SigningKeySource` over one Key Vault secret. */
export function keyVaultSigningKeySource(options: KeyVaultSigningKeysOptions): SigningKeySource {
  const name = options.secretName ?? defaultSigningKeySecretName;
  const client = new SecretClient(options.vaultUrl, options.credential, {
    disableChallengeResourceVerification: !isAzureVault(options.vaultUrl),
    additionalPolicies: trustCa(options.caPem),
    retryOptions: { maxRetries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
  });

  const enabledVersions = async (): Promise<string[]> => {
    const versions: { version: string; created: number; at: number }[] = [];
    try {
      for await (const p of client.listPropertiesOfSecretVersions(name)) {
        if (p.enabled !== false && p.version && (!p.expiresOn || p.expiresOn.getTime() > Date.now())) versions.push({ version: p.version, created: p.createdOn?.getTime() ?? 0, at: versions.length });
      }
    } catch (err) {
      if (statusOf(err) !== 404) throw vaultError('listing', err);
    }
    // Newest first; versions created in the same second: the later listed first (Key Vault lists in creation order).
    return versions.sort((a, b) => b.created - a.created || b.at - a.at).slice(0, VERIFYING_VERSIONS).map((v) => v.version);
  };

  const read = async (versions: string[]) => {
    try {
      return await Promise.all(versions.map(async (version) => (await client.getSecret(name, { version })).value!));
    } catch (err) {
      throw vaultError('reading', err);
    }
  };

  return {
    description: `Key Vault secret ${name} at ${options.vaultUrl}`,
    mayBeUnreachableAtStart: true,
    async load() {
      let versions = await enabledVersions();
      if (versions.length === 0) {
        try {
          await client.setSecret(name, generateSigningKeyPem(), { contentType: 'application/x-pem-file', tags: { purpose: 'fhirmesh-smart-access-token-signing' } });
        } catch (err) {
          throw vaultError('creating', err);
        }
        versions = await enabledVersions();
      }
      return read(versions);
    },
  };
}
