/** The account as the domain sees it, and validation of its parts. */
import { validateExportOverrides as validateContractOverrides, type ExportJobConfigurationOverrides } from '../../common/contracts/export-job-configuration.ts';
import { InvalidContractValue } from '../../common/contracts/invalid-value.ts';
import { RoutingError } from './errors.ts';
import { isIP } from 'node:net';
import { bareAddress, refusedAddressCategory } from '../../common/net/address-policy.ts';
import { normaliseResourceUri } from './resource-uri.ts';

export type { ExportJobConfigurationOverrides };

/** Kinds of credential a managed identity's Key Vault secret may hold. */
export type CredentialKind = 'unspecified' | 'certificate' | 'client-secret';

/** A managed identity: who asks Entra ID for tokens on the account's behalf. */
export interface ManagedIdentity {
  /** Application (client) id. */
  clientId: string;
  /** Entra ID tenant id. */
  tenantId: string;
  /** Key Vault secret holding the credential (`mi-secretName`). */
  secretName: string;
  /** Credential kind; unspecified means "by the secret's content type". */
  credentialKind: CredentialKind;
}

/** Account state. */
export type AccountState = 'active' | 'disabled';

/** An account with its identity, as read from the registry. */
export interface AccountRecord {
  /** Service name (registry key). */
  name: string;
  /** Human-readable name. */
  displayName: string;
  /** Lifecycle state. */
  state: AccountState;
  /** Normalised resource URIs the identity may get tokens for. */
  allowedResourceUris: string[];
  /** Export overrides for the account's FHIR service. */
  exportJobConfiguration: ExportJobConfigurationOverrides;
  /** The managed identity. */
  identity: ManagedIdentity;
  /** Version of the account document. */
  etag: string;
  /** Version of the identity document (changes when the identity changes). */
  identityEtag: string;
  /** ISO creation time. */
  createTime: string;
  /** ISO time of the last change. */
  updateTime: string;
}

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/;
const GUIDISH_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SECRET_NAME_RE = /^[0-9a-zA-Z-]{1,127}$/;

/** Checks an account name; throws `invalid-argument`. */
export function validateAccountName(name: string): string {
  if (!NAME_RE.test(name ?? '')) {
    throw new RoutingError('invalid-argument', 'account name must be 3-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit');
  }
  return name;
}

/** Checks a managed identity; throws `invalid-argument` naming the field. */
export function validateIdentity(identity: ManagedIdentity | undefined): ManagedIdentity {
  if (!identity) throw new RoutingError('invalid-argument', 'managed_identity is required');
  if (!GUIDISH_RE.test(identity.clientId)) throw new RoutingError('invalid-argument', 'managed_identity.client_id is required (the application id)');
  if (!GUIDISH_RE.test(identity.tenantId)) throw new RoutingError('invalid-argument', 'managed_identity.tenant_id is required');
  if (!SECRET_NAME_RE.test(identity.secretName)) {
    throw new RoutingError('invalid-argument', 'managed_identity.secret_name must be a Key Vault secret name (1-127 of 0-9, a-z, A-Z, "-")');
  }
  return { ...identity };
}

/**
 * Normalises and checks allowed resource URIs (at least one, at most 64, deduplicated). A URI whose host is an
 * IP address must name a public one (common/net/address-policy.ts): no loopback, private or special-purpose
 * range, no IPv6 form carrying an IPv4 address.
 */
export function validateAllowedResources(uris: string[]): string[] {
  if (!uris || uris.length === 0) throw new RoutingError('invalid-argument', 'allowed_resource_uris needs at least one resource');
  if (uris.length > 64) throw new RoutingError('invalid-argument', 'allowed_resource_uris holds at most 64 resources');
  const out = new Set<string>();
  for (const uri of uris) {
    let normalised: string;
    try {
      normalised = normaliseResourceUri(uri);
    } catch (err) {
      throw new RoutingError('invalid-argument', `allowed_resource_uris: ${(err as Error).message}`);
    }
    const host = bareAddress(new URL(normalised).hostname);
    const category = isIP(host) ? refusedAddressCategory(host) : undefined;
    if (category) throw new RoutingError('invalid-argument', `allowed_resource_uris: ${normalised} names a ${category} address; only public addresses are accepted`);
    out.add(normalised);
  }
  return [...out];
}

/** Checks export overrides against the contract's bounds (common/contracts); throws `invalid-argument` naming the field. */
export function validateExportOverrides(input: ExportJobConfigurationOverrides | undefined): ExportJobConfigurationOverrides {
  try {
    return validateContractOverrides(input);
  } catch (err) {
    if (err instanceof InvalidContractValue) throw new RoutingError('invalid-argument', err.message);
    throw err;
  }
}
