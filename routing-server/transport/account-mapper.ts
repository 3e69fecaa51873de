/** Conversions between the wire `Account` and the domain `AccountRecord`. */
import {
  AccountState,
  CredentialKind,
  RefreshTokenState,
  type Account,
  type ExportJobConfiguration,
  type RefreshTokenInfo,
} from '../../gen/fhirmesh/routing/v1/account.ts';
import type { AccountRecord, CredentialKind as DomainCredentialKind, ExportJobConfigurationOverrides } from '../domain/account.ts';
import type { RefreshTokenDocument } from '../domain/ports.ts';

const kindToDomain: Record<number, DomainCredentialKind> = {
  [CredentialKind.CREDENTIAL_KIND_UNSPECIFIED]: 'unspecified',
  [CredentialKind.CREDENTIAL_KIND_CERTIFICATE]: 'certificate',
  [CredentialKind.CREDENTIAL_KIND_CLIENT_SECRET]: 'client-secret',
};

/** Wire account → domain fields (unvalidated). */
export function accountFromWire(account: Account): Omit<AccountRecord, 'etag' | 'identityEtag' | 'createTime' | 'updateTime'> {
  const mi = account.managedIdentity;
  return {
    name: account.name,
    displayName: account.displayName || account.name,
    state: account.state === AccountState.ACCOUNT_STATE_DISABLED ? 'disabled' : 'active',
    allowedResourceUris: account.allowedResourceUris,
    exportJobConfiguration: exportFromWire(account.fhirProperties?.exportJobConfiguration),
    identity: {
      clientId: mi?.clientId ?? '',
      tenantId: mi?.tenantId ?? '',
      secretName: mi?.secretName ?? '',
      credentialKind: kindToDomain[mi?.credentialKind ?? 0] ?? 'unspecified',
    },
  };
}

/** Wire overrides → domain overrides (absent stays absent). */
export function exportFromWire(config: ExportJobConfiguration | undefined): ExportJobConfigurationOverrides {
  const out: ExportJobConfigurationOverrides = {};
  if (!config) return out;
  for (const [key, value] of Object.entries(config)) if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  return out;
}

/** Domain account → wire account. */
export function accountToWire(record: AccountRecord): Account {
  const kind = Object.entries(kindToDomain).find(([, v]) => v === record.identity.credentialKind)?.[0];
  return {
    name: record.name,
    displayName: record.displayName,
    state: record.state === 'disabled' ? AccountState.ACCOUNT_STATE_DISABLED : AccountState.ACCOUNT_STATE_ACTIVE,
    fhirProperties: { exportJobConfiguration: { ...record.exportJobConfiguration } },
    allowedResourceUris: record.allowedResourceUris,
    managedIdentity: {
      clientId: record.identity.clientId,
      tenantId: record.identity.tenantId,
      secretName: record.identity.secretName,
      credentialKind: Number(kind ?? 0) as CredentialKind,
    },
    etag: record.etag,
    createTime: new Date(record.createTime),
    updateTime: new Date(record.updateTime),
  };
}

const tokenState: Record<string, RefreshTokenState> = {
  active: RefreshTokenState.REFRESH_TOKEN_STATE_ACTIVE,
  rotated: RefreshTokenState.REFRESH_TOKEN_STATE_ROTATED,
  revoked: RefreshTokenState.REFRESH_TOKEN_STATE_REVOKED,
  expired: RefreshTokenState.REFRESH_TOKEN_STATE_EXPIRED,
};

/** Stored token document → wire info (never the value or hash). */
export function tokenInfoToWire(doc: RefreshTokenDocument, state: string): RefreshTokenInfo {
  return {
    tokenId: doc.tokenId,
    familyId: doc.familyId,
    createTime: new Date(doc.createTime),
    expireTime: new Date(doc.expireTime),
    state: tokenState[state] ?? RefreshTokenState.REFRESH_TOKEN_STATE_UNSPECIFIED,
  };
}
