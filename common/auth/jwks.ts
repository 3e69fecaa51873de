/**
 * A JWKS fetched over HTTPS (trusting a private CA when given) and refreshed
 * when a token names an unknown key, at most once per `minRefreshMs`.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { createPipelineRequest, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import { request } from 'node:https';

/** Fetches a JSON document over https, trusting `caPem` in addition to the system CAs. */
export function fetchJson(url: string, caPem?: string, timeoutMs = 5_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, ...(caPem ? { ca: caPem } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 400) return reject(new Error(`GET ${url} answered HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
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
