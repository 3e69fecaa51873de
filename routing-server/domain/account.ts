/** The account as the domain sees it, and validation of its parts. */
import { RoutingError } from './errors.ts';
import { isIP } from 'node:net';
import { bareAddress, refusedAddressCategory } from '../../common/net/address-policy.ts';
import { normaliseResourceUri } from './resource-uri.ts';

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

/** Per-account overrides of a FHIR service's export settings; absent = not overridden. */
export interface ExportJobConfigurationOverrides {
  storageAccountUri?: string;
  maximumNumberOfConcurrentJobsAllowed?: number;
  jobHeartbeatTimeoutThresholdSeconds?: number;
  jobPollingFrequencySeconds?: number;
  maximumNumberOfResourcesPerQuery?: number;
  numberOfPagesPerCommit?: number;
  rollingFileSizeInMb?: number;
  maxJobRestartCount?: number;
  defaultContainer?: string;
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
const CONTAINER_RE = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

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

const INT_RULES: Record<string, [number, number]> = {
  maximumNumberOfConcurrentJobsAllowed: [1, 64],
  jobHeartbeatTimeoutThresholdSeconds: [5, 86_400],
  jobPollingFrequencySeconds: [1, 3_600],
  maximumNumberOfResourcesPerQuery: [1, 10_000],
  numberOfPagesPerCommit: [1, 1_000],
  rollingFileSizeInMb: [1, 100_000],
  maxJobRestartCount: [0, 100],
};

/** Checks export overrides against the same bounds the FHIR service enforces; throws naming the field. */
export function validateExportOverrides(input: ExportJobConfigurationOverrides | undefined): ExportJobConfigurationOverrides {
  const out: ExportJobConfigurationOverrides = {};
  if (!input) return out;
  for (const [key, [min, max]] of Object.entries(INT_RULES)) {
    const value = (input as Record<string, unknown>)[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new RoutingError('invalid-argument', `export_job_configuration.${key} must be an integer from ${min} to ${max}`);
    }
    (out as Record<string, number>)[key] = value;
  }
  if (input.storageAccountUri !== undefined && input.storageAccountUri !== '') {
    try {
      out.storageAccountUri = normaliseResourceUri(input.storageAccountUri);
    } catch (err) {
      throw new RoutingError('invalid-argument', `export_job_configuration.storage_account_uri: ${(err as Error).message}`);
    }
  }
  if (input.defaultContainer !== undefined && input.defaultContainer !== '') {
    if (!CONTAINER_RE.test(input.defaultContainer)) {
      throw new RoutingError('invalid-argument', 'export_job_configuration.default_container must be a storage container name (3-63 of a-z, 0-9, "-")');
    }
    out.defaultContainer = input.defaultContainer;
  }
  return out;
}
