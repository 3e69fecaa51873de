/**
 * `SmartClientRegistry` on Cosmos DB: one document per client in the account
 * database's service container (`system`, partition `/pk`), all in the one
 * partition `smart-clients` so a listing is a single-partition query. Reads
 * (found or not) are cached briefly per instance (bounded, `cacheSeconds`,
 * default 5): every SMART request checks its client here, so a client deleted or
 * disabled on any instance stops authenticating everywhere within `cacheSeconds`
 * (at once on the instance that changed it).
 */
import type { Container, CosmosClient, ItemDefinition } from '@azure/cosmos';
import { LRUCache } from 'lru-cache';
import { ensureContainer } from '../../../common/cosmos.ts';
import { FhirError } from '../../fhir/errors.ts';
import type { SmartClient } from './client.ts';
import type { SmartClientRegistry } from './client-registry.ts';

/** Partition of the client documents. */
export const smartClientPartition = 'smart-clients';

interface SmartClientDocument extends ItemDefinition {
  id: string;
  pk: typeof smartClientPartition;
  kind: 'smart-client';
  client: SmartClient;
}

const documentId = (clientId: string) => `smart-client-${clientId}`;
// Ids this registry can hold (generated UUIDs); anything else is no client, never a Cosmos request with an odd id.
const isClientId = (clientId: string) => /^[A-Za-z0-9._-]{1,128}$/.test(clientId);
const statusOf = (err: unknown) => (err as { code?: unknown }).code;

// Errors carry the status only: the SDK's message may echo the request.
function storeError(err: unknown, doing: string): FhirError {
  const status = statusOf(err);
  return new FhirError('unavailable', `The SMART client registry failed while ${doing} (${typeof status === 'number' ? `HTTP ${status}` : 'no response'}); retry later`, { retryAfterSeconds: 5, cause: err });
}

/** How long a client read is used, by default (the revocation delay across instances). */
export const defaultClientCacheSeconds = 5;

/** Opens (creating if needed) the container and returns the registry. */
export async function openCosmosSmartClientRegistry(client: CosmosClient, options: { databaseId: string; containerId?: string; cacheSeconds?: number }): Promise<CosmosSmartClientRegistry> {
  const container = await ensureContainer(client, options.databaseId, options.containerId ?? 'system', '/pk');
  return new CosmosSmartClientRegistry(container, options.cacheSeconds);
}

/** See the module comment. */
export class CosmosSmartClientRegistry implements SmartClientRegistry {
  readonly #container: Container;
  readonly #cache: LRUCache<string, { client?: SmartClient }>;

  /** Wraps a container partitioned on `/pk`; client reads are used for `cacheSeconds`. */
  constructor(container: Container, cacheSeconds = defaultClientCacheSeconds) {
    this.#container = container;
    this.#cache = new LRUCache({ max: 10_000, ttl: Math.max(1, cacheSeconds) * 1000 });
  }

  async create(client: SmartClient): Promise<void> {
    try {
      await this.#container.items.create<SmartClientDocument>({ id: documentId(client.clientId), pk: smartClientPartition, kind: 'smart-client', client });
      this.#cache.delete(client.clientId);
    } catch (err) {
      throw storeError(err, 'storing a client');
    }
  }

  async get(clientId: string): Promise<SmartClient | undefined> {
    if (!isClientId(clientId)) return undefined;
    const cached = this.#cache.get(clientId);
    if (cached) return cached.client;
    try {
      const { resource } = await this.#container.item(documentId(clientId), smartClientPartition).read<SmartClientDocument>();
      // Misses are cached too (ids are fresh UUIDs, so a new client is never one looked up before).
      this.#cache.set(clientId, resource?.client ? { client: resource.client } : {});
      return resource?.client;
    } catch (err) {
      if (statusOf(err) === 404) {
        this.#cache.set(clientId, {});
        return undefined;
      }
      throw storeError(err, 'reading a client');
    }
  }

  async update(clientId: string, change: Pick<SmartClient, 'disabled'>): Promise<SmartClient | undefined> {
    if (!isClientId(clientId)) return undefined;
    const item = this.#container.item(documentId(clientId), smartClientPartition);
    try {
      for (let attempt = 0; ; attempt++) {
        const { resource } = await item.read<SmartClientDocument>();
        if (!resource?.client) return undefined;
        const updated: SmartClient = { ...resource.client, ...change };
        try {
          await item.replace<SmartClientDocument>({ ...resource, client: updated }, { accessCondition: { type: 'IfMatch', condition: resource._etag! } });
          return updated;
        } catch (err) {
          // Another instance changed it meanwhile: read it again (a few times).
          if (statusOf(err) !== 412 || attempt >= 4) throw err;
        }
      }
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw storeError(err, 'updating a client');
    } finally {
      this.#cache.delete(clientId);
    }
  }

  async list(): Promise<SmartClient[]> {
    try {
      // The partition is named both ways: as the option (one partition is read) and in the query.
      const { resources } = await this.#container.items
        .query<SmartClientDocument>({ query: 'SELECT * FROM c WHERE c.pk = @pk AND c.kind = @kind', parameters: [{ name: '@pk', value: smartClientPartition }, { name: '@kind', value: 'smart-client' }] }, { partitionKey: smartClientPartition })
        .fetchAll();
      return resources.map((d) => d.client).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    } catch (err) {
      throw storeError(err, 'listing clients');
    }
  }

  async delete(clientId: string): Promise<boolean> {
    if (!isClientId(clientId)) return false;
    this.#cache.delete(clientId);
    try {
      await this.#container.item(documentId(clientId), smartClientPartition).delete();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw storeError(err, 'deleting a client');
    } finally {
      this.#cache.delete(clientId);
    }
  }
}
