/**
 * Registry reads that survive a Cosmos DB outage: every call goes through the
 * registry's DependencyGate (fail fast while it is shut), and a failed read of
 * an account or a refresh token is answered with the last document read for it,
 * if that is recent enough. The domain still checks what it gets (a token that
 * expired or left its grace window meanwhile is refused), so the outage only
 * delays changes made elsewhere — which could not be written anyway while the
 * registry is down.
 */
import type { AccountRecord } from './account.ts';
import type { DependencyGate } from './dependency-gate.ts';
import { isRoutingError } from './errors.ts';
import { LastKnown } from './last-known.ts';
import type { AccountReadRegistryRepository, Clock, RefreshTokenDocument, RefreshTokenStore } from './ports.ts';

/** Settings of the resilient decorators. */
export interface ResilienceOptions {
  /** The registry's gate, shared by accounts and refresh tokens. */
  gate: DependencyGate;
  /** How long a document read before an outage may stand in for a failed read. */
  staleIfErrorMs: number;
  /** Most documents remembered. */
  maxEntries: number;
  /** Told each time a remembered document answered for a failed read. */
  onStale?: (what: 'account' | 'refresh-token') => void;
  /** Clock (tests). */
  clock?: Clock;
}

async function readThrough<V extends {}>(gate: DependencyGate, last: LastKnown<V>, key: string, read: () => Promise<V | undefined>, onStale: () => void): Promise<V | undefined> {
  try {
    const value = await gate.run(read);
    last.remember(key, value);
    return value;
  } catch (err) {
    const stale = isRoutingError(err, 'dependency-unavailable') ? last.recall(key) : undefined;
    if (stale === undefined) throw err;
    onStale();
    return stale;
  }
}

/** AccountReadRegistryRepository decorator; see the module comment. */
export class ResilientAccountRegistry implements AccountReadRegistryRepository {
  private readonly last: LastKnown<AccountRecord>;

  /** Wraps `inner`. */
  constructor(private readonly inner: AccountReadRegistryRepository, private readonly options: ResilienceOptions) {
    this.last = new LastKnown(options.staleIfErrorMs, options.maxEntries, options.clock);
  }

  /** The account, live or (during an outage) as last read. */
  getAccount(name: string): Promise<AccountRecord | undefined> {
    return readThrough(this.options.gate, this.last, name, () => this.inner.getAccount(name), () => this.options.onStale?.('account'));
  }
}

/** RefreshTokenStore decorator; see the module comment. */
export class ResilientRefreshTokenStore implements RefreshTokenStore {
  private readonly last: LastKnown<RefreshTokenDocument>;

  /** Wraps `inner`. */
  constructor(private readonly inner: RefreshTokenStore, private readonly options: ResilienceOptions) {
    this.last = new LastKnown(options.staleIfErrorMs, options.maxEntries, options.clock);
  }

  /** The document, live or (during an outage) as last read or written here. */
  get(hash: string): Promise<RefreshTokenDocument | undefined> {
    return readThrough(this.options.gate, this.last, hash, () => this.inner.get(hash), () => this.options.onStale?.('refresh-token'));
  }

  /** Creates through the gate. */
  create(doc: RefreshTokenDocument): Promise<RefreshTokenDocument> {
    return this.write(() => this.inner.create(doc));
  }

  /** Replaces through the gate. */
  replace(doc: RefreshTokenDocument): Promise<RefreshTokenDocument> {
    return this.write(() => this.inner.replace(doc));
  }

  /** Lists through the gate. */
  listFamily(familyId: string): Promise<RefreshTokenDocument[]> {
    return this.options.gate.run(() => this.inner.listFamily(familyId));
  }

  /** Lists through the gate. */
  listAccount(accountName: string): Promise<RefreshTokenDocument[]> {
    return this.options.gate.run(() => this.inner.listAccount(accountName));
  }

  private async write(call: () => Promise<RefreshTokenDocument>): Promise<RefreshTokenDocument> {
    const doc = await this.options.gate.run(call);
    this.last.remember(doc.id, doc);
    return doc;
  }
}
