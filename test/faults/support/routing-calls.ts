/** Shared steps of the routing fault tests: GetToken over TLS, retry-after-ms, and a bounded retry loop that records what happened. */
import { status, type ServiceError } from '@grpc/grpc-js';
import { TokenServiceClient, type GetTokenResponse } from '../../../gen/fhirmesh/routing/v1/token_service.ts';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../../common/grpc/client.ts';

/** The storage resource every test account may get tokens for. */
export const STORAGE = 'https://storage.azure.com';

/** A TokenService client for `address`, trusting `caPem`. */
export function tokenClient(address: string, caPem: string): TokenServiceClient {
  return new TokenServiceClient(address, tlsChannelCredentials(caPem));
}

/** One GetToken call with `refreshToken` (5 s deadline). */
export function getToken(client: TokenServiceClient, refreshToken: string, resourceUri = STORAGE): Promise<GetTokenResponse> {
  return unaryCall(client.getToken, client, { resourceUri }, bearerMetadata(refreshToken), 5_000);
}

/** The `retry-after-ms` of a failed call, if it carried one. */
export function retryAfterMs(err: ServiceError): number | undefined {
  const raw = err.metadata?.get('retry-after-ms')[0];
  return raw === undefined ? undefined : Number(raw);
}

/** A failed attempt as seen by a caller. */
export interface FailedAttempt {
  code: status;
  details: string;
  retryAfterMs: number | undefined;
}

/**
 * Calls `call` until it succeeds, waiting `retry-after-ms` (or 1 s) after each UNAVAILABLE, at most
 * `maxAttempts` times; any other status is rethrown. Returns the answer and the failures seen.
 */
export async function untilAnswered<T>(call: () => Promise<T>, maxAttempts = 20): Promise<{ value: T; failures: FailedAttempt[] }> {
  const failures: FailedAttempt[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await call(), failures };
    } catch (e) {
      const err = e as ServiceError;
      if (err.code !== status.UNAVAILABLE || attempt >= maxAttempts) throw new Error(`attempt ${attempt}: ${status[err.code] ?? err.code}: ${err.details ?? err.message}`);
      const wait = retryAfterMs(err);
      failures.push({ code: err.code, details: err.details, retryAfterMs: wait });
      await sleep(wait ?? 1_000);
    }
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Throws when `text` contains anything shaped like a credential (refresh token, JWT, PEM). */
export function assertNoSecret(text: string): void {
  if (/fmrt_|eyJ[\w-]{10,}\.|BEGIN [A-Z ]*PRIVATE KEY/.test(text)) throw new Error(`a secret leaked into: ${text.slice(0, 200)}`);
}
