/**
 * A small HTTPS listener answering `GET /metrics` in the Prometheus text
 * format, for a service whose main port speaks only gRPC. With a bearer token
 * configured, scrapes must send `authorization: Bearer <token>` (Prometheus:
 * `authorization: { credentials_file: ... }`); anything else is refused.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseBearer } from '../auth/bearer.ts';
import type { Registry } from 'prom-client';

/** Where and how the listener serves. */
export interface MetricsListenerOptions {
  /** What to serve. */
  registry: Registry;
  /** Address to bind. */
  host: string;
  /** Port (0 picks a free one). */
  port: number;
  /** Server certificate chain and key (PEM): the service's own. */
  tls: { certPem: string; keyPem: string };
  /** Bearer token scrapes must present; none means the port itself is the protection. */
  bearerToken?: string;
}

/** A listening metrics endpoint. */
export interface MetricsListener {
  /** Bound port. */
  port: number;
  /** `https://host:port/metrics`. */
  url: string;
  /** Stops listening. */
  close(): Promise<void>;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when `header` is exactly `Bearer <expected>` (compared in constant time). */
function bearerMatches(header: string | undefined, expected: string): boolean {
  const token = parseBearer(header);
  return token !== undefined && timingSafeEqual(digest(token), digest(expected));
}

/** Starts the listener. */
export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const server: Server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    if (options.bearerToken && !bearerMatches(req.headers.authorization, options.bearerToken)) {
      return void res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' }).end('a bearer token is required\n');
    }
    options.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': options.registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => (server.off('error', reject), resolve()));
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `https://${host}:${port}/metrics`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
