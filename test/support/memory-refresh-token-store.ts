/** An in-memory RefreshTokenStore (a fake at the port, for unit tests), with etags like Cosmos. */
import { RoutingError } from '../../routing-server/domain/errors.ts';
import type { RefreshTokenDocument, RefreshTokenStore } from '../../routing-server/domain/ports.ts';

/** See the module comment. */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  /** Stored documents by hash. */
  readonly docs = new Map<string, RefreshTokenDocument>();
  private version = 0;

  async get(hash: string) {
    const doc = this.docs.get(hash);
    return doc ? { ...doc } : undefined;
  }
  async create(doc: RefreshTokenDocument) {
    if (this.docs.has(doc.id)) throw new RoutingError('already-exists', 'exists');
    const stored = { ...doc, etag: `"${++this.version}"` };
    this.docs.set(doc.id, stored);
    return { ...stored };
  }
  async replace(doc: RefreshTokenDocument) {
    const current = this.docs.get(doc.id);
    if (!current) throw new RoutingError('not-found', 'missing');
    if (doc.etag && doc.etag !== current.etag) throw new RoutingError('stale-version', 'stale');
    const stored = { ...doc, etag: `"${++this.version}"` };
    this.docs.set(doc.id, stored);
    return { ...stored };
  }
  async listFamily(familyId: string) {
    return [...this.docs.values()].filter((d) => d.familyId === familyId).map((d) => ({ ...d }));
  }
  async listAccount(accountName: string) {
    return [...this.docs.values()].filter((d) => d.accountName === accountName).map((d) => ({ ...d }));
  }
}
