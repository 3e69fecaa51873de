/**
 * Writes resources to the fhir-server as `batch` Bundles: a resource with an id
 * is a `PUT Type/id` (ids kept, so references between files hold), one without
 * is a `POST Type`. Bundles are cut at `batchSize` entries or `maxBytes`, and
 * up to `concurrency` are in flight. Entry failures are tallied; a refused
 * Bundle (credentials, server down) stops the load.
 */
import { answerError, outcomeText, type FhirClient } from '../fhir-client.ts';

/** Options of a load. */
export interface BatchLoaderOptions {
  /** Entries per Bundle (default 200). */
  batchSize?: number;
  /** Bytes per Bundle at most, roughly (default 8 MiB; the server takes 10 MiB). */
  maxBytes?: number;
  /** Bundles in flight (default 4). */
  concurrency?: number;
  /** Called after each Bundle with the running tally. */
  onProgress?: (tally: LoadTally) => void;
}

/** What a load did. */
export interface LoadTally {
  /** Resources sent or refused locally. */
  resources: number;
  /** Entries answered 201. */
  created: number;
  /** Entries answered 200 (updated or unchanged). */
  updated: number;
  /** Entries that failed (on the server or before sending). */
  failed: number;
  /** The first failures, one line each (`where: Type/id: status reason`). */
  failures: string[];
}

interface Pending {
  entry: { resource: Record<string, unknown>; request: { method: string; url: string } };
  where: string;
}

const maxFailureLines = 50;

/** See the module comment. */
export class BatchLoader {
  /** The running tally. */
  readonly tally: LoadTally = { resources: 0, created: 0, updated: 0, failed: 0, failures: [] };
  readonly #inFlight = new Set<Promise<void>>();
  #pending: Pending[] = [];
  #pendingBytes = 0;
  #fatal: unknown;

  /** Loads into the FHIR base `baseUrl` through `fhir`. */
  constructor(
    private readonly fhir: FhirClient,
    private readonly baseUrl: string,
    private readonly options: BatchLoaderOptions = {},
  ) {}

  /** Notes a failure found before sending (bad JSON, no resourceType). */
  reject(where: string, reason: string): void {
    this.tally.resources += 1;
    this.#fail(`${where}: ${reason}`);
  }

  /** Queues one resource; resolves when there is room for more. */
  async add(resource: Record<string, unknown>, where: string): Promise<void> {
    this.#throwIfFatal();
    const type = resource.resourceType;
    if (typeof type !== 'string' || !/^[A-Z][A-Za-z]+$/.test(type)) return this.reject(where, 'not a FHIR resource (no resourceType)');
    const id = typeof resource.id === 'string' && resource.id !== '' ? resource.id : undefined;
    const request = id ? { method: 'PUT', url: `${type}/${encodeURIComponent(id)}` } : { method: 'POST', url: type };
    this.tally.resources += 1;
    this.#pending.push({ entry: { resource, request }, where: `${where}: ${type}${id ? `/${id}` : ''}` });
    this.#pendingBytes += JSON.stringify(resource).length;
    if (this.#pending.length >= (this.options.batchSize ?? 200) || this.#pendingBytes >= (this.options.maxBytes ?? 8 * 1024 * 1024)) await this.#send();
  }

  /** Sends a batch or transaction Bundle as it is (its `urn:uuid:` references resolve on the server). */
  async addBundle(bundle: Record<string, unknown>, where: string): Promise<void> {
    this.#throwIfFatal();
    const entries = Array.isArray(bundle.entry) ? (bundle.entry as { resource?: { resourceType?: string; id?: string } }[]) : [];
    this.tally.resources += entries.length;
    const wheres = entries.map((e, i) => `${where} entry ${i + 1}: ${e.resource?.resourceType ?? '?'}${e.resource?.id ? `/${e.resource.id}` : ''}`);
    await this.#track(this.#post(bundle, wheres));
  }

  /** Sends what is queued and waits for every Bundle; throws if the load was stopped. */
  async flush(): Promise<LoadTally> {
    if (this.#pending.length > 0) await this.#send();
    await Promise.all(this.#inFlight);
    this.#throwIfFatal();
    return this.tally;
  }

  async #send(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const bundle = { resourceType: 'Bundle', type: 'batch', entry: batch.map((p) => p.entry) };
    await this.#track(this.#post(bundle, batch.map((p) => p.where)));
  }

  async #track(work: Promise<void>): Promise<void> {
    const task = work.catch((error: unknown) => void (this.#fatal ??= error));
    const tracked = task.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
    while (this.#inFlight.size >= (this.options.concurrency ?? 4)) await Promise.race(this.#inFlight);
    this.#throwIfFatal();
  }

  async #post(bundle: Record<string, unknown>, wheres: string[]): Promise<void> {
    const answer = await this.fhir.request('POST', `${this.baseUrl}/`, { body: bundle });
    if (answer.status === 400 || answer.status === 413 || answer.status === 422) {
      const reason = `HTTP ${answer.status} for the whole Bundle: ${outcomeText(answer.body) ?? 'no details'}`;
      for (const where of wheres) this.#fail(`${where}: ${reason}`);
    } else if (answer.status !== 200) {
      throw answerError(answer, 'a batch Bundle');
    } else {
      const entries = (JSON.parse(answer.body) as { entry?: { response?: { status?: string; outcome?: unknown } }[] }).entry ?? [];
      wheres.forEach((where, i) => {
        const response = entries[i]?.response;
        const code = response?.status ?? 'no response';
        if (code.startsWith('201')) this.tally.created += 1;
        else if (code.startsWith('2')) this.tally.updated += 1;
        else this.#fail(`${where}: ${code} ${response?.outcome ? (outcomeText(JSON.stringify(response.outcome)) ?? '') : ''}`.trimEnd());
      });
    }
    this.options.onProgress?.(this.tally);
  }

  #fail(line: string): void {
    this.tally.failed += 1;
    if (this.tally.failures.length < maxFailureLines) this.tally.failures.push(line);
  }

  #throwIfFatal(): void {
    if (this.#fatal !== undefined) throw this.#fatal;
  }
}
