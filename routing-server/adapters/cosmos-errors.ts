/** Maps @azure/cosmos failures to domain errors. */
import { RoutingError } from '../domain/errors.ts';

/** The HTTP-ish status of a Cosmos error, if any. */
export function cosmosStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** A RoutingError for a failed Cosmos call about `what` (e.g. "account contoso"). */
export function mapCosmosError(err: unknown, what: string): RoutingError {
  const status = cosmosStatus(err);
  switch (status) {
    case 404:
      return new RoutingError('not-found', `${what} does not exist`, { cause: err });
    case 409:
      return new RoutingError('already-exists', `${what} already exists`, { cause: err });
    case 412:
      return new RoutingError('stale-version', `${what} was changed by someone else; read it again`, { cause: err });
    default:
      return new RoutingError('dependency-unavailable', `the registry database is unavailable (${status ? `HTTP ${status}` : 'no response'}) reading ${what}; retry later`, {
        cause: err,
      });
  }
}
