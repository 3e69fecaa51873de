// @ts-check
/**
 * The worker side of the metrics listener (listener.ts): an HTTPS server that
 * hands each request's method, URL and authorization header to the parent
 * thread and writes back the answer it is given. Plain JavaScript: the worker
 * starts with no node flags (`execArgv: []`), so without the parent's
 * TypeScript loader.
 *
 * @typedef {import('./listener.ts').ScrapeRequest} ScrapeRequest
 * @typedef {import('./listener.ts').ScrapeAnswer} ScrapeAnswer
 */
import { createServer } from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';

const { host, port, certPem, keyPem } = /** @type {{ host: string; port: number; certPem: string; keyPem: string }} */ (workerData);
/** @type {Map<number, import('node:http').ServerResponse>} */
const waiting = new Map();
let nextId = 1;

const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
  const id = nextId++;
  waiting.set(id, res);
  res.on('close', () => waiting.delete(id));
  req.resume();
  parentPort?.postMessage(/** @type {ScrapeRequest} */ ({ id, method: req.method ?? 'GET', url: req.url ?? '', authorization: req.headers.authorization }));
});

parentPort?.on('message', (/** @type {ScrapeAnswer | { close: true }} */ message) => {
  if ('close' in message) {
    server.close(() => parentPort?.close());
    server.closeAllConnections();
    return;
  }
  const res = waiting.get(message.id);
  waiting.delete(message.id);
  res?.writeHead(message.status, message.headers).end(message.body);
});

server.once('error', (/** @type {Error & { code?: string }} */ err) => parentPort?.postMessage({ error: err.message, code: err.code }));
server.listen(port, host, () => {
  const address = server.address();
  parentPort?.postMessage({ listening: typeof address === 'object' && address ? address.port : port });
});
