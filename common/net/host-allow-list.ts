/**
 * The local-testing exemption from the address policy: `host:port` pairs
 * (`127.0.0.1:10000`, `[::1]:8443`, `localhost:8443`). An entry names one
 * endpoint, never a whole host: an entry without a port is a configuration
 * error, so a loopback exemption for Azurite does not open every other
 * service on the same machine.
 */
import { bareAddress } from './address-policy.ts';

const ENTRY = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/@]+):(\d{1,5})$/;

/** See the module comment. */
export class HostPortAllowList {
  readonly #entries: ReadonlySet<string>;

  private constructor(entries: Iterable<string>) {
    this.#entries = new Set(entries);
  }

  /** Parses comma-separated (or listed) `host:port` entries; throws naming the first entry that has no port. */
  static parse(entries: string | readonly string[] | undefined): HostPortAllowList {
    const list = (typeof entries === 'string' ? entries.split(',') : entries ?? []).map((e) => e.trim()).filter(Boolean);
    return new HostPortAllowList(
      list.map((entry) => {
        const match = ENTRY.exec(entry);
        const port = match ? Number(match[2]) : 0;
        if (!match || port < 1 || port > 65535) throw new Error(`allow-list entry "${entry}" must be host:port (an IPv6 host in brackets): one endpoint, not a whole host`);
        return key(match[1]!, port);
      }),
    );
  }

  /** True when `host` (a URL hostname; IPv6 with or without brackets) and `port` are listed together. */
  allows(host: string, port: number | string): boolean {
    return this.#entries.size > 0 && this.#entries.has(key(host, Number(port)));
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }
}

function key(host: string, port: number): string {
  return `${bareAddress(host).toLowerCase()} ${port}`;
}

/** The port a URL connects to (its explicit port, else the scheme's default). */
export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
}
