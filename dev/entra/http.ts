/**
 * Small HTTPS plumbing shared by the local Azure stand-ins: a loopback TLS
 * listener, bounded body reading, JSON/form replies, and the admin key check.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalTls } from '../certs.ts';

/** Header that carries the admin key of a stand-in's `/_stand-in/` API. */
export const adminKeyHeader = 'x-stand-in-key';

/** Largest request body a stand-in accepts (Key Vault's own limit for a secret is 25 KB; room for JSON around it). */
export const maxBodyBytes = 1024 * 1024;

/** A request handler that may be async; errors it throws become 500s. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** A running HTTPS listener on the loopback interface. */
export interface LoopbackServer {
  /** `https://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  /** The port actually bound. */
  port: number;
  /** Closes the listener and every open connection. */
  close(): Promise<void>;
}

/** Raised by `readBody` when a request body is larger than `maxBodyBytes`. */
export class BodyTooLargeError extends Error {
  constructor() {
    super(`request body exceeds ${maxBodyBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Starts an HTTPS server with the loopback leaf certificate on 127.0.0.1 (port 0 = any free port). */
export async function listenLoopback(tls: LocalTls, port: number, handler: RequestHandler, onError: (err: unknown) => void): Promise<LoopbackServer> {
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem, keepAliveTimeout: 5_000 }, (req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        onError(err);
        if (!res.headersSent) sendJson(res, 500, { error: { code: 'InternalError', message: 'stand-in failed to handle the request' } });
        else res.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Reads the whole request body, refusing more than `maxBodyBytes`. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON request body; `undefined` for an empty body, throws SyntaxError on malformed JSON. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req);
  if (body.length === 0) return undefined;
  return JSON.parse(body.toString('utf8')) as unknown;
}

/** Writes a JSON reply with `Cache-Control: no-store`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Writes an empty reply. */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-length': 0, ...headers });
  res.end();
}

/** Creates a random admin key (URL-safe, 256 bits). */
export function createAdminKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two strings in constant time (over their SHA-256 digests, so lengths leak nothing). */
export function constantTimeEquals(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** True when the request carries the expected admin key header. */
export function hasAdminKey(req: IncomingMessage, adminKey: string): boolean {
  const presented = req.headers[adminKeyHeader];
  return typeof presented === 'string' && constantTimeEquals(presented, adminKey);
}

/** Splits a request URL into a decoded path and its query parameters (percent-encoded names decoded too, e.g. `api%2Dversion`). */
export function parseRequestUrl(req: IncomingMessage): { path: string; segments: string[]; query: Map<string, string> } {
  const url = new URL(req.url ?? '/', 'https://stand-in.invalid');
  const query = new Map<string, string>();
  for (const [name, value] of url.searchParams) query.set(safeDecode(name).toLowerCase(), value);
  const segments = url.pathname.split('/').slice(1).map(safeDecode);
  return { path: url.pathname, segments, query };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
