/** A small HTTPS client for end-to-end tests (trusts the local CA; returns status, headers and body text). */
import { request } from 'node:https';

/** A response. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends one request; `body` objects are sent as FHIR JSON. */
export function https(url: string, options: { method?: string; ca: string; token?: string; body?: unknown; headers?: Record<string, string> }): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/fhir+json', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    if (payload !== undefined) headers['content-type'] ??= 'application/fhir+json';
    const req = request(url, { method: options.method ?? 'GET', ca: options.ca, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
