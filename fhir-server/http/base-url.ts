/**
 * The one place that decides the FHIR base URL every link the server builds
 * starts with (`Location`, `Content-Location`, status and manifest URLs, the
 * manifest's `request`, `/metadata`, the SMART `token_endpoint`). It never
 * comes from what a client sends: `publicBaseUrl` when configured; else what a
 * configured trusted proxy forwards (`X-Forwarded-Proto`/`-Host` or
 * `Forwarded`); else the listening address (the certificate's name when
 * listening on every interface).
 */
import type { FastifyRequest } from 'fastify';
import { BlockList, isIP } from 'node:net';
import { hostname } from 'node:os';
import { X509Certificate } from 'node:crypto';

/** The base URL (no trailing slash) for links in the answer to `request`. */
export type BaseUrlOf = (request: FastifyRequest) => string;

/** Where {@link baseUrlResolver} takes the base URL from. */
export interface BaseUrlSources {
  /** `publicBaseUrl`: wins over everything. */
  publicBaseUrl?: string;
  /** `https://host:port` of the listener (`listenBaseUrl`; known once listening). */
  listenBase: () => string;
  /** Addresses or CIDR ranges of reverse proxies whose forwarded headers are believed. */
  trustedProxies?: readonly string[];
  /** Path prefix of the FHIR routes, appended to the listen base and a forwarded origin. */
  prefix?: string;
}

/** `url` without trailing slashes. */
export function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** A fixed base URL for every request. */
export function fixedBaseUrl(url: string): BaseUrlOf {
  const base = withoutTrailingSlash(url);
  return () => base;
}

/** `baseUrl` as a function: a string is a fixed base. */
export function baseUrlOf(baseUrl: string | BaseUrlOf): BaseUrlOf {
  return typeof baseUrl === 'string' ? fixedBaseUrl(baseUrl) : baseUrl;
}

/** Parses `trustedProxies` entries (addresses or CIDR ranges); throws naming the first bad one. */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const prefix = bits === undefined ? undefined : Number(bits);
    const prefixOk = prefix === undefined || (Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 4 ? 32 : 128));
    if (!family || extra !== undefined || !prefixOk) {
      throw new Error(`trusted proxy ${JSON.stringify(entry)} is not an IP address or CIDR range`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, prefix, type);
  }
  return list;
}

/** Splits a comma-separated setting into trimmed, non-empty entries. */
export function commaList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((part) => part.trim()).filter(Boolean);
}

const hostPattern = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*)(:\d{1,5})?$/;

function first(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text?.split(',')[0]?.trim() || undefined;
}

/** Proto and host a proxy forwarded: RFC 7239 `Forwarded` first, then `X-Forwarded-Proto`/`-Host`; undefined unless well-formed. */
export function forwardedOrigin(headers: FastifyRequest['headers']): string | undefined {
  let proto: string | undefined;
  let host: string | undefined;
  const forwarded = first(headers.forwarded);
  if (forwarded) {
    for (const pair of forwarded.split(';')) {
      const [key, raw] = pair.split('=', 2).map((s) => s.trim());
      const value = raw?.replace(/^"(.*)"$/, '$1');
      if (key?.toLowerCase() === 'proto') proto = value;
      if (key?.toLowerCase() === 'host') host = value;
    }
  }
  proto ??= first(headers['x-forwarded-proto']);
  host ??= first(headers['x-forwarded-host']);
  if (!host || !hostPattern.test(host)) return undefined;
  const scheme = (proto ?? 'https').toLowerCase();
  if (scheme !== 'https' && scheme !== 'http') return undefined;
  return `${scheme}://${host.toLowerCase()}`;
}

/** The resolver for `sources`: see the module comment. */
export function baseUrlResolver(sources: BaseUrlSources): BaseUrlOf {
  if (sources.publicBaseUrl) return fixedBaseUrl(sources.publicBaseUrl);
  const trusted = sources.trustedProxies && sources.trustedProxies.length > 0 ? trustedProxyList(sources.trustedProxies) : undefined;
  const prefix = withoutTrailingSlash(sources.prefix ?? '');
  return (request) => {
    if (trusted) {
      const peer = request.socket?.remoteAddress?.replace(/^::ffff:(?=\d+\.)/, '');
      const family = peer ? isIP(peer) : 0;
      if (peer && family && trusted.check(peer, family === 4 ? 'ipv4' : 'ipv6')) {
        const origin = forwardedOrigin(request.headers);
        if (origin) return `${origin}${prefix}`;
      }
    }
    return `${sources.listenBase()}${prefix}`;
  };
}

const wildcardHosts = new Set(['', '0.0.0.0', '::', '[::]']);

/** The first DNS name of a PEM certificate (subject alternative names, then the subject CN), if any. */
export function certificateName(certPem: string): string | undefined {
  try {
    const cert = new X509Certificate(certPem);
    const dns = (cert.subjectAltName ?? '').split(',').map((s) => s.trim()).find((s) => s.startsWith('DNS:') && !s.startsWith('DNS:*'));
    if (dns) return dns.slice(4);
    return /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1]?.trim();
  } catch {
    return undefined;
  }
}

/** `https://<host>:<port>` of a listener: its address, or on every interface the certificate's name (else this machine's name). */
export function listenBaseUrl(host: string, port: number, certPem?: string): string {
  const name = wildcardHosts.has(host) ? ((certPem && certificateName(certPem)) ?? hostname()) : host;
  return `https://${name.includes(':') && !name.startsWith('[') ? `[${name}]` : name}:${port}`;
}
