/**
 * `RoutingTokenCredential`: a `TokenCredential` over the
 * `ExternalResourceTokenClient`, so Azure SDK clients (`@azure/storage-blob`)
 * ask for a token whenever they need one and never hold one past its expiry.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { ExternalResourceTokenClient } from './external-resource-token-client.ts';

/** See the module comment. */
export class RoutingTokenCredential implements TokenCredential {
  /** Wraps `client`; `correlationId` (optional) is sent with every token call made on this credential's behalf. */
  constructor(
    private readonly client: ExternalResourceTokenClient,
    private readonly correlationId?: string,
  ) {}

  /**
   * A token for the one resource named by `scopes` (`https://storage.azure.com/.default`,
   * or the resource URI itself). Rejects several resources at once, as Entra ID does.
   */
  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken> {
    const list = [scopes].flat().filter((s) => s.trim() !== '');
    const resources = new Set(list.map((s) => s.trim().replace(/\/\.default$/, '')));
    if (resources.size !== 1) {
      throw new Error(`RoutingTokenCredential: give exactly one resource scope (got ${list.length === 0 ? 'none' : list.join(', ')})`);
    }
    const [resource] = resources;
    const token = await this.client.getToken(resource!, { abortSignal: options.abortSignal, correlationId: this.correlationId });
    return { token: token.token, expiresOnTimestamp: token.expiresOnTimestamp, refreshAfterTimestamp: token.refreshAfterTimestamp, tokenType: 'Bearer' };
  }
}
