/** Maps @azure/cosmos failures to domain errors. */
import { RoutingError } from '../domain/errors.ts';

/** The HTTP-ish status of a Cosmos error, if any. */
export function cosmosStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** A short, secret-free account of why a Cosmos call failed: `HTTP 503`, `ECONNREFUSED`, `TimeoutError` or `no response`. */
export function describeCosmosFailure(err: unknown): string {
  const status = cosmosStatus(err);
  if (status) return `HTTP ${status}`;
  const e = err as { code?: unknown; name?: unknown } | null;
  if (typeof e?.code === 'string' && /^[A-Z_]+$/.test(e.code)) return e.code;
  if (e?.name === 'TimeoutError') return 'TimeoutError';
  return 'no response';
}

/** A RoutingError for a failed Cosmos call about `what` (e.g. "account contoso"); RoutingErrors pass through. */
export function mapCosmosError(err: unknown, what: string): RoutingError {
  if (err instanceof RoutingError) return err;
  const status = cosmosStatus(err);
  switch (status) {
    case 404:
      return new RoutingError('not-found', `${what} does not exist`, { cause: err });
    case 409:
      return new RoutingError('already-exists', `${what} already exists`, { cause: err });
    case 412:
      return new RoutingError('stale-version', `${what} was changed by someone else; read it again`, { cause: err });
    default:
      return new RoutingError('dependency-unavailable', `the registry database (Cosmos DB) is unavailable (${describeCosmosFailure(err)}) reading ${what}; retry later`, {
        cause: err,
      });
  }
}
