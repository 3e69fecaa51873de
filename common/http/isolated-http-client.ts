/**
 * An Azure SDK `HttpClient` that sends its requests from a worker thread.
 *
 * Why: a gRPC server's hot path runs through Node's own stream and event code
 * (Readable, Writable, EventEmitter, nextTick). HTTP/1.1 client traffic in the
 * same isolate (Cosmos DB, Key Vault, Entra ID) sends other object shapes
 * through those functions, and V8's type feedback for them stays
 * polymorphic from then on. Measured with bench:token's bare baseline server:
 * twenty `https.get` calls made before serving cost it about 12% of its
 * throughput for good; the same calls made from a worker thread cost nothing.
 * So the routing server keeps sockets, TLS and HTTP parsing in one worker and
 * sees only messages.
 *
 * It behaves like core-rest-pipeline's Node client for what the mesh uses:
 * string and binary bodies, `tlsSettings` or an https Agent's TLS options
 * (private CAs, client certificates), `timeout`, `abortSignal`, gzip/deflate
 * answers when asked for, keep-alive connections. Response bodies come back
 * whole (`bodyAsText`); streamed answers and upload/download progress are not
 * offered and fail loudly.
 */
import { createHttpHeaders, RestError, type HttpClient, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { Worker } from 'node:worker_threads';

// What the worker (http-worker.js) is sent and answers.

/** TLS options a request carries (private CAs, client certificates). */
export interface WireTls {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  pfx?: string | Buffer;
  passphrase?: string;
}

/** A request as sent to the worker. */
export interface WireRequest {
  id: number;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  tls?: WireTls;
  keepAlive: boolean;
}

/** The worker's answer: the response, or why there is none. */
export type WireAnswer =
  | { id: number; status: number; headers: Record<string, string>; body: string }
  | { id: number; error: { message: string; code?: string } };

/** The error the Azure SDKs recognise (by name) as a cancelled or timed-out request. */
export class AbortError extends Error {
  override name = 'AbortError';
}

/** One worker and the requests waiting on it. */
class HttpWorker {
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (a: WireAnswer) => void; reject: (e: Error) => void }>();

  /** Sends `request` to the worker; `cancel(err)` rejects the answer with `err` and stops the request there. */
  send(request: Omit<WireRequest, 'id'>): { answer: Promise<WireAnswer>; cancel: (err: Error) => void } {
    const worker = this.#started();
    const id = this.#nextId++;
    const answer = new Promise<WireAnswer>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    worker.postMessage({ ...request, id } satisfies WireRequest);
    worker.ref();
    return {
      answer,
      cancel: (err) => {
        const entry = this.#settle(id);
        if (!entry) return;
        worker.postMessage({ cancel: id });
        entry.reject(err);
      },
    };
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    // No inherited node flags: the worker is plain JavaScript and must not run the parent's preloads (TypeScript ones among them).
    const worker = new Worker(new URL('./http-worker.js', import.meta.url), { execArgv: [] });
    worker.unref();
    worker.on('message', (answer: WireAnswer) => this.#settle(answer.id)?.resolve(answer));
    const fail = (err: Error) => {
      // A worker that died takes its requests with it; the next request starts a new one.
      if (this.#worker === worker) this.#worker = undefined;
      for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(new RestError(`HTTP worker stopped: ${err.message}`, { code: RestError.REQUEST_SEND_ERROR }));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  /** Forgets request `id` and returns its callbacks (undefined when it was settled already). */
  #settle(id: number) {
    const entry = this.#pending.get(id);
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker?.unref();
    return entry;
  }
}

let shared: HttpWorker | undefined;

/** TLS options of a request: its `tlsSettings`, else those of the https Agent it carries (as Cosmos DB's client does). */
function tlsOf(request: PipelineRequest): WireTls | undefined {
  const source = (request.tlsSettings ?? (request.agent as { options?: Record<string, unknown> } | undefined)?.options) as Record<string, unknown> | undefined;
  if (!source) return undefined;
  const tls: Record<string, unknown> = {};
  for (const key of ['ca', 'cert', 'key', 'pfx', 'passphrase'] satisfies Array<keyof WireTls>) {
    if (source[key] !== undefined) tls[key] = source[key];
  }
  return Object.keys(tls).length ? (tls as WireTls) : undefined;
}

function bodyOf(request: PipelineRequest): string | Uint8Array | undefined {
  const { body } = request;
  if (!request.formData && !request.multipartBody) {
    if (body === undefined || body === null || typeof body === 'string') return body ?? undefined;
    if (body instanceof Uint8Array) return body;
    if (body instanceof ArrayBuffer) return new Uint8Array(body);
    if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }
  throw new RestError('the isolated HTTP client sends only string and binary bodies', { code: RestError.REQUEST_SEND_ERROR, request });
}

/** The process's isolated HTTP client (one worker thread, started on first use, not keeping the process alive when idle). */
export function isolatedHttpClient(): HttpClient {
  shared ??= new HttpWorker();
  const worker = shared;
  return {
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      if (request.abortSignal?.aborted) throw new AbortError('The operation was aborted. Request has already been canceled.');
      if (request.streamResponseStatusCodes?.size || request.onDownloadProgress || request.onUploadProgress) {
        throw new RestError('the isolated HTTP client does not stream responses or report progress', { code: RestError.REQUEST_SEND_ERROR, request });
      }
      const url = new URL(request.url);
      if (url.protocol !== 'https:' && !request.allowInsecureConnection) {
        throw new Error(`Cannot connect to ${request.url} while allowInsecureConnection is false.`);
      }
      const tls = tlsOf(request);
      const body = bodyOf(request);
      const sent = worker.send({
        method: request.method,
        url: request.url,
        headers: request.headers.toJSON({ preserveCase: true }),
        ...(body !== undefined ? { body } : {}),
        ...(tls ? { tls } : {}),
        keepAlive: !request.disableKeepAlive,
      });
      const onAbort = () => sent.cancel(new AbortError('The operation was aborted. Rejecting from abort signal callback while making request.'));
      request.abortSignal?.addEventListener('abort', onAbort, { once: true });
      const timer = request.timeout > 0 ? setTimeout(() => sent.cancel(new AbortError(`The request to ${url.host} timed out after ${request.timeout} ms.`)), request.timeout) : undefined;
      try {
        const answer = await sent.answer;
        if ('error' in answer) throw new RestError(answer.error.message, { code: answer.error.code ?? RestError.REQUEST_SEND_ERROR, request });
        const headers = createHttpHeaders(answer.headers);
        return { status: answer.status, headers, request, ...(request.method === 'HEAD' ? {} : { bodyAsText: answer.body }) };
      } finally {
        if (timer) clearTimeout(timer);
        request.abortSignal?.removeEventListener('abort', onAbort);
      }
    },
  };
}
