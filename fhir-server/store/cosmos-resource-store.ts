/**
 * `ResourceStore` on Azure Cosmos DB (or anything speaking its API): one container
 * of version documents partitioned on `/pk` (layout.ts), and a system container
 * holding the transaction journal, the resource-type markers and writer presence.
 */
import type { Container, CosmosClient, IndexingPolicy } from '@azure/cosmos';
import { ensureContainer } from '../../common/cosmos.ts';
import { FhirError } from '../fhir/errors.ts';
import { bulkUpsert } from './cosmos-bulk.ts';
import { ResourceDocuments } from './cosmos-documents.ts';
import { cosmosStatus, isWriteRace, toFhirError } from './cosmos-errors.ts';
import { applyTransaction, recoverTransactions } from './cosmos-transaction.ts';
import type { TransactionHooks, TransactionParts } from './cosmos-transaction.ts';
import { toExportItem, toReadResult } from './document.ts';
import type { ResourceDocument } from './document.ts';
import { bucketRangeWhere, exportCountQuery, exportPageQuery } from './export-sql.ts';
import { historyPageQuery } from './history-sql.ts';
import { assertNoLegacyData } from './legacy.ts';
import { historyDocumentId, openEnd, partitionKeyOf } from './layout.ts';
import { TransactionJournal } from './journal.ts';
import type * as port from './resource-store.ts';
import { purgedThrough, purgeHistory } from './retention.ts';
import type { PurgeReport } from './retention.ts';
import { TypeRegistry } from './type-registry.ts';
import { WriteClock } from './write-clock.ts';
import type { WriteClockOptions } from './write-clock.ts';
import { planWrite, targetOf } from './write-plan.ts';

/** Where the store keeps its data and how it runs. */
export interface CosmosResourceStoreOptions {
  /** The account's database. */
  databaseId: string;
  /** Container of version documents (default `resource-versions`). */
  containerId?: string;
  /** Container of journals, type markers and writer presence (default `system`). */
  systemContainerId?: string;
  /** Requests in flight within one transaction or bulk load (default 16). */
  concurrency?: number;
  /** How long a transaction may stay unfinished before recovery may roll it back (default 60 s). */
  transactionTimeoutMs?: number;
  /** Keep every replaced version (default true; false keeps current versions only, as a benchmark baseline). */
  keepHistory?: boolean;
  /** Write timing (write-clock.ts). */
  clock?: WriteClockOptions;
  /** Test seams of the transaction apply phase. */
  hooks?: TransactionHooks;
}

/** Defaults of {@link CosmosResourceStoreOptions}. */
export const storeDefaults = Object.freeze({ containerId: 'resource-versions', systemContainerId: 'system', concurrency: 16, transactionTimeoutMs: 60_000 });

/**
 * Index policy of the version container. Resource bodies are not indexed (nothing queries
 * inside them: search reads its own index values `idx`, see docs/search.md), which keeps a write's RU charge near the
 * size of what is queried rather than of the whole resource. The composite indexes serve the
 * export scan (lastUpdatedMs, rid) and history listings (lastUpdatedMs, resourceType, rid), in
 * either direction.
 */
export const resourceIndexingPolicy: IndexingPolicy = Object.freeze({
  indexingMode: 'consistent' as const,
  automatic: true,
  includedPaths: [{ path: '/*' }],
  excludedPaths: [{ path: '/resource/*' }, { path: '/deletedResource/*' }, { path: '/"_etag"/?' }],
  compositeIndexes: [
    [
      { path: '/lastUpdatedMs', order: 'ascending' as const },
      { path: '/rid', order: 'ascending' as const },
    ],
    [
      { path: '/lastUpdatedMs', order: 'descending' as const },
      { path: '/resourceType', order: 'descending' as const },
      { path: '/rid', order: 'descending' as const },
    ],
  ],
}) as IndexingPolicy;

/** Creates the containers if needed (refusing a database that still holds data in an older layout) and returns the store. */
export async function openCosmosResourceStore(client: CosmosClient, options: CosmosResourceStoreOptions): Promise<CosmosResourceStore> {
  const system = await ensureContainer(client, options.databaseId, options.systemContainerId ?? storeDefaults.systemContainerId, '/pk');
  await assertNoLegacyData(client, options.databaseId, system);
  const resources = await ensureContainer(client, options.databaseId, options.containerId ?? storeDefaults.containerId, '/pk', {
    indexingPolicy: resourceIndexingPolicy,
  });
  return new CosmosResourceStore(resources, system, options);
}

/** Documents per response of an export page query. */
const exportResponseItems = 1000;

/** The Cosmos DB adapter of {@link port.ResourceStore}. */
export class CosmosResourceStore implements port.ResourceStore {
  readonly #documents: ResourceDocuments;
  readonly #types: TypeRegistry;
  readonly #tx: TransactionParts;
  readonly #clock: WriteClock;
  readonly #system: Container;
  readonly #concurrency: number;

  constructor(resources: Container, system: Container, options: Omit<CosmosResourceStoreOptions, 'databaseId'> = {}) {
    this.#documents = new ResourceDocuments(resources, { keepHistory: options.keepHistory });
    this.#types = new TypeRegistry(system);
    this.#clock = WriteClock.shared(system, options.clock);
    this.#system = system;
    this.#concurrency = options.concurrency ?? storeDefaults.concurrency;
    this.#tx = {
      documents: this.#documents,
      journal: new TransactionJournal(system),
      clock: this.#clock,
      settings: { concurrency: this.#concurrency, timeoutMs: options.transactionTimeoutMs ?? storeDefaults.transactionTimeoutMs, hooks: options.hooks },
    };
  }

  /** The version container (for tests and tools that count documents). */
  get container(): Container {
    return this.#documents.container;
  }

  /** The write clock (stamps and settling). */
  get clock(): WriteClock {
    return this.#clock;
  }

  async create(resource: port.IdentifiedResource, options: { ifExists?: 'fail' | 'keep' } = {}): Promise<port.WriteResult> {
    return this.#write({ op: 'create', resource, ifExists: options.ifExists });
  }

  async read(resourceType: string, id: string): Promise<port.ReadResult | undefined> {
    const doc = await this.#documents.get(partitionKeyOf(resourceType, id), id);
    return doc ? toReadResult(doc) : undefined;
  }

  async readVersion(resourceType: string, id: string, versionId: number): Promise<port.ReadResult | undefined> {
    const pk = partitionKeyOf(resourceType, id);
    const current = await this.#documents.get(pk, id);
    if (!current || versionId > current.versionId || versionId < 1) return undefined;
    if (current.versionId === versionId) return toReadResult(current);
    const doc = await this.#documents.get(pk, historyDocumentId(id, versionId));
    return doc ? toReadResult(doc) : undefined;
  }

  async history(query: port.HistoryQuery): Promise<port.HistoryPage> {
    try {
      const { resources: docs } = await this.container.items.query<ResourceDocument>(historyPageQuery(query)).fetchAll();
      const entries = docs.slice(0, query.count).map(toReadResult);
      const page: port.HistoryPage = { entries };
      const last = entries.at(-1);
      if (docs.length > query.count && last) page.next = { lastUpdatedMs: last.lastUpdatedMs, resourceType: last.resourceType, id: last.id };
      return page;
    } catch (error) {
      throw toFhirError(error, 'reading history');
    }
  }

  async settled(instantMs: number): Promise<void> {
    await this.#clock.settled(instantMs);
  }

  async purgedHistoryThrough(): Promise<number> {
    return purgedThrough(this.#system);
  }

  /** Deletes replaced versions whose validity ended before `horizonMs` (retention.ts), unless `stillNeededSince` says an export needs them. */
  async purgeHistory(horizonMs: number, stillNeededSince: () => Promise<number>): Promise<PurgeReport> {
    return purgeHistory(this.container, this.#system, horizonMs, stillNeededSince);
  }

  async update(resource: port.IdentifiedResource, options: { ifMatch?: number } = {}): Promise<port.WriteResult> {
    return this.#write({ op: 'update', resource, ifMatch: options.ifMatch });
  }

  async delete(resourceType: string, id: string, options: { ifMatch?: number } = {}): Promise<port.WriteResult> {
    return this.#write({ op: 'delete', resourceType, id, ifMatch: options.ifMatch });
  }

  // A version write is atomic by itself (one document, or one batch with its history copy); a lost race is
  // retried against the new state, each attempt with a fresh stamp taken just before it is sent.
  async #write(op: port.WriteOp): Promise<port.WriteResult> {
    const { resourceType, id } = targetOf(op);
    const pk = partitionKeyOf(resourceType, id);
    if (op.op !== 'delete') await this.#types.ensure([resourceType]);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.#documents.get(pk, id);
      const stamp = await this.#clock.begin(current ? current.lastUpdatedMs + 1 : 0);
      try {
        const plan = planWrite(op, current, stamp.ms);
        if (!plan.next) return plan.result;
        if (!stamp.fresh()) continue;
        await this.#documents.put(plan.next, current, stamp.signal);
        return plan.result;
      } catch (error) {
        if (!isWriteRace(error)) throw writeError(error, `writing ${resourceType}/${id}`);
      } finally {
        stamp.done();
      }
    }
    throw new FhirError('conflict', `${resourceType}/${id} is being changed by others; try again`);
  }

  async transaction(ops: port.WriteOp[]): Promise<port.WriteResult[]> {
    await this.#types.ensure(ops.flatMap((op) => (op.op === 'delete' ? [] : [op.resource.resourceType])));
    return applyTransaction(this.#tx, ops);
  }

  async recoverTransactions(options: { now?: number } = {}): Promise<port.RecoveryReport> {
    return recoverTransactions(this.#tx, options.now);
  }

  async bulkUpsert(resources: port.IdentifiedResource[], options: port.BulkUpsertOptions = {}): Promise<port.BulkUpsertResult> {
    await this.#types.ensure(resources.map((r) => r.resourceType));
    return bulkUpsert(this.#documents, this.#clock, (resource) => this.update(resource), resources, { concurrency: this.#concurrency, ...options });
  }

  async queryForExport(query: port.ExportQuery): Promise<port.ExportPage> {
    try {
      // Read in responses of at most 1,000 documents, each turned into compact items (a JSON string per
      // resource) before the next arrives: a 10,000-resource page then never holds 10,000 parsed documents.
      const iterator = this.container.items.query<ResourceDocument>(exportPageQuery(query), { maxItemCount: Math.min(query.pageSize, exportResponseItems) });
      const items: port.ExportItem[] = [];
      while (iterator.hasMoreResults()) {
        const { resources: docs } = await iterator.fetchNext();
        for (const doc of docs) items.push(toExportItem(doc, query.versions === 'deleted-resources'));
      }
      const last = items.at(-1);
      const page: port.ExportPage = { items, resources: items.flatMap((item) => (item.json === undefined || item.deleted ? [] : [item.json])) };
      if (last && items.length >= query.pageSize) page.continuation = { lastUpdatedMs: last.lastUpdatedMs, id: last.id };
      return page;
    } catch (error) {
      throw toFhirError(error, `reading ${query.resourceType} for export`);
    }
  }

  async count(filter: port.ExportFilter): Promise<number> {
    try {
      const { resources } = await this.container.items.query<number>(exportCountQuery(filter)).fetchAll();
      return resources.reduce((sum, n) => sum + n, 0);
    } catch (error) {
      throw toFhirError(error, `counting ${filter.resourceType}`);
    }
  }

  async listResourceTypes(): Promise<string[]> {
    return this.#types.list();
  }

  async getGroupMembers(groupId: string): Promise<string[] | undefined> {
    const doc = await this.#documents.get(partitionKeyOf('Group', groupId), groupId);
    return doc && !doc.deleted ? (doc.members ?? []) : undefined;
  }

  async findByIdentifier(resourceType: string, system: string | undefined, value: string): Promise<string[]> {
    const { clauses, parameters } = bucketRangeWhere(resourceType);
    parameters.push({ name: '@value', value }, { name: '@openEnd', value: openEnd });
    let match = 'i["value"] = @value'; // VALUE is a keyword of the query language
    if (system !== undefined) {
      match += ' AND i.system = @system';
      parameters.push({ name: '@system', value: system });
    }
    const query =
      `SELECT VALUE c.rid FROM c WHERE ${clauses.join(' AND ')} AND c.endMs = @openEnd AND c.deleted = false ` +
      `AND EXISTS(SELECT VALUE i FROM i IN c.identifiers WHERE ${match})`;
    try {
      const { resources } = await this.container.items.query<string>({ query, parameters }).fetchAll();
      return resources.sort();
    } catch (error) {
      throw toFhirError(error, `searching ${resourceType} by identifier`);
    }
  }

  async findTypesOfIds(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    try {
      // Current versions are stored under the resource id itself, so `c.id` matches current documents only.
      const { resources } = await this.container.items
        .query<{ id: string; resourceType: string }>({
          query: 'SELECT c.id, c.resourceType FROM c WHERE ARRAY_CONTAINS(@ids, c.id) AND c.deleted = false',
          parameters: [{ name: '@ids', value: ids }],
        })
        .fetchAll();
      return new Map(resources.map((r) => [r.id, r.resourceType]));
    } catch (error) {
      throw toFhirError(error, 'resolving ids');
    }
  }

  async close(): Promise<void> {
    await this.#clock.close();
  }
}

// Write failures: an abandoned write (its timeout passed) may or may not have landed, which the client must be told.
function writeError(error: unknown, doing: string): FhirError {
  if ((error as { name?: string } | null)?.name === 'AbortError' || cosmosStatus(error) === 408) {
    return new FhirError('unavailable', `The database did not confirm the write in time while ${doing}; it may or may not have been applied: read the resource before trying again`, {
      retryAfterSeconds: 1,
      cause: error,
    });
  }
  return toFhirError(error, doing);
}
