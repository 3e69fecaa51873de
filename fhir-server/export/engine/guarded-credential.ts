/**
 * Wraps the export's `TokenCredential` (the routing credential, or any other)
 * so its failures reach the workers as `CredentialError`s — transient (ask
 * again later) or permanent (the identity was revoked or never allowed, or no
 * token could be had for longer than the token wait) — however deep in the
 * storage pipeline `getToken` was called.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { CredentialError, isTransient } from './failures.ts';
import type { TokenWaits } from './waits.ts';

/** What the guard also does. */
export interface CredentialGuardOptions {
  /** Sees each token's expiry (never the token). */
  onToken?: (expiresOnTimestamp: number) => void;
  /** Told when calls begin and end (since when tokens are missing). */
  waits?: TokenWaits;
  /** Tokens missing this long (`routing.tokenWaitSeconds`) make a transient failure permanent; absent: never. */
  tokenWaitMs?: number;
}

const isAbort = (error: unknown) => (error as { name?: unknown })?.name === 'AbortError';

/** `credential` with its errors classified. */
export function guardCredential(credential: TokenCredential, options: CredentialGuardOptions = {}): TokenCredential {
  return {
    async getToken(scopes: string | string[], getOptions?: GetTokenOptions): Promise<AccessToken | null> {
      const ended = options.waits?.begin();
      let token: AccessToken | null;
      try {
        token = await credential.getToken(scopes, getOptions);
      } catch (error) {
        if (isAbort(error)) {
          ended?.('aborted');
          throw error;
        }
        const failingSince = ended?.('failed');
        if (error instanceof CredentialError) throw error;
        const transient = isTransient(error);
        const waitedMs = failingSince === undefined ? 0 : Date.now() - failingSince;
        if (transient && options.tokenWaitMs !== undefined && waitedMs >= options.tokenWaitMs) {
          throw new CredentialError(error, false, { waitedMs, limitMs: options.tokenWaitMs });
        }
        throw new CredentialError(error, transient);
      }
      if (!token) {
        ended?.('failed');
        throw new CredentialError(new Error('the credential returned no token'), true);
      }
      ended?.('token');
      options.onToken?.(token.expiresOnTimestamp);
      return token;
    },
  };
}
