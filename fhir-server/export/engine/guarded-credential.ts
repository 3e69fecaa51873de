/**
 * Wraps the export's `TokenCredential` (the routing credential, or any other)
 * so its failures reach the workers as `CredentialError`s — transient (ask
 * again later) or permanent (the identity was revoked or never allowed) —
 * however deep in the storage pipeline `getToken` was called.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { CredentialError, isTransient } from './failures.ts';

/** `credential` with its errors classified; `onToken` sees each token's expiry (never the token). */
export function guardCredential(credential: TokenCredential, onToken?: (expiresOnTimestamp: number) => void): TokenCredential {
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      let token: AccessToken | null;
      try {
        token = await credential.getToken(scopes, options);
      } catch (error) {
        if (error instanceof CredentialError) throw error;
        throw new CredentialError(error, isTransient(error));
      }
      if (!token) throw new CredentialError(new Error('the credential returned no token'), true);
      onToken?.(token.expiresOnTimestamp);
      return token;
    },
  };
}
