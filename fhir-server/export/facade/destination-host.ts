/**
 * Where a client-supplied destination host leads, checked at kick-off: its
 * literal address, or every address DNS gives for its name, must be public
 * (common/net/address-policy.ts), unless `host:port` is on the local-testing
 * allow-list. The export worker checks again when it connects
 * (common/net/guarded-connect.ts), so a name whose answer changes later is
 * refused then too.
 */
import type { HostPortAllowList } from '../../../common/net/host-allow-list.ts';
import { AddressRefusedError, vetHost, type HostLookup } from '../../../common/net/guarded-connect.ts';
import { FhirError } from '../../fhir/errors.ts';

export type { HostLookup } from '../../../common/net/guarded-connect.ts';

/** How destination hosts are checked. */
export interface DestinationHostPolicy {
  /** `host:port` endpoints exempt from the address check (local testing, e.g. Azurite on 127.0.0.1:10000). */
  allow?: HostPortAllowList;
  /** DNS lookup (default: the system resolver, every address). */
  lookup?: HostLookup;
}

// DNS answers that say the name does not exist (the client's mistake) rather than that DNS failed.
const missingName = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME']);

/** Refuses `host:port` (a URL hostname; IPv6 in brackets) unless it and all its addresses are public or it is allowed. */
export async function checkDestinationHost(host: string, port: number, policy: DestinationHostPolicy, parameter = '_destination'): Promise<void> {
  try {
    await vetHost(host, port, { ...(policy.allow ? { allow: policy.allow } : {}), ...(policy.lookup ? { lookup: policy.lookup } : {}) });
  } catch (err) {
    if (err instanceof AddressRefusedError) {
      throw new FhirError('invalid', `${parameter} host ${host} leads to a ${err.category} address; only public storage endpoints are accepted`, { expression: parameter });
    }
    const code = (err as { code?: string }).code;
    if (code && missingName.has(code)) throw new FhirError('invalid', `${parameter} host ${host} does not resolve`, { expression: parameter });
    throw new FhirError('unavailable', `The ${parameter} host could not be resolved right now (${code ?? 'DNS error'}); retry later`, { cause: err, retryAfterSeconds: 30 });
  }
}
