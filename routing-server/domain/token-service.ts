/** The GetToken use case: who is calling, may they have this resource, and the token. */
import type { AccountCache } from './account-cache.ts';
import type { AccountRecord } from './account.ts';
import { RoutingError } from './errors.ts';
import type { RefreshTokenManager, RefreshTokenPrincipal } from './refresh-tokens.ts';
import { normaliseResourceUri } from './resource-uri.ts';
import type { ManagedIdentityResourceTokenProvider, ResourceToken } from './token-provider.ts';

/** Authenticates callers by refresh token and hands out tokens for their own identity only. */
export class TokenUseCases {
  /** Wires the use cases to the domain services. */
  constructor(
    private readonly refreshTokens: RefreshTokenManager,
    private readonly accounts: AccountCache,
    private readonly provider: ManagedIdentityResourceTokenProvider,
  ) {}

  /** The caller's principal and active account; `unauthenticated` / `permission-denied` (or `resource-exhausted` for `peer`) otherwise. */
  async authenticate(refreshToken: string | undefined, peer?: string): Promise<{ principal: RefreshTokenPrincipal; account: AccountRecord }> {
    const principal = await this.refreshTokens.validate(refreshToken, peer);
    const account = await this.accounts.get(principal.accountName);
    if (account.state !== 'active') throw new RoutingError('permission-denied', `account ${account.name} is disabled`);
    return { principal, account };
  }

  /**
   * The cached token for `resourceUri` from memory alone (no I/O, no awaiting), or undefined when anything
   * is not cached or the call would fail: the caller then takes the full path, which says why.
   */
  getCachedToken(refreshToken: string | undefined, resourceUri: string): ResourceToken | undefined {
    const principal = this.refreshTokens.validateCached(refreshToken);
    const account = principal && this.accounts.peek(principal.accountName);
    if (!account || account.state !== 'active') return undefined;
    let resource: string;
    try {
      resource = normaliseResourceUri(resourceUri);
    } catch {
      return undefined;
    }
    if (!account.allowedResourceUris.includes(resource)) return undefined;
    return this.provider.peekToken(account, resource);
  }

  /** A token for `resourceUri` as the caller's managed identity (`peer`: the caller's address). */
  async getToken(refreshToken: string | undefined, resourceUri: string, peer?: string): Promise<ResourceToken> {
    const { account } = await this.authenticate(refreshToken, peer);
    const resource = normaliseResourceUri(resourceUri);
    if (!account.allowedResourceUris.includes(resource)) {
      throw new RoutingError('permission-denied', `account ${account.name} may not get tokens for ${resource}`);
    }
    return this.provider.getToken(account, resource);
  }
}
