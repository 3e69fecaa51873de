/**
 * A JWKS fetched over HTTPS (trusting a private CA when given) and refreshed
 * when a token names an unknown key, at most once per `minRefreshMs`.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { createPipelineRequest, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import { request, type Agent } from 'node:https';

/** Limits and transport of {@link fetchLimitedJson}. */
export interface JsonFetchOptions {
  /** Extra CA (PEM) trusted besides the system CAs (ignored when `agent` is given: the agent carries its own). */
  caPem?: string;
  /** Agent to connect through (e.g. a GuardedAgent that refuses non-public addresses). */
  agent?: Agent;
  /** Whole-request deadline (default 5 s). */
  timeoutMs?: number;
  /** Largest body accepted (default 64 KiB). */
  maxBytes?: number;
}

/**
 * GETs a JSON document over https within a size and time limit. Errors name the URL and what went wrong
 * (status, size, time, not JSON, refused address, network error code), never the body that came back.
 */
export function fetchLimitedJson(url: string, options: JsonFetchOptions = {}): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const transport = options.agent ? { agent: options.agent } : options.caPem ? { ca: options.caPem } : {};
    const req = request(url, { method: 'GET', timeout: timeoutMs, headers: { accept: 'application/json' }, ...transport }, (res) => {
      const status = res.statusCode ?? 500;
      if (status < 200 || status >= 300) {
        res.resume();
        return fail(new Error(`GET ${url} answered HTTP ${status}`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) return fail(new Error(`GET ${url}: the document is larger than ${maxBytes} bytes`));
        chunks.push(c);
      });
      res.on('error', (err) => fail(networkError(url, err)));
      res.on('end', () => {
        if (done) return;
        try {
          finish(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          fail(new Error(`GET ${url}: the answer is not JSON`));
        }
      });
    });
    let done = false;
    const deadline = setTimeout(() => fail(new Error(`GET ${url} took longer than ${timeoutMs} ms`)), timeoutMs);
    const finish = (value: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      resolve(value);
    };
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      req.destroy();
      reject(err);
    };
    req.on('timeout', () => fail(new Error(`GET ${url} took longer than ${timeoutMs} ms`)));
    req.on('error', (err) => fail(networkError(url, err)));
    req.end();
  });
}

/** A network failure as the URL and its code (our own refusals keep their sentence). */
function networkError(url: string, err: Error): Error {
  if ((err as { code?: string }).code === 'EADDRNOTPUBLIC') return new Error(`GET ${url}: ${err.message}`);
  const code = (err as { code?: string }).code;
  return new Error(`GET ${url} failed (${code && /^[A-Z_0-9]+$/.test(code) ? code : err.name})`);
}

/** Fetches a JSON document over https, trusting `caPem` in addition to the system CAs (limits of {@link fetchLimitedJson}). */
export function fetchJson(url: string, caPem?: string, timeoutMs = 5_000): Promise<unknown> {
  return fetchLimitedJson(url, { ...(caPem ? { caPem } : {}), timeoutMs });
}

/** Fetches a JSON document: `fetchJson`'s signature. */
export type JsonFetcher = (url: string, caPem?: string, timeoutMs?: number) => Promise<unknown>;

/** `fetchJson` sent through an Azure SDK HttpClient (e.g. the isolated one, common/http/isolated-http-client.ts). */
export function fetchJsonWith(client: HttpClient): JsonFetcher {
  return async (url, caPem, timeoutMs = 5_000) => {
    const request: PipelineRequest = Object.assign(createPipelineRequest({ url, method: 'GET', timeout: timeoutMs }), caPem ? { tlsSettings: { ca: caPem } } : {});
    const response = await client.sendRequest(request);
    if (response.status >= 400) throw new Error(`GET ${url} answered HTTP ${response.status}`);
    return JSON.parse(response.bodyAsText ?? '');
  };
}

/** A key resolver for jose's jwtVerify over a remote JWKS. */
export function remoteJwks(jwksUri: string, caPem?: string, minRefreshMs = 30_000, fetch: JsonFetcher = fetchJson): JWTVerifyGetKey {
  let local: JWTVerifyGetKey | undefined;
  let fetchedAt = 0;
  let inflight: Promise<void> | undefined;
  const refresh = () =>
    (inflight ??= (async () => {
      try {
        local = createLocalJWKSet((await fetch(jwksUri, caPem)) as JSONWebKeySet);
        fetchedAt = Date.now();
      } finally {
        inflight = undefined;
      }
    })());
  return async (header, token) => {
    if (!local) await refresh();
    try {
      return await local!(header, token);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY' || Date.now() - fetchedAt < minRefreshMs) throw err;
      await refresh();
      return local!(header, token);
    }
  };
}
