/** Resource URIs (token audiences) as the routing domain checks them: the contract's rule, failing as `invalid-argument`. */
import { InvalidContractValue } from '../../common/contracts/invalid-value.ts';
import { normaliseResourceUri as normaliseByContract } from '../../common/contracts/resource-uri.ts';
import { RoutingError } from './errors.ts';

/** Normalises a resource URI (see common/contracts/resource-uri.ts); throws `invalid-argument` saying why. */
export function normaliseResourceUri(input: string): string {
  try {
    return normaliseByContract(input);
  } catch (err) {
    if (err instanceof InvalidContractValue) throw new RoutingError('invalid-argument', err.message);
    throw err;
  }
}
