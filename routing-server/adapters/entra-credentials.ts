/** IdentityCredentialFactory over `@azure/identity`: certificate or client-secret credentials for managed identities. */
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import { entraCredentialOptions, type EntraOptions } from '../../common/auth/entra-credential-options.ts';
import type { ManagedIdentity } from '../domain/account.ts';
import { RoutingError } from '../domain/errors.ts';
import type { IdentityCredentialFactory, IdentitySecret } from '../domain/ports.ts';
import { ObservedEntraCredential } from './entra-observed-credential.ts';

/** Chooses the credential kind from the identity's setting or the secret's content type. */
export function credentialKindOf(identity: ManagedIdentity, secret: IdentitySecret): 'certificate' | 'client-secret' {
  if (identity.credentialKind !== 'unspecified') return identity.credentialKind;
  const type = (secret.contentType ?? '').toLowerCase();
  if (type === 'application/x-pkcs12') {
    throw new RoutingError('credential-unavailable', `Key Vault secret '${identity.secretName}' is PKCS#12; store the certificate as PEM (application/x-pem-file)`);
  }
  if (type === 'application/x-pem-file' || secret.value.includes('-----BEGIN')) return 'certificate';
  return 'client-secret';
}

/** See the module comment. */
export class EntraCredentialFactory implements IdentityCredentialFactory {
  /** Uses `options` for every credential. */
  constructor(private readonly options: EntraOptions) {}

  /** A certificate or client-secret credential for `identity` (an ObservedEntraCredential: Entra's 429 / 5xx answers become `dependency-unavailable` with its Retry-After). */
  create(identity: ManagedIdentity, secret: IdentitySecret): TokenCredential {
    const kind = credentialKindOf(identity, secret);
    if (kind === 'certificate' && (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(secret.value) || !secret.value.includes('-----BEGIN CERTIFICATE-----'))) {
      throw new RoutingError('credential-unavailable', `Key Vault secret '${identity.secretName}' must hold a PEM certificate and its private key`);
    }
    return new ObservedEntraCredential((observer) => {
      const common = entraCredentialOptions(this.options);
      const options = { ...common, additionalPolicies: [...common.additionalPolicies, observer] };
      if (kind === 'certificate') {
        return new ClientCertificateCredential(identity.tenantId, identity.clientId, { certificate: secret.value }, { ...options, sendCertificateChain: false });
      }
      return new ClientSecretCredential(identity.tenantId, identity.clientId, secret.value, options);
    });
  }
}
