/** How accounts and refresh-token infos are shown: aligned text, or the proto JSON mapping with `--json`. */
import { Account, AccountState, CredentialKind, RefreshTokenInfo, RefreshTokenState } from '../gen/fhirmesh/routing/v1/account.ts';
import { columns, isoOrDash } from './io.ts';

const stateNames: Record<number, string> = { [AccountState.ACCOUNT_STATE_ACTIVE]: 'active', [AccountState.ACCOUNT_STATE_DISABLED]: 'disabled', [AccountState.ACCOUNT_STATE_UNSPECIFIED]: 'active' };
const kindNames: Record<number, string> = { [CredentialKind.CREDENTIAL_KIND_CERTIFICATE]: 'certificate', [CredentialKind.CREDENTIAL_KIND_CLIENT_SECRET]: 'client secret', [CredentialKind.CREDENTIAL_KIND_UNSPECIFIED]: 'by content type' };
const tokenStateNames: Record<number, string> = {
  [RefreshTokenState.REFRESH_TOKEN_STATE_ACTIVE]: 'active',
  [RefreshTokenState.REFRESH_TOKEN_STATE_ROTATED]: 'rotated',
  [RefreshTokenState.REFRESH_TOKEN_STATE_REVOKED]: 'revoked',
  [RefreshTokenState.REFRESH_TOKEN_STATE_EXPIRED]: 'expired',
  [RefreshTokenState.REFRESH_TOKEN_STATE_UNSPECIFIED]: '-',
};

/** The export overrides as `key=value` pairs, or "none". */
export function overridesText(account: Account): string {
  const entries = Object.entries(account.fhirProperties?.exportJobConfiguration ?? {}).filter(([, v]) => v !== undefined);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

/** The lines of `account show`. */
export function accountLines(account: Account): string[] {
  const mi = account.managedIdentity;
  return columns([
    ['name', account.name],
    ['display name', account.displayName],
    ['state', stateNames[account.state] ?? String(account.state)],
    ['allowed resources', account.allowedResourceUris.join(', ') || 'none'],
    ['client id', mi?.clientId ?? '-'],
    ['tenant id', mi?.tenantId ?? '-'],
    ['secret name', mi?.secretName ?? '-'],
    ['credential kind', kindNames[mi?.credentialKind ?? 0] ?? '-'],
    ['export overrides', overridesText(account)],
    ['etag', account.etag || '-'],
    ['created', isoOrDash(account.createTime)],
    ['updated', isoOrDash(account.updateTime)],
  ]);
}

/** The lines of `account list`: one row per account. */
export function accountTable(accounts: Account[]): string[] {
  return columns([['NAME', 'STATE', 'CLIENT ID', 'ALLOWED RESOURCES'], ...accounts.map((a) => [a.name, stateNames[a.state] ?? '-', a.managedIdentity?.clientId ?? '-', a.allowedResourceUris.join(',')])]);
}

/** The lines of `account token list`. */
export function tokenTable(tokens: RefreshTokenInfo[]): string[] {
  return columns([['TOKEN ID', 'FAMILY', 'STATE', 'CREATED', 'EXPIRES'], ...tokens.map((t) => [t.tokenId, t.familyId, tokenStateNames[t.state] ?? '-', isoOrDash(t.createTime), isoOrDash(t.expireTime)])]);
}

/** Proto JSON of an account (for `--json`). */
export function accountJson(account: Account): unknown {
  return Account.toJSON(account);
}

/** Proto JSON of a token info (for `--json`). */
export function tokenInfoJson(info: RefreshTokenInfo): unknown {
  return RefreshTokenInfo.toJSON(info);
}
