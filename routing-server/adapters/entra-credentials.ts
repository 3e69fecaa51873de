/** IdentityCredentialFactory over `@azure/identity`: certificate or client-secret credentials for managed identities. */
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { trustCa } from '../../common/azure-tls.ts';
import type { ManagedIdentity } from '../domain/account.ts';
import { RoutingError } from '../domain/errors.ts';
import type { IdentityCredentialFactory, IdentitySecret } from '../domain/ports.ts';
import { ObservedEntraCredential } from './entra-observed-credential.ts';

/** Where Entra ID is. */
export interface EntraOptions {
  /** Authority host, e.g. https://login.microsoftonline.com (or the local stand-in). */
  authorityHost: string;
  /** Private CA to trust (local stand-in). */
  caPem?: string;
  /** Sends the requests (default: the SDK's own Node client). */
  httpClient?: HttpClient;
}

/** Options shared by every credential the mesh builds for Entra ID. */
export function entraCredentialOptions(options: EntraOptions) {
  return {
    authorityHost: options.authorityHost,
    // Instance discovery asks login.microsoftonline.com about the authority; a sovereign or local authority is known already.
    disableInstanceDiscovery: true,
    additionalPolicies: trustCa(options.caPem),
    ...(options.httpClient ? { httpClient: options.httpClient } : {}),
    // One retry layer: callers of the mesh retry UNAVAILABLE with backoff, so the pipeline does not retry too.
    retryOptions: { maxRetries: 0 },
  };
}

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
