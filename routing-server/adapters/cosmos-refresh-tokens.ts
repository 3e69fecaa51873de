/** RefreshTokenStore over Cosmos DB: one document per token hash, partitioned by the hash. */
import type { Container } from '@azure/cosmos';
import type { RefreshTokenDocument, RefreshTokenStore } from '../domain/ports.ts';
import { cosmosStatus, mapCosmosError } from './cosmos-errors.ts';

/** Partition key path of the refresh token container. */
export const REFRESH_TOKEN_PARTITION_KEY = '/id';

type Stored = RefreshTokenDocument & { _etag?: string };

function fromStored(doc: Stored): RefreshTokenDocument {
  const { _etag, ...rest } = doc;
  const out: RefreshTokenDocument = {} as RefreshTokenDocument;
  for (const [k, v] of Object.entries(rest)) if (!k.startsWith('_')) (out as unknown as Record<string, unknown>)[k] = v;
  return { ...out, etag: _etag };
}

function toStored(doc: RefreshTokenDocument): Omit<RefreshTokenDocument, 'etag'> {
  const { etag: _ignored, ...rest } = doc;
  return rest;
}

/** See the module comment. */
export class CosmosRefreshTokenStore implements RefreshTokenStore {
  private readonly source: () => Container;

  /** Uses `container` (partitioned on /id), or a source that may throw while it is not reachable yet. */
  constructor(container: Container | (() => Container)) {
    this.source = typeof container === 'function' ? container : () => container;
  }

  private get container(): Container {
    return this.source();
  }

  /** Point read by hash. */
  async get(hash: string): Promise<RefreshTokenDocument | undefined> {
    try {
      const { resource } = await this.container.item(hash, hash).read<Stored>();
      return resource ? fromStored(resource) : undefined;
    } catch (err) {
      if (cosmosStatus(err) === 404) return undefined;
      throw mapCosmosError(err, 'a refresh token');
    }
  }

  /** Creates a document; fails if the hash exists. */
  async create(doc: RefreshTokenDocument): Promise<RefreshTokenDocument> {
    try {
      const { resource } = await this.container.items.create<Stored>(toStored(doc));
      return fromStored(resource!);
    } catch (err) {
      throw mapCosmosError(err, 'a refresh token');
    }
  }

  /** Replaces a document if its etag matches. */
  async replace(doc: RefreshTokenDocument): Promise<RefreshTokenDocument> {
    try {
      const { resource } = await this.container
        .item(doc.id, doc.id)
        .replace<Stored>(toStored(doc), doc.etag ? { accessCondition: { type: 'IfMatch', condition: doc.etag } } : {});
      return fromStored(resource!);
    } catch (err) {
      throw mapCosmosError(err, 'a refresh token');
    }
  }

  /** All documents of a family. */
  listFamily(familyId: string): Promise<RefreshTokenDocument[]> {
    return this.query('SELECT * FROM c WHERE c.familyId = @v', familyId);
  }

  /** All documents of an account. */
  listAccount(accountName: string): Promise<RefreshTokenDocument[]> {
    return this.query('SELECT * FROM c WHERE c.accountName = @v', accountName);
  }

  private async query(query: string, value: string): Promise<RefreshTokenDocument[]> {
    try {
      const { resources } = await this.container.items.query<Stored>({ query, parameters: [{ name: '@v', value }] }).fetchAll();
      return resources.map(fromStored);
    } catch (err) {
      throw mapCosmosError(err, 'refresh tokens');
    }
  }
}
