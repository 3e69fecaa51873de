/**
 * HTTPS calls to the fhir-server: keep-alive agent trusting the configured CA,
 * the bearer token only when asked for, and answers that are not 2xx turned
 * into one sentence from their OperationOutcome.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Connection } from './connection.ts';
import { CliError, exitCodeOfHttp, ExitCode, oneLine } from './errors.ts';

/** A buffered answer. */
export interface HttpAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Options of one request. */
export interface RequestOptions {
  /** JSON body (objects are serialised) sent as FHIR JSON. */
  body?: unknown;
  /** Extra headers. */
  headers?: Record<string, string>;
  /** Send the bearer token (default true). */
  bearer?: boolean;
}

/** The fhir-server as seen by one command. */
export class FhirClient {
  readonly #connection: Connection;
  #agents: { https: HttpsAgent; http: HttpAgent } | undefined;

  /** Uses `connection` for the CA, bearer token and timeout. */
  constructor(connection: Connection) {
    this.#connection = connection;
  }

  /** Sends a request and buffers the answer (any status). */
  async request(method: string, url: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    const res = await this.open(method, url, options);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') };
  }

  /** Sends a request and resolves with the unread response stream. */
  open(method: string, url: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const target = new URL(url);
    const headers: Record<string, string> = { accept: 'application/fhir+json', ...options.headers };
    if (options.bearer ?? true) headers.authorization = `Bearer ${this.#connection.bearerToken()}`;
    const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    if (payload !== undefined) {
      headers['content-type'] ??= 'application/fhir+json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const agents = this.#agentsOf();
    const secure = target.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      // No SNI for an IP literal (Node warns about it; the certificate is still checked against the address).
      const servername = isIP(target.hostname.replace(/^\[|\]$/g, '')) ? { servername: '' } : {};
      const req = send(target, { method, headers, agent: secure ? agents.https : agents.http, ...servername }, resolve);
      req.setTimeout(this.#connection.timeoutMs, () => req.destroy(new CliError(`${target.origin} did not answer within ${this.#connection.timeoutMs / 1000} s`, ExitCode.unavailable)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Frees the keep-alive sockets. */
  close(): void {
    this.#agents?.https.destroy();
    this.#agents?.http.destroy();
  }

  #agentsOf(): { https: HttpsAgent; http: HttpAgent } {
    if (!this.#agents) {
      const ca = this.#connection.caPem();
      this.#agents = { https: new HttpsAgent({ keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}) }), http: new HttpAgent({ keepAlive: true, maxSockets: 16 }) };
    }
    return this.#agents;
  }
}

/** The diagnostics of an OperationOutcome body, or undefined. */
export function outcomeText(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { resourceType?: string; issue?: { severity?: string; code?: string; diagnostics?: string; expression?: string[] }[] };
    if (parsed.resourceType !== 'OperationOutcome' || !Array.isArray(parsed.issue)) return undefined;
    const issues = parsed.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    // With several issues, each names its element (one per problem of an invalid resource).
    const many = issues.length > 1;
    const shown = (issues.length > 0 ? issues : parsed.issue).map((i) => `${many && i.expression?.[0] ? `${i.expression[0]}: ` : ''}${i.diagnostics ?? i.code ?? 'no details'}`);
    return oneLine(shown.join('; '));
  } catch {
    return undefined;
  }
}

/** A CliError for a non-2xx answer to `what` (e.g. "the export kick-off"). */
export function answerError(answer: HttpAnswer, what: string): CliError {
  const reason = outcomeText(answer.body) ?? (oneLine(answer.body).slice(0, 200) || 'no details');
  return new CliError(`the fhir-server refused ${what} (HTTP ${answer.status}): ${reason}`, exitCodeOfHttp(answer.status));
}
