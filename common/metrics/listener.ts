/**
 * A small HTTPS listener answering `GET /metrics` in the Prometheus text
 * format, for a service whose main port speaks only gRPC. With a bearer token
 * configured, scrapes must send `authorization: Bearer <token>` (Prometheus:
 * `authorization: { credentials_file: ... }`); anything else is refused.
 * Given a health source, it also answers `GET /health` (JSON, no token: load
 * balancers probe it).
 *
 * The HTTPS server runs in a worker thread (listener-worker.js) and the
 * answers are made here: HTTP/1.1 traffic in the gRPC thread would slow its
 * calls for good (see common/http/isolated-http-client.ts), and a scrape
 * every few seconds is such traffic.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
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
  /** Told when the listener fails after it started (the service goes on without it). */
  onError?: (err: Error) => void;
  /** The answer to `GET /health` (status code and JSON body); without it `/health` is 404. */
  health?: () => { status: number; body: unknown };
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

/** A request as the worker hands it over. */
export interface ScrapeRequest {
  id: number;
  method: string;
  url: string;
  authorization: string | undefined;
}

/** The answer to write back. */
export interface ScrapeAnswer {
  id: number;
  status: number;
  headers: Record<string, string>;
  body?: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when `header` is exactly `Bearer <expected>` (compared in constant time). */
function bearerMatches(header: string | undefined, expected: string): boolean {
  const token = parseBearer(header);
  return token !== undefined && timingSafeEqual(digest(token), digest(expected));
}

/** The answer to one request. */
async function answer(options: MetricsListenerOptions, request: ScrapeRequest): Promise<Omit<ScrapeAnswer, 'id'>> {
  const text = { 'content-type': 'text/plain' };
  const path = request.url.split('?')[0];
  if (path !== '/metrics' && !(path === '/health' && options.health)) return { status: 404, headers: text, body: 'not found\n' };
  if (request.method !== 'GET' && request.method !== 'HEAD') return { status: 405, headers: { allow: 'GET, HEAD' } };
  if (path === '/health') {
    const health = options.health!();
    return { status: health.status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, ...(request.method === 'HEAD' ? {} : { body: `${JSON.stringify(health.body)}\n` }) };
  }
  if (options.bearerToken && !bearerMatches(request.authorization, options.bearerToken)) {
    return { status: 401, headers: { 'www-authenticate': 'Bearer', ...text }, body: 'a bearer token is required\n' };
  }
  try {
    const metrics = await options.registry.metrics();
    return { status: 200, headers: { 'content-type': options.registry.contentType, 'cache-control': 'no-store' }, ...(request.method === 'HEAD' ? {} : { body: metrics }) };
  } catch {
    return { status: 500, headers: text, body: 'metrics could not be collected\n' };
  }
}

/** Starts the listener. */
export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const worker = new Worker(new URL('./listener-worker.js', import.meta.url), {
    // The worker is plain JavaScript: no inherited preloads.
    execArgv: [],
    workerData: { host: options.host, port: options.port, certPem: options.tls.certPem, keyPem: options.tls.keyPem },
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the metrics listener stopped at start (exit code ${code})`)));
    worker.once('message', (first: { listening?: number; error?: string; code?: string }) => {
      if (first.listening !== undefined) return resolve(first.listening);
      void worker.terminate();
      reject(Object.assign(new Error(`metrics listener on ${options.host}:${options.port}: ${first.error}`), first.code ? { code: first.code } : {}));
    });
  });
  worker.on('error', (err) => options.onError?.(err));
  worker.on('message', (request: ScrapeRequest) => {
    void answer(options, request).then((a) => worker.postMessage({ id: request.id, ...a } satisfies ScrapeAnswer));
  });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `https://${host}:${port}/metrics`,
    close: async () => {
      worker.postMessage({ close: true });
      await exited;
    },
  };
}
