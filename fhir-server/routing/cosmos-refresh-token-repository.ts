/**
 * `RefreshTokenRepository` on Cosmos DB: one document in the account's own
 * database (by default `system/routing-refresh-token`, partition `/pk`).
 *
 * The first read that finds no document creates it from the bootstrap token
 * given in configuration; from then on the stored document wins, so restarts
 * and other instances pick up rotated tokens and the configured one is only a
 * seed. A configured bootstrap token the document has never been seeded with
 * (its SHA-256 is not among `bootstrapDigests`) replaces the stored token: that
 * is how an operator recovers a service whose token family was revoked (issue
 * a new token, configure it, restart). Instances still configured with an
 * earlier bootstrap token leave the stored one alone. Replacements carry `If-Match: <etag>`; a 412 means another instance
 * stored first, and the adapter reads back what it stored.
 */
import type { Container, CosmosClient } from '@azure/cosmos';
import { ensureContainer } from '../../common/cosmos.ts';
import { RefreshTokenStoreError, type RefreshTokenRepository, type RefreshTokenUpdate, type ReplaceOutcome, type StoredRefreshToken } from './refresh-token-repository.ts';
import { rotatedDocument, seedDocument, statusOf, storeError, toStored, tokenDigest, type RefreshTokenDocument } from './cosmos-refresh-token-document.ts';

/** Where the document lives and what seeds it. */
export interface CosmosRefreshTokenRepositoryOptions {
  /** The account's database. */
  databaseId: string;
  /** Container of service documents, partitioned on `/pk` (default `system`). */
  containerId?: string;
  /** Id (and partition key) of the document (default `routing-refresh-token`). */
  documentId?: string;
  /** Refresh token issued by the operator at provisioning; used only while no document exists. */
  bootstrapRefreshToken?: string;
  /** Clock (tests). */
  now?: () => number;
}

/** Defaults of {@link CosmosRefreshTokenRepositoryOptions}. */
export const refreshTokenRepositoryDefaults = Object.freeze({ containerId: 'system', documentId: 'routing-refresh-token' });

/** Creates the container if needed and returns the repository. */
export async function openCosmosRefreshTokenRepository(client: CosmosClient, options: CosmosRefreshTokenRepositoryOptions): Promise<CosmosRefreshTokenRepository> {
  const container = await ensureContainer(client, options.databaseId, options.containerId ?? refreshTokenRepositoryDefaults.containerId, '/pk');
  return new CosmosRefreshTokenRepository(container, options);
}

/** See the module comment. */
export class CosmosRefreshTokenRepository implements RefreshTokenRepository {
  readonly #container: Container;
  readonly #id: string;
  readonly #bootstrap: string | undefined;
  readonly #bootstrapDigest: string | undefined;
  readonly #now: () => number;

  /** Wraps an existing container (partitioned on `/pk`). */
  constructor(container: Container, options: Omit<CosmosRefreshTokenRepositoryOptions, 'databaseId'> = {}) {
    this.#container = container;
    this.#id = options.documentId ?? refreshTokenRepositoryDefaults.documentId;
    this.#bootstrap = options.bootstrapRefreshToken || undefined;
    this.#bootstrapDigest = this.#bootstrap && tokenDigest(this.#bootstrap);
    this.#now = options.now ?? Date.now;
  }

  async current(): Promise<StoredRefreshToken> {
    const doc = await this.#read();
    if (doc && this.#bootstrap && doc.bootstrapDigests && !doc.bootstrapDigests.includes(this.#bootstrapDigest!)) return this.#adoptBootstrap(doc);
    if (doc) return toStored(doc);
    if (!this.#bootstrap) {
      throw new RefreshTokenStoreError('not-configured', `no refresh token is stored (${this.#id}) and no bootstrap refresh token is configured`);
    }
    try {
      const { resource } = await this.#container.items.create<RefreshTokenDocument>(seedDocument(this.#id, this.#bootstrap, this.#now()));
      return toStored(resource!);
    } catch (err) {
      // Another instance seeded it first: theirs is the same token or a newer one.
      if (statusOf(err) !== 409) throw storeError(err, 'seeding');
      return this.current();
    }
  }

  async replace(expected: StoredRefreshToken, next: RefreshTokenUpdate): Promise<ReplaceOutcome> {
    // A document from before digests were kept was seeded with this instance's bootstrap token, as far as anyone knows.
    const doc = rotatedDocument(this.#id, next, this.#now(), expected.bootstrapDigests ?? (this.#bootstrapDigest ? [this.#bootstrapDigest] : undefined));
    try {
      const { resource } = await this.#container
        .item(this.#id, this.#id)
        .replace<RefreshTokenDocument>(doc, { accessCondition: { type: 'IfMatch', condition: expected.etag } });
      return { outcome: 'stored', current: toStored(resource!) };
    } catch (err) {
      if (statusOf(err) !== 412) throw storeError(err, 'storing the rotated token');
      return { outcome: 'lost-race', current: await this.current() };
    }
  }

  /** Replaces the stored token with a bootstrap token it was never seeded with (guarded by the etag; a lost race re-reads). */
  async #adoptBootstrap(doc: RefreshTokenDocument): Promise<StoredRefreshToken> {
    const next = seedDocument(this.#id, this.#bootstrap!, this.#now(), doc.bootstrapDigests);
    try {
      const { resource } = await this.#container.item(this.#id, this.#id).replace<RefreshTokenDocument>(next, { accessCondition: { type: 'IfMatch', condition: doc._etag ?? '' } });
      return toStored(resource!);
    } catch (err) {
      if (statusOf(err) !== 412) throw storeError(err, 'storing the configured bootstrap token');
      return this.current();
    }
  }

  async #read(): Promise<RefreshTokenDocument | undefined> {
    try {
      const { resource } = await this.#container.item(this.#id, this.#id).read<RefreshTokenDocument>();
      return resource;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw storeError(err, 'reading');
    }
  }
}
