/**
 * `ResourceStore` on Azure Cosmos DB (or anything speaking its API): one container
 * of resource documents partitioned on `/pk`, and a system container holding the
 * transaction journal and the resource-type markers.
 */
import type { Container, CosmosClient } from '@azure/cosmos';
import { ensureContainer } from '../../common/cosmos.ts';
import { FhirError } from '../fhir/errors.ts';
import { bulkUpsert } from './cosmos-bulk.ts';
import { ResourceDocuments } from './cosmos-documents.ts';
import { isWriteRace, toFhirError } from './cosmos-errors.ts';
import { applyTransaction, recoverTransactions } from './cosmos-transaction.ts';
import type { TransactionHooks, TransactionParts } from './cosmos-transaction.ts';
import { partitionKeyOf, partitionKeysOf, toExportItem, toReadResult } from './document.ts';
import type { ResourceDocument } from './document.ts';
import { exportCountQuery, exportPageQuery } from './export-sql.ts';
import { TransactionJournal } from './journal.ts';
import type * as port from './resource-store.ts';
import { TypeRegistry } from './type-registry.ts';
import { planWrite, targetOf } from './write-plan.ts';

/** Where the store keeps its data and how it runs. */
export interface CosmosResourceStoreOptions {
  /** The account's database. */
  databaseId: string;
  /** Container of resource documents (default `resources`). */
  containerId?: string;
  /** Container of journals and type markers (default `system`). */
  systemContainerId?: string;
  /** Requests in flight within one transaction or bulk load (default 16). */
  concurrency?: number;
  /** How long a transaction may stay unfinished before recovery may roll it back (default 60 s). */
  transactionTimeoutMs?: number;
  /** Test seams of the transaction apply phase. */
  hooks?: TransactionHooks;
}

/** Defaults of {@link CosmosResourceStoreOptions}. */
export const storeDefaults = Object.freeze({ containerId: 'resources', systemContainerId: 'system', concurrency: 16, transactionTimeoutMs: 60_000 });

/**
 * Index policy of the resource container: every path but the resource body (queries select by
 * the document's own fields and the search index `idx`, never inside `resource`; see docs/search.md),
 * and the composite index the keyset order of export scans needs.
 */
export const resourceIndexingPolicy = Object.freeze({
  indexingMode: 'consistent' as const,
  automatic: true,
  includedPaths: [{ path: '/*' }],
  excludedPaths: [{ path: '/resource/*' }, { path: '/"_etag"/?' }],
  compositeIndexes: [
    [
      { path: '/lastUpdatedMs', order: 'ascending' as const },
      { path: '/id', order: 'ascending' as const },
    ],
  ],
});

/** Creates the containers if needed and returns the store. */
export async function openCosmosResourceStore(client: CosmosClient, options: CosmosResourceStoreOptions): Promise<CosmosResourceStore> {
  const resources = await ensureContainer(client, options.databaseId, options.containerId ?? storeDefaults.containerId, '/pk', {
    indexingPolicy: resourceIndexingPolicy,
  });
  const system = await ensureContainer(client, options.databaseId, options.systemContainerId ?? storeDefaults.systemContainerId, '/pk');
  return new CosmosResourceStore(resources, system, options);
}

/** The Cosmos DB adapter of {@link port.ResourceStore}. */
export class CosmosResourceStore implements port.ResourceStore {
  readonly #documents: ResourceDocuments;
  readonly #types: TypeRegistry;
  readonly #tx: TransactionParts;
  readonly #concurrency: number;

  constructor(resources: Container, system: Container, options: Omit<CosmosResourceStoreOptions, 'databaseId'> = {}) {
    this.#documents = new ResourceDocuments(resources);
    this.#types = new TypeRegistry(system);
    this.#concurrency = options.concurrency ?? storeDefaults.concurrency;
    this.#tx = {
      documents: this.#documents,
      journal: new TransactionJournal(system),
      settings: { concurrency: this.#concurrency, timeoutMs: options.transactionTimeoutMs ?? storeDefaults.transactionTimeoutMs, hooks: options.hooks },
    };
  }

  /** The resource container (for tests and tools that count documents). */
  get container(): Container {
    return this.#documents.container;
  }

  async create(resource: port.IdentifiedResource, options: { ifExists?: 'fail' | 'keep' } = {}): Promise<port.WriteResult> {
    return this.#write({ op: 'create', resource, ifExists: options.ifExists });
  }

  async read(resourceType: string, id: string): Promise<port.ReadResult | undefined> {
    const doc = await this.#documents.get(partitionKeyOf(resourceType, id), id);
    return doc ? toReadResult(doc) : undefined;
  }

  async update(resource: port.IdentifiedResource, options: { ifMatch?: number } = {}): Promise<port.WriteResult> {
    return this.#write({ op: 'update', resource, ifMatch: options.ifMatch });
  }

  async delete(resourceType: string, id: string, options: { ifMatch?: number } = {}): Promise<port.WriteResult> {
    return this.#write({ op: 'delete', resourceType, id, ifMatch: options.ifMatch });
  }

  // A single document write is atomic by itself; a lost race is retried against the new state.
  async #write(op: port.WriteOp): Promise<port.WriteResult> {
    const { resourceType, id } = targetOf(op);
    const pk = partitionKeyOf(resourceType, id);
    if (op.op !== 'delete') await this.#types.ensure([resourceType]);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.#documents.get(pk, id);
      const plan = planWrite(op, current, Date.now());
      if (!plan.next) return plan.result;
      try {
        await this.#documents.put(plan.next, current);
        return plan.result;
      } catch (error) {
        if (!isWriteRace(error)) throw toFhirError(error, `writing ${resourceType}/${id}`);
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
    return bulkUpsert(this.#documents, (resource) => this.update(resource), resources, { concurrency: this.#concurrency, ...options });
  }

  async queryForExport(query: port.ExportQuery): Promise<port.ExportPage> {
    try {
      const { resources: docs } = await this.container.items.query<ResourceDocument>(exportPageQuery(query)).fetchAll();
      const items = docs.map(toExportItem);
      const last = items.at(-1);
      const page: port.ExportPage = { items, resources: items.flatMap((item) => (item.json === undefined ? [] : [item.json])) };
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
    const pks = partitionKeysOf(resourceType);
    const parameters = [...pks.map((pk, i) => ({ name: `@pk${i}`, value: pk })), { name: '@value', value }];
    let match = 'i["value"] = @value'; // VALUE is a keyword of the query language
    if (system !== undefined) {
      match += ' AND i.system = @system';
      parameters.push({ name: '@system', value: system });
    }
    const query =
      `SELECT VALUE c.id FROM c WHERE c.pk IN (${pks.map((_, i) => `@pk${i}`).join(', ')}) AND c.deleted = false ` +
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
}
