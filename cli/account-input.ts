/** Account create and update requests from command-line options. */
import { AccountState, CredentialKind, type Account, type ManagedIdentityMetadata } from '../gen/fhirmesh/routing/v1/account.ts';
import { CliError, ExitCode } from './errors.ts';
import { exportOverridesFrom, hasExportChanges } from './export-config-input.ts';

/** The account options of `account provision` and `account update`. */
export interface AccountOptions {
  displayName?: string;
  clientId?: string;
  tenantId?: string;
  secretName?: string;
  credentialKind?: string;
  allowedResource?: string[];
  disabled?: boolean;
  enable?: boolean;
  disable?: boolean;
  [exportField: string]: unknown;
}

const kinds: Record<string, CredentialKind> = {
  auto: CredentialKind.CREDENTIAL_KIND_UNSPECIFIED,
  certificate: CredentialKind.CREDENTIAL_KIND_CERTIFICATE,
  'client-secret': CredentialKind.CREDENTIAL_KIND_CLIENT_SECRET,
};

/** Names of the credential kinds accepted by `--credential-kind`. */
export const credentialKindNames = Object.keys(kinds);

function kindOf(name: string | undefined): CredentialKind {
  return kinds[name ?? 'auto'] ?? CredentialKind.CREDENTIAL_KIND_UNSPECIFIED;
}

/** The account to create; `defaultTenantId` fills a missing `--tenant-id`. */
export function accountToCreate(name: string, opts: AccountOptions, defaultTenantId: string | undefined): Account {
  const tenantId = opts.tenantId ?? defaultTenantId;
  const missing = [!opts.clientId && '--client-id', !opts.secretName && '--secret-name', !tenantId && '--tenant-id (or FHIRMESH_TENANT_ID)', !opts.allowedResource?.length && '--allowed-resource'].filter(Boolean);
  if (missing.length > 0) throw new CliError(`account provision needs ${missing.join(', ')}`, ExitCode.usage);
  return {
    name,
    displayName: opts.displayName ?? name,
    state: opts.disabled ? AccountState.ACCOUNT_STATE_DISABLED : AccountState.ACCOUNT_STATE_ACTIVE,
    allowedResourceUris: opts.allowedResource!,
    managedIdentity: { clientId: opts.clientId!, tenantId: tenantId!, secretName: opts.secretName!, credentialKind: kindOf(opts.credentialKind) },
    fhirProperties: { exportJobConfiguration: exportOverridesFrom(opts) },
    etag: '',
  };
}

/** The changed account and its update mask, over `current` (whose etag guards the update). */
export function accountUpdate(current: Account, opts: AccountOptions): { account: Account; updateMask: string[] } {
  if (opts.enable && opts.disable) throw new CliError('give --enable or --disable, not both', ExitCode.usage);
  const mask: string[] = [];
  const account: Account = { ...current, createTime: undefined, updateTime: undefined };
  if (opts.displayName !== undefined) {
    account.displayName = opts.displayName;
    mask.push('display_name');
  }
  if (opts.enable || opts.disable) {
    account.state = opts.disable ? AccountState.ACCOUNT_STATE_DISABLED : AccountState.ACCOUNT_STATE_ACTIVE;
    mask.push('state');
  }
  if (opts.allowedResource !== undefined) {
    account.allowedResourceUris = opts.allowedResource;
    mask.push('allowed_resource_uris');
  }
  if ([opts.clientId, opts.tenantId, opts.secretName, opts.credentialKind].some((v) => v !== undefined)) {
    const mi: ManagedIdentityMetadata = current.managedIdentity ?? { clientId: '', tenantId: '', secretName: '', credentialKind: CredentialKind.CREDENTIAL_KIND_UNSPECIFIED };
    account.managedIdentity = {
      clientId: opts.clientId ?? mi.clientId,
      tenantId: opts.tenantId ?? mi.tenantId,
      secretName: opts.secretName ?? mi.secretName,
      credentialKind: opts.credentialKind !== undefined ? kindOf(opts.credentialKind) : mi.credentialKind,
    };
    mask.push('managed_identity');
  }
  if (hasExportChanges(opts)) {
    account.fhirProperties = { exportJobConfiguration: exportOverridesFrom(opts, current.fhirProperties?.exportJobConfiguration) };
    mask.push('fhir_properties.export_job_configuration');
  }
  if (mask.length === 0) throw new CliError('account update: nothing to change (see fhirmesh account update --help)', ExitCode.usage);
  return { account, updateMask: mask };
}
