/**
 * Where a client-supplied destination host leads: its literal address, or
 * every address DNS gives for its name, must be public (address-policy.ts),
 * unless the host is on the configured allow-list (a local Azurite, say).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { FhirError } from '../../fhir/errors.ts';
import { nonPublicCategory } from './address-policy.ts';

/** Resolves a host name to all its addresses. */
export type HostLookup = (host: string) => Promise<{ address: string; family: number }[]>;

/** How destination hosts are checked. */
export interface DestinationHostPolicy {
  /** Host names or IP literals exempt from the address check (exact, case-insensitive), e.g. `127.0.0.1` for Azurite. */
  allowedHosts?: readonly string[];
  /** DNS lookup (default: the system resolver, every address). */
  lookup?: HostLookup;
}

const systemLookup: HostLookup = (host) => dnsLookup(host, { all: true, verbatim: true });

// DNS answers that say the name does not exist (the client's mistake) rather than that DNS failed.
const missingName = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME']);

/** Refuses `host` (a URL hostname; IPv6 in brackets) unless it and all its addresses are public or it is allowed. */
export async function checkDestinationHost(host: string, policy: DestinationHostPolicy, parameter = '_destination'): Promise<void> {
  const bare = host.toLowerCase().replace(/^\[|\]$/g, '');
  const allowed = (policy.allowedHosts ?? []).map((h) => h.toLowerCase().replace(/^\[|\]$/g, ''));
  if (allowed.includes(bare)) return;
  const refuse = (category: string) =>
    new FhirError('invalid', `${parameter} host ${host} leads to a ${category} address; only public storage endpoints are accepted`, { expression: parameter });
  if (isIP(bare)) {
    const category = nonPublicCategory(bare);
    if (category) throw refuse(category);
    return;
  }
  let addresses: { address: string }[];
  try {
    addresses = await (policy.lookup ?? systemLookup)(bare);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code && missingName.has(code)) throw new FhirError('invalid', `${parameter} host ${host} does not resolve`, { expression: parameter });
    throw new FhirError('unavailable', `The ${parameter} host could not be resolved right now (${code ?? 'DNS error'}); retry later`, { cause: err, retryAfterSeconds: 30 });
  }
  if (addresses.length === 0) throw new FhirError('invalid', `${parameter} host ${host} does not resolve`, { expression: parameter });
  for (const { address } of addresses) {
    const category = nonPublicCategory(address);
    if (category) throw refuse(category);
  }
}
