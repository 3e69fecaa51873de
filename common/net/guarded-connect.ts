/**
 * Connect-time enforcement of the address policy (address-policy.ts) for
 * URLs an admin or a client supplied: the host is resolved when the
 * connection is made, every address it resolves to must be public, and the
 * socket connects only to the addresses that were checked — so a name that
 * changes its answer after an earlier check (DNS rebinding) is still refused.
 * `host:port` pairs on the allow-list are exempt.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';
import { bareAddress, refusedAddressCategory } from './address-policy.ts';
import { HostPortAllowList } from './host-allow-list.ts';

/** Resolves a host name to all its addresses. */
export type HostLookup = (host: string) => Promise<{ address: string; family: number }[]>;

/** How hosts are checked. */
export interface AddressGuard {
  /** Endpoints exempt from the check (local testing). */
  allow?: HostPortAllowList;
  /** DNS lookup (default: the system resolver, every address). */
  lookup?: HostLookup;
}

/** A connection refused by the policy. Says which host and what kind of address, nothing else. */
export class AddressRefusedError extends Error {
  override readonly name = 'AddressRefusedError';
  /** A code in the style of Node's network errors. */
  readonly code = 'EADDRNOTPUBLIC';

  /** Refuses `host`, which leads to a `category` address. */
  constructor(
    readonly host: string,
    readonly category: string,
  ) {
    super(`${host} leads to a ${category} address; only public addresses are accepted`);
  }
}

const systemLookup: HostLookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** The addresses `host:port` may be reached at, every one of them checked; throws AddressRefusedError or the DNS error. */
export async function vetHost(host: string, port: number, guard: AddressGuard = {}): Promise<LookupAddress[]> {
  const bare = bareAddress(host);
  const allowed = guard.allow?.allows(bare, port) ?? false;
  const family = isIP(bare);
  if (family) {
    const category = allowed ? undefined : refusedAddressCategory(bare);
    if (category) throw new AddressRefusedError(host, category);
    return [{ address: bare, family }];
  }
  const addresses = await (guard.lookup ?? systemLookup)(bare);
  if (addresses.length === 0) throw Object.assign(new Error(`${host} does not resolve`), { code: 'ENOTFOUND' });
  if (!allowed) {
    for (const { address } of addresses) {
      const category = refusedAddressCategory(address);
      if (category) throw new AddressRefusedError(host, category);
    }
  }
  return addresses.map(({ address, family: f }) => ({ address, family: f }));
}

/** A `lookup` for `net.connect` that answers only with checked addresses of `host:port`. */
function guardedLookup(port: number, guard: AddressGuard): LookupFunction {
  return (hostname, options, callback) => {
    vetHost(hostname, port, guard).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname} has no IPv${options.family} address`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return (callback as unknown as (err: null, all: LookupAddress[]) => void)(null, wanted);
        return callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

/** An HTTPS agent that connects only to addresses the policy allows (checked at each new connection). */
export class GuardedAgent extends Agent {
  readonly #guard: AddressGuard;

  /** Creates the agent; `options` as for `https.Agent` (CA, keep-alive). */
  constructor(guard: AddressGuard, options: AgentOptions = {}) {
    super(options);
    this.#guard = guard;
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | undefined {
    const host = String(options.host ?? 'localhost');
    const port = Number(options.port ?? 443);
    const bare = bareAddress(host);
    if (isIP(bare)) {
      // net.connect never looks an IP literal up: check it here.
      const category = this.#guard.allow?.allows(bare, port) ? undefined : refusedAddressCategory(bare);
      if (category) {
        process.nextTick(() => callback?.(new AddressRefusedError(host, category), undefined as unknown as Duplex));
        return undefined;
      }
      return (Agent.prototype as unknown as { createConnection(o: unknown): Duplex }).createConnection.call(this, options);
    }
    return (Agent.prototype as unknown as { createConnection(o: unknown): Duplex }).createConnection.call(this, { ...options, lookup: guardedLookup(port, this.#guard) });
  }
}
