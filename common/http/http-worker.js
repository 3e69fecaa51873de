// @ts-check
/**
 * The worker side of the isolated HTTP client (isolated-http-client.ts): runs
 * each request it is sent with node:http(s), keep-alive agents per TLS
 * setting, and answers with the status, headers and whole body.
 *
 * Plain JavaScript: the worker starts with no node flags (`execArgv: []`),
 * so without the parent's TypeScript loader.
 *
 * @typedef {import('./isolated-http-client.ts').WireRequest} WireRequest
 * @typedef {import('./isolated-http-client.ts').WireAnswer} WireAnswer
 * @typedef {import('./isolated-http-client.ts').WireTls} WireTls
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { parentPort } from 'node:worker_threads';
import { createGunzip, createInflate } from 'node:zlib';

/** @type {Map<string, HttpsAgent>} */
const httpsAgents = new Map();
const httpAgent = new HttpAgent({ keepAlive: true });
/** Requests not yet answered (null while being set up). @type {Map<number, import('node:http').ClientRequest | null>} */
const inFlight = new Map();

/** @param {WireTls | undefined} tls */
function agentFor(tls) {
  // One agent per distinct TLS setting, so connections are reused (the setting is a handful of PEM strings).
  const key = JSON.stringify(tls ?? {});
  let agent = httpsAgents.get(key);
  if (!agent) {
    agent = new HttpsAgent({ keepAlive: true, maxSockets: 64, ...tls });
    httpsAgents.set(key, agent);
  }
  return agent;
}

/** @param {import('node:http').IncomingMessage} res @param {string | undefined} acceptEncoding @returns {NodeJS.ReadableStream} */
function decoded(res, acceptEncoding) {
  // As core-rest-pipeline's Node client: decompress only what the caller said it accepts.
  const encoding = res.headers['content-encoding'];
  if (acceptEncoding?.includes('gzip') && encoding === 'gzip') return res.pipe(createGunzip());
  if (acceptEncoding?.includes('deflate') && encoding === 'deflate') return res.pipe(createInflate());
  return res;
}

/** @param {import('node:http').IncomingMessage} res */
function headersOf(res) {
  /** @type {Record<string, string>} */
  const headers = {};
  for (const [name, value] of Object.entries(res.headers)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first) headers[name] = first;
  }
  return headers;
}

/** @param {WireRequest} wire */
function send(wire) {
  /** @param {WireAnswer} a */
  const answer = (a) => {
    if (inFlight.delete(wire.id)) parentPort?.postMessage(a);
  };
  /** @param {Error & { code?: string }} err */
  const fail = (err) => answer({ id: wire.id, error: { message: err.message, ...(err.code ? { code: err.code } : {}) } });
  const secure = wire.url.startsWith('https:');
  const agent = secure ? (wire.keepAlive ? agentFor(wire.tls) : new HttpsAgent({ ...wire.tls })) : wire.keepAlive ? httpAgent : undefined;
  const acceptEncoding = Object.entries(wire.headers).find(([name]) => name.toLowerCase() === 'accept-encoding')?.[1];
  const headers = { ...wire.headers };
  if (wire.body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-length')) {
    headers['Content-Length'] = String(typeof wire.body === 'string' ? Buffer.byteLength(wire.body) : wire.body.byteLength);
  }
  inFlight.set(wire.id, null);
  /** @type {import('node:http').ClientRequest} */
  let req;
  try {
    req = (secure ? httpsRequest : httpRequest)(wire.url, { method: wire.method, headers, ...(agent ? { agent } : {}) }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      const body = wire.method === 'HEAD' ? (res.resume(), undefined) : decoded(res, acceptEncoding);
      if (!body) return answer({ id: wire.id, status: res.statusCode ?? 0, headers: headersOf(res), body: '' });
      body.on('data', (/** @type {Buffer} */ chunk) => chunks.push(chunk));
      body.on('end', () => answer({ id: wire.id, status: res.statusCode ?? 0, headers: headersOf(res), body: Buffer.concat(chunks).toString('utf8') }));
      body.on('error', (/** @type {Error} */ err) => fail(Object.assign(new Error(`Error reading response as text: ${err.message}`), { code: 'PARSE_ERROR' })));
    });
  } catch (err) {
    return fail(/** @type {Error} */ (err));
  }
  inFlight.set(wire.id, req);
  req.on('error', fail);
  req.end(wire.body === undefined ? undefined : typeof wire.body === 'string' ? wire.body : Buffer.from(wire.body.buffer, wire.body.byteOffset, wire.body.byteLength));
}

parentPort?.on('message', (/** @type {WireRequest | { cancel: number }} */ message) => {
  if ('cancel' in message) {
    const req = inFlight.get(message.cancel);
    inFlight.delete(message.cancel);
    req?.destroy();
  } else send(message);
});
