/**
 * The FHIR REST interactions the server offers, independent of HTTP:
 * create, read, vread, update, delete, history, and batch/transaction Bundles.
 */
import { runBatch } from './batch.ts';
import { parseBundle } from './bundle-entries.ts';
import { FhirError } from './errors.ts';
import { historyBundle } from './history.ts';
import { newResourceId } from './ids.ts';
import { identifierQueryOf } from './identifier-search.ts';
import { readLive } from './read-live.ts';
import { runTransaction } from './transaction.ts';
import type { FhirBundle, FhirResource } from './types.ts';
import { checkUrlId, checkUrlType, validateResource, type ValidationOptions } from './validate.ts';
import type { ReadResult, ResourceStore, WriteResult } from '../store/resource-store.ts';

/** Limits and tuning of the service. */
export interface FhirServiceOptions {
  /** Largest resource accepted, in bytes of JSON (default 2 MiB minus room for the stored document). */
  resourceBytes?: number;
  /** Batch entries processed at once (default 8). */
  batchConcurrency?: number;
  /** Validate every written resource against the R4 StructureDefinitions and required bindings (default true; the store rules hold either way). */
  r4Validation?: boolean;
}

/** Defaults of {@link FhirServiceOptions}. */
export const fhirServiceDefaults = Object.freeze({ resourceBytes: 1_800_000, batchConcurrency: 8, r4Validation: true });

/** The interactions, over a {@link ResourceStore}. */
export class FhirService {
  readonly #store: ResourceStore;
  readonly #resourceBytes: number;
  readonly #batchConcurrency: number;
  readonly #validation: ValidationOptions;

  constructor(store: ResourceStore, options: FhirServiceOptions = {}) {
    this.#store = store;
    this.#resourceBytes = options.resourceBytes ?? fhirServiceDefaults.resourceBytes;
    this.#batchConcurrency = options.batchConcurrency ?? fhirServiceDefaults.batchConcurrency;
    this.#validation = { r4: options.r4Validation ?? fhirServiceDefaults.r4Validation, maxBytes: this.#resourceBytes };
  }

  /** Validates a resource for a bulk load (its id, when it has one, is kept): as a create or update would; throws the same `FhirError`s. */
  checkResource(body: unknown): FhirResource {
    return validateResource(body, {}, this.#validation);
  }

  /**
   * `POST [type]`: stores `body` under a new server-assigned id (any id in the body is ignored).
   * With `ifNoneExist` (`identifier=[system|]value`), an existing match is returned instead (`kept`).
   */
  async create(type: string, body: unknown, ifNoneExist?: string): Promise<WriteResult> {
    checkUrlType(type);
    const resource = validateResource(body, { type, id: { mode: 'ignored' } }, this.#validation);
    if (ifNoneExist) {
      const query = identifierQueryOf(new URLSearchParams(ifNoneExist.replace(/^\?/, '')), 'If-None-Exist');
      const ids = await this.#store.findByIdentifier(type, query.system, query.value);
      if (ids.length > 1) throw new FhirError('precondition-failed', `If-None-Exist matches ${ids.length} ${type} resources`);
      if (ids.length === 1) return { outcome: 'kept', ...(await readLive(this.#store, type, ids[0]!)) };
    }
    return this.#store.create({ ...resource, id: newResourceId() });
  }

  /** `GET [type]/[id]`. */
  async read(type: string, id: string): Promise<ReadResult & { deleted: false }> {
    checkUrlType(type);
    checkUrlId(id);
    return readLive(this.#store, type, id);
  }

  /** `GET [type]/[id]/_history/[vid]`: that version; a deleted version is `gone` (410), an unknown one `not-found`. */
  async vread(type: string, id: string, vid: string): Promise<ReadResult & { deleted: false }> {
    checkUrlType(type);
    checkUrlId(id);
    if (!/^[1-9]\d{0,14}$/.test(vid)) throw new FhirError('not-found', `${type}/${id} has no version '${vid.slice(0, 20)}' (versions are 1, 2, ...)`);
    const result = await this.#store.readVersion(type, id, Number(vid));
    if (!result) throw new FhirError('not-found', `${type}/${id} has no version ${vid}`);
    if (result.deleted) throw new FhirError('gone', `Version ${vid} of ${type}/${id} is its deletion`);
    return result;
  }

  /** `GET [base]/_history`, `GET [type]/_history`, `GET [type]/[id]/_history`: a `history` Bundle page. */
  async history(baseUrl: string, target: { type?: string; id?: string }, params: URLSearchParams): Promise<FhirBundle> {
    if (target.type !== undefined) checkUrlType(target.type);
    if (target.id !== undefined) checkUrlId(target.id);
    return historyBundle(this.#store, baseUrl, { resourceType: target.type, id: target.id }, params);
  }

  /** `PUT [type]/[id]`: a new version, or the first one (update-as-create); `ifMatch` makes it version-aware. */
  async update(type: string, id: string, body: unknown, ifMatch?: number): Promise<WriteResult> {
    checkUrlType(type);
    checkUrlId(id);
    const resource = validateResource(body, { type, id: { mode: 'required', expectedId: id } }, this.#validation);
    return this.#store.update({ ...resource, id }, { ifMatch });
  }

  /** `DELETE [type]/[id]`. */
  async delete(type: string, id: string, ifMatch?: number): Promise<WriteResult> {
    checkUrlType(type);
    checkUrlId(id);
    return this.#store.delete(type, id, { ifMatch });
  }

  /** `POST [base]` with a batch or transaction Bundle; returns the response Bundle. */
  async bundle(body: unknown, options: { includeResources: boolean }): Promise<FhirBundle> {
    const parsed = parseBundle(body, this.#validation);
    if (parsed.kind === 'transaction') return runTransaction(this.#store, parsed, options);
    return runBatch(this.#store, parsed, { ...options, concurrency: this.#batchConcurrency });
  }
}
