/**
 * The isolated HTTP client (requests sent from a worker thread) behaves like
 * the Azure SDK's own Node client: TLS trust from tlsSettings or an Agent,
 * bodies both ways, gzip, errors with codes, timeouts and aborts as AbortError.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHttpHeaders, createPipelineRequest, isRestError, type PipelineRequest, type PipelineRequestOptions } from '@azure/core-rest-pipeline';
import { Agent, createServer, get, type Server } from 'node:https';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ensureLocalTls, type LocalTls } from '../../dev/certs.ts';
import { isolatedHttpClient } from '../../common/http/isolated-http-client.ts';

let tls: LocalTls;
let server: Server;
let base: string;
const seen: Array<{ method: string; url: string; headers: Record<string, unknown>; body: string }> = [];

/** A pipeline request; TLS settings and agents are set afterwards, as the SDKs' policies set them. */
function request(options: PipelineRequestOptions, transport: Pick<PipelineRequest, 'tlsSettings' | 'agent'> = { tlsSettings: { ca: tls.caPem } }): PipelineRequest {
  return Object.assign(createPipelineRequest(options), transport);
}

test.before(async () => {
  tls = await ensureLocalTls();
  server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url === '/slow') return setTimeout(() => res.end('late'), 5_000).unref();
      if (req.url === '/gzip') {
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
        return res.end(gzipSync(JSON.stringify({ zipped: true })));
      }
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json', 'x-echo': String(req.headers['x-test'] ?? '') });
      res.end(JSON.stringify({ method: req.method, body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('sends method, headers and body, and returns status, headers and body text (CA from tlsSettings)', async () => {
  const response = await isolatedHttpClient().sendRequest(
    request({ url: `${base}/echo?x=1`, method: 'POST', body: 'grant_type=client_credentials', headers: createHttpHeaders({ 'X-Test': 'yes' }) }),
  );
  assert.is(response.status, 200);
  assert.is(response.headers.get('x-echo'), 'yes');
  assert.equal(JSON.parse(response.bodyAsText!), { method: 'POST', body: 'grant_type=client_credentials' });
  const last = seen.at(-1)!;
  assert.is(last.url, '/echo?x=1');
  assert.is(last.headers['content-length'], String('grant_type=client_credentials'.length));
});

test('trusts the CA of an https Agent the request carries (as Cosmos DB sends it), and sends binary bodies', async () => {
  const body = new Uint8Array([104, 105]);
  const response = await isolatedHttpClient().sendRequest(request({ url: `${base}/missing`, method: 'PUT', body }, { agent: new Agent({ ca: tls.caPem }) }));
  assert.is(response.status, 404);
  assert.is(JSON.parse(response.bodyAsText!).body, 'hi');
});

test('without trust in the private CA the request fails with the TLS error code', async () => {
  try {
    await isolatedHttpClient().sendRequest(request({ url: `${base}/echo` }, {}));
    assert.unreachable('an untrusted certificate was accepted');
  } catch (err) {
    assert.ok(isRestError(err), String(err));
    assert.match(String((err as { code?: string }).code), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  }
});

test('a refused connection is a RestError with code ECONNREFUSED', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  try {
    await isolatedHttpClient().sendRequest(request({ url: `https://127.0.0.1:${port}/` }));
    assert.unreachable('no error');
  } catch (err) {
    assert.ok(isRestError(err));
    assert.is((err as { code?: string }).code, 'ECONNREFUSED');
  }
});

test('gzip answers are decompressed when the caller accepts gzip', async () => {
  const response = await isolatedHttpClient().sendRequest(
    request({ url: `${base}/gzip`, headers: createHttpHeaders({ 'Accept-Encoding': 'gzip' }) }),
  );
  assert.equal(JSON.parse(response.bodyAsText!), { zipped: true });
});

test('a request past its timeout, or aborted, fails as AbortError (the name the Azure SDKs check)', async () => {
  const started = Date.now();
  try {
    await isolatedHttpClient().sendRequest(request({ url: `${base}/slow`, timeout: 200 }));
    assert.unreachable('no timeout');
  } catch (err) {
    assert.is((err as Error).name, 'AbortError');
    assert.ok(Date.now() - started < 4_000, 'the timeout did not cut the request short');
  }
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  try {
    await isolatedHttpClient().sendRequest(request({ url: `${base}/slow`, abortSignal: controller.signal }));
    assert.unreachable('no abort');
  } catch (err) {
    assert.is((err as Error).name, 'AbortError');
  }
});

test('streamed answers are refused plainly rather than half supported', async () => {
  try {
    await isolatedHttpClient().sendRequest(request({ url: `${base}/echo`, streamResponseStatusCodes: new Set([200]) }));
    assert.unreachable('accepted');
  } catch (err) {
    assert.match((err as Error).message, /does not stream/);
  }
});

test('requests run outside the calling thread: no HTTP client request starts in it', async () => {
  const started: string[] = [];
  const onStart = (message: unknown) => started.push(String((message as { request: { path: string } }).request.path));
  subscribe('http.client.request.start', onStart);
  try {
    await isolatedHttpClient().sendRequest(request({ url: `${base}/echo?isolated` }));
    assert.equal(started, []);
    // The check can see a request made in this thread.
    await new Promise<void>((resolve, reject) => get(`${base}/echo?here`, { ca: tls.caPem }, (res) => res.resume().on('end', resolve)).on('error', reject));
    assert.equal(started, ['/echo?here']);
  } finally {
    unsubscribe('http.client.request.start', onStart);
  }
});

test.run();
