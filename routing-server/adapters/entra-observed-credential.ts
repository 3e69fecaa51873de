/**
 * Entra ID credentials that say what Entra ID answered. `@azure/identity`
 * (through MSAL) turns a 429 or 5xx into an error without the HTTP status or
 * the `Retry-After` header; a pipeline policy on the credential's own HTTP
 * pipeline sees both, and a failure after such an answer is rethrown as a
 * `dependency-unavailable` RoutingError carrying `retryAfterMs`, so callers
 * wait as long as Entra ID asked. The inner credential is rebuilt after every
 * failure (RebuildingCredential), so MSAL's own throttle memory never stacks a
 * second wait on top of the routing server's back-off.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { RoutingError } from '../domain/errors.ts';
import { RebuildingCredential } from './rebuilding-credential.ts';

/** The pipeline policy entry a credential built for an ObservedEntraCredential must carry in `additionalPolicies`. */
export interface EntraAnswerObserver {
  policy: PipelinePolicy;
  position: 'perRetry';
}

/** What Entra ID last answered with a failure status. */
interface Observed {
  status: number;
  retryAfterMs: number | undefined;
}

/** Milliseconds from a `retry-after-ms` / `x-ms-retry-after-ms` or `Retry-After` (seconds or HTTP date) header. */
export function parseRetryAfter(headers: { get(name: string): string | undefined }, now = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(headers.get(name));
    if (headers.get(name) && Number.isFinite(ms) && ms >= 0) return ms;
  }
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** See the module comment. `build` makes a fresh credential with `policy` among its additional policies. */
export class ObservedEntraCredential implements TokenCredential {
  private observed: Observed | undefined;
  private readonly inner: RebuildingCredential;

  /** Builds the first inner credential with `build`. */
  constructor(build: (observer: EntraAnswerObserver) => TokenCredential) {
    const policy: PipelinePolicy = {
      name: 'fhirmeshEntraAnswer',
      sendRequest: async (request, next) => {
        const response = await next(request);
        if (response.status === 429 || response.status >= 500) this.observed = { status: response.status, retryAfterMs: parseRetryAfter(response.headers) };
        return response;
      },
    };
    this.inner = new RebuildingCredential(() => build({ policy, position: 'perRetry' }));
  }

  private lastAnswer(): Observed | undefined {
    return this.observed;
  }

  /** A token; after a 429 / 5xx answer, a `dependency-unavailable` RoutingError with the status and retry-after. */
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.observed = undefined;
    try {
      return await this.inner.getToken(scopes, options);
    } catch (err) {
      const seen = this.lastAnswer();
      if (!seen) throw err;
      const code = /AADSTS\d+/.exec((err as Error)?.message ?? '')?.[0];
      throw new RoutingError('dependency-unavailable', `Entra ID is unavailable (HTTP ${seen.status}${code ? `, ${code}` : ''}); retry later`, {
        cause: err,
        ...(seen.retryAfterMs !== undefined ? { retryAfterMs: seen.retryAfterMs } : {}),
      });
    }
  }
}
