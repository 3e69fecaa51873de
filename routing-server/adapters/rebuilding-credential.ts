/**
 * A TokenCredential that rebuilds its inner credential after a failure. MSAL
 * remembers a throttling or 5xx answer from Entra ID and refuses the same
 * request for up to a minute on its own; the routing server has its own
 * back-off, so after a failure it starts from a fresh credential instead.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

/** See the module comment. */
export class RebuildingCredential implements TokenCredential {
  private inner: TokenCredential;

  /** Builds the first inner credential with `build`. */
  constructor(private readonly build: () => TokenCredential) {
    this.inner = build();
  }

  /** Delegates to the inner credential; on failure, replaces it for the next call and rethrows. */
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const current = this.inner;
    try {
      return await current.getToken(scopes, options);
    } catch (err) {
      if (this.inner === current) this.inner = this.build();
      throw err;
    }
  }
}
