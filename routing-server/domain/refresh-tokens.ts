/**
 * Refresh tokens: 256-bit random values, stored only as SHA-256 hashes with an
 * expiry. Rotation issues a new token in the same family, exactly one per
 * token: the rotated-out token's document records its successor (sealed, see
 * successor-seal.ts) under an etag-guarded write, so rotating it again — a
 * second instance, a retry after a crash, any number at once — returns that
 * same successor. The rotated-out token stays valid for a grace window;
 * presenting it after the window, or after its successor was itself rotated,
 * revokes the family.
 *
 * Validation results are cached in memory by hash for a few seconds, so the
 * hot path does no I/O and a revocation takes effect within that time.
 * Uncached tokens are read once however many calls present them at once;
 * refused ones are remembered for a minute, and each peer address has a
 * budget of registry reads for tokens that do not authenticate (peer-budget.ts):
 * past it, `resource-exhausted` with the wait.
 */
import crypto, { createHash, randomBytes, randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { RoutingError, isRoutingError } from './errors.ts';
import { PeerReadBudget, peerReadBudgetDefaults, type PeerReadBudgetOptions } from './peer-budget.ts';
import type { Clock, RefreshTokenDocument, RefreshTokenStore, RefreshTokenSuccessor } from './ports.ts';
import { systemClock } from './ports.ts';
import { openSuccessor, sealSuccessor } from './successor-seal.ts';

/** Prefix of every refresh token, so scanners can recognise leaked ones. */
export const REFRESH_TOKEN_PREFIX = 'fmrt_';

/** Who a valid refresh token authenticates. */
export interface RefreshTokenPrincipal {
  /** The account. */
  accountName: string;
  /** The token's public id. */
  tokenId: string;
  /** The token's family. */
  familyId: string;
  /** The token's hash (document id). */
  hash: string;
}

/** A freshly issued token: the value is returned once and never stored. */
export interface IssuedRefreshToken {
  /** The token value. */
  token: string;
  /** Its stored document. */
  doc: RefreshTokenDocument;
}

/** Settings of refresh tokens. */
export interface RefreshTokenOptions {
  /** Lifetime of a new token. */
  lifetimeMs: number;
  /** How long a rotated-out token stays valid. */
  graceMs: number;
  /** How long a validation result is cached. */
  cacheTtlMs: number;
  /** Most cached validation results. */
  cacheMaxEntries: number;
  /** How long a refused token is answered from memory (default 60 s). */
  refusedTtlMs?: number;
  /** Registry reads per peer address for tokens that do not authenticate (default {@link peerReadBudgetDefaults}). */
  peerBudget?: Partial<PeerReadBudgetOptions>;
  /** Clock (tests). */
  clock?: Clock;
}

/**
 * How a validation ended: `cached` and `loaded` authenticate, the others refuse (`error`: the store failed;
 * `refused-again`: a token refused shortly before, answered from memory; `throttled`: the peer's read budget is spent).
 */
export type ValidationOutcome = 'cached' | 'loaded' | 'missing' | 'unknown' | 'revoked' | 'expired' | 'rotated-out' | 'error' | 'refused-again' | 'throttled';

/** Live counters for metrics (plain numbers: the hot path only increments one). */
export interface RefreshTokenStats {
  validations: Record<ValidationOutcome, number>;
  /** New successors issued. */
  rotations: number;
  /** Rotations that returned the successor issued before. */
  repeatedRotations: number;
  /** Point reads of token documents from the store. */
  reads: number;
}

/** The answer to a rotation: the successor (new or the one issued before) and until when the presented token works. */
export interface Rotation {
  /** The successor. */
  issued: IssuedRefreshToken;
  /** End of the presented token's grace window. */
  previousValidUntilMs: number;
}

interface CachedValidation {
  principal: RefreshTokenPrincipal;
  validUntilMs: number;
}

/** SHA-256 (hex) of a token: the only form ever stored. */
export function hashRefreshToken(token: string): string {
  // One-shot crypto.hash (Node >= 20.12) costs about half of a createHash object on this hot path.
  return oneShotHash ? oneShotHash('sha256', token, 'hex') : createHash('sha256').update(token).digest('hex');
}

const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** Issues, validates, rotates and revokes refresh tokens. */
export class RefreshTokenManager {
  private readonly cache: LRUCache<string, CachedValidation>;
  private readonly refused: LRUCache<string, { message: string; untilMs: number }>;
  private readonly loading = new Map<string, Promise<RefreshTokenPrincipal>>();
  private readonly budget: PeerReadBudget;
  private readonly clock: Clock;
  /** Live counters. */
  readonly stats: RefreshTokenStats = {
    validations: { cached: 0, loaded: 0, missing: 0, unknown: 0, revoked: 0, expired: 0, 'rotated-out': 0, error: 0, 'refused-again': 0, throttled: 0 },
    rotations: 0,
    repeatedRotations: 0,
    reads: 0,
  };

  /** Wires the manager to its store. */
  constructor(
    private readonly store: RefreshTokenStore,
    private readonly options: RefreshTokenOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.cache = new LRUCache({ max: options.cacheMaxEntries });
    this.refused = new LRUCache({ max: Math.max(1_000, Math.min(options.cacheMaxEntries, 100_000)) });
    this.budget = new PeerReadBudget({ ...peerReadBudgetDefaults, ...options.peerBudget, clock: this.clock });
  }

  /** Issues the first token of a new family for `accountName`. */
  async issue(accountName: string): Promise<IssuedRefreshToken> {
    const { token, successor } = this.mint(accountName, randomUUID(), undefined);
    return { token, doc: await this.store.create(successor) };
  }

  /**
   * The principal of a token; `unauthenticated` when it is missing, unknown, expired, revoked or rotated out;
   * `resource-exhausted` when `peer` (the caller's address) presented too many such tokens lately.
   */
  async validate(token: string | undefined, peer = ''): Promise<RefreshTokenPrincipal> {
    if (!token || !token.startsWith(REFRESH_TOKEN_PREFIX) || token.length > 200) {
      this.stats.validations.missing++;
      throw new RoutingError('unauthenticated', 'a refresh token is required: authorization: Bearer <refresh token>');
    }
    const hash = hashRefreshToken(token);
    const now = this.clock.now();
    const cached = this.cache.get(hash);
    if (cached && now < cached.validUntilMs) {
      this.stats.validations.cached++;
      return cached.principal;
    }
    const refused = this.refused.get(hash);
    if (refused && now < refused.untilMs) {
      this.stats.validations['refused-again']++;
      throw new RoutingError('unauthenticated', refused.message);
    }
    const pending = this.loading.get(hash);
    if (pending) return pending;
    const waitMs = this.budget.take(peer);
    if (waitMs > 0) {
      this.stats.validations.throttled++;
      throw new RoutingError('resource-exhausted', `too many refresh tokens that do not authenticate came from this address; retry in ${waitMs} ms`, { retryAfterMs: waitMs });
    }
    const loading = this.load(hash, now).then(
      (principal) => {
        this.budget.giveBack(peer);
        return principal;
      },
      (err: unknown) => {
        // Refusals are the peer's doing and are final for this token; a failing store is neither.
        if (isRoutingError(err, 'unauthenticated')) this.refused.set(hash, { message: err.message, untilMs: this.clock.now() + (this.options.refusedTtlMs ?? 60_000) });
        else this.budget.giveBack(peer);
        throw err;
      },
    );
    this.loading.set(hash, loading);
    void loading.then(() => this.loading.delete(hash), () => this.loading.delete(hash));
    return loading;
  }

  /** The principal of a token whose validation is cached and current, synchronously (the hot path); else undefined. */
  validateCached(token: string | undefined): RefreshTokenPrincipal | undefined {
    if (!token || !token.startsWith(REFRESH_TOKEN_PREFIX) || token.length > 200) return undefined;
    const cached = this.cache.get(hashRefreshToken(token));
    if (!cached || this.clock.now() >= cached.validUntilMs) return undefined;
    this.stats.validations.cached++;
    return cached.principal;
  }

  private async read(hash: string): Promise<RefreshTokenDocument | undefined> {
    this.stats.reads++;
    return this.store.get(hash);
  }

  private async load(hash: string, now: number): Promise<RefreshTokenPrincipal> {
    let doc: RefreshTokenDocument | undefined;
    try {
      doc = await this.read(hash);
    } catch (err) {
      this.stats.validations.error++;
      throw err;
    }
    const principal = await this.check(doc, now);
    const validUntil = Math.min(now + this.options.cacheTtlMs, this.validUntil(doc!));
    this.cache.set(hash, { principal, validUntilMs: validUntil });
    return principal;
  }

  /**
   * Rotates the caller's token (`token`, whose validation gave `principal`). The first rotation records one
   * successor with an etag-guarded write; every later or concurrent rotation of the same token returns that
   * successor while the token is in its grace window. The old token ends after the window.
   */
  async rotate(principal: RefreshTokenPrincipal, token: string): Promise<Rotation> {
    if (hashRefreshToken(token) !== principal.hash) throw new RoutingError('unauthenticated', 'the refresh token does not match the caller');
    for (let attempt = 0; attempt < 10; attempt++) {
      const now = this.clock.now();
      const doc = await this.read(principal.hash);
      if (!doc) throw new RoutingError('unauthenticated', 'the refresh token is unknown');
      if (doc.state === 'revoked') throw new RoutingError('unauthenticated', 'the refresh token was revoked');
      if (Date.parse(doc.expireTime) <= now) throw new RoutingError('unauthenticated', 'the refresh token has expired');
      if (doc.state === 'rotated' && this.validUntil(doc) <= now) return this.reused(doc, 'a rotated-out token was presented after its grace window');
      if (doc.successor) return this.sameSuccessor(doc, token);
      const { token: value, successor } = this.mint(doc.accountName, doc.familyId, doc.tokenId);
      const record: RefreshTokenSuccessor = {
        id: successor.id,
        tokenId: successor.tokenId,
        createTime: successor.createTime,
        expireTime: successor.expireTime,
        sealed: sealSuccessor(token, doc.id, successor.id, value),
      };
      let rotated: RefreshTokenDocument;
      try {
        rotated = await this.store.replace({ ...doc, state: 'rotated', rotatedTime: doc.rotatedTime ?? new Date(now).toISOString(), successor: record });
      } catch (err) {
        // Someone else rotated it first: the next round returns their successor.
        if (isRoutingError(err, 'stale-version')) continue;
        throw err;
      }
      const next = await this.successorDoc(rotated);
      this.cache.delete(principal.hash);
      this.stats.rotations++;
      return { issued: { token: value, doc: next }, previousValidUntilMs: this.validUntil(rotated) };
    }
    throw new RoutingError('stale-version', 'the refresh token is being rotated by too many callers at once; retry');
  }

  /** A repeated rotation of `doc`: its recorded successor, unless that was rotated on already (reuse: the family is revoked). */
  private async sameSuccessor(doc: RefreshTokenDocument, token: string): Promise<Rotation> {
    const successor = doc.successor!;
    const value = openSuccessor(token, doc.id, successor.id, successor.sealed);
    if (!value) throw new RoutingError('internal', 'the recorded successor of a refresh token cannot be opened');
    const next = await this.successorDoc(doc);
    if (next.state === 'revoked') throw new RoutingError('unauthenticated', 'the refresh token was revoked');
    if (next.state === 'rotated' || next.successor) return this.reused(doc, 'a token whose successor had already been rotated was presented');
    this.cache.delete(doc.id);
    this.stats.repeatedRotations++;
    return { issued: { token: value, doc: next }, previousValidUntilMs: this.validUntil(doc) };
  }

  /** The successor's document, created from the record when the rotation that recorded it stopped before creating it. */
  private async successorDoc(doc: RefreshTokenDocument): Promise<RefreshTokenDocument> {
    const s = doc.successor!;
    const existing = await this.read(s.id);
    if (existing) return existing;
    const fresh: RefreshTokenDocument = {
      id: s.id,
      tokenId: s.tokenId,
      familyId: doc.familyId,
      accountName: doc.accountName,
      parentTokenId: doc.tokenId,
      createTime: s.createTime,
      expireTime: s.expireTime,
      state: 'active',
    };
    try {
      return await this.store.create(fresh);
    } catch (err) {
      if (!isRoutingError(err, 'already-exists')) throw err;
      const raced = await this.read(s.id);
      if (!raced) throw err;
      return raced;
    }
  }

  /** Reuse of a rotated-out token: revokes its family and refuses. */
  private async reused(doc: RefreshTokenDocument, reason: string): Promise<never> {
    this.stats.validations['rotated-out']++;
    await this.revokeDocs(await this.store.listFamily(doc.familyId), reason);
    throw new RoutingError('unauthenticated', 'the refresh token was rotated out; its family is now revoked');
  }

  /** Revokes the family of `tokenId`, or every token of the account when no id is given; returns how many changed. */
  async revoke(accountName: string, tokenId?: string, reason = 'revoked by an administrator'): Promise<number> {
    let docs = await this.store.listAccount(accountName);
    if (tokenId) {
      const target = docs.find((d) => d.tokenId === tokenId);
      if (!target) throw new RoutingError('not-found', `account ${accountName} has no refresh token ${tokenId}`);
      docs = docs.filter((d) => d.familyId === target.familyId);
    }
    return this.revokeDocs(docs, reason);
  }

  /** The account's tokens (documents, never values), newest first. */
  async list(accountName: string): Promise<RefreshTokenDocument[]> {
    const docs = await this.store.listAccount(accountName);
    return docs.sort((a, b) => b.createTime.localeCompare(a.createTime));
  }

  /** Effective state of a document now (expired is derived). */
  stateOf(doc: RefreshTokenDocument): 'active' | 'rotated' | 'revoked' | 'expired' {
    if (doc.state === 'revoked') return 'revoked';
    if (Date.parse(doc.expireTime) <= this.clock.now()) return 'expired';
    return doc.state;
  }

  /** A new token value and its document (not stored yet). */
  private mint(accountName: string, familyId: string, parentTokenId: string | undefined): { token: string; successor: RefreshTokenDocument } {
    const token = REFRESH_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const now = this.clock.now();
    return {
      token,
      successor: {
        id: hashRefreshToken(token),
        tokenId: `rt-${randomUUID()}`,
        familyId,
        accountName,
        ...(parentTokenId ? { parentTokenId } : {}),
        createTime: new Date(now).toISOString(),
        expireTime: new Date(now + this.options.lifetimeMs).toISOString(),
        state: 'active',
      },
    };
  }

  private validUntil(doc: RefreshTokenDocument): number {
    const expiry = Date.parse(doc.expireTime);
    if (doc.state === 'rotated' && doc.rotatedTime) return Math.min(expiry, Date.parse(doc.rotatedTime) + this.options.graceMs);
    return expiry;
  }

  private async check(doc: RefreshTokenDocument | undefined, now: number): Promise<RefreshTokenPrincipal> {
    if (!doc) return this.refuse('unknown', 'the refresh token is unknown');
    if (doc.state === 'revoked') return this.refuse('revoked', 'the refresh token was revoked');
    if (Date.parse(doc.expireTime) <= now) return this.refuse('expired', 'the refresh token has expired');
    if (doc.state === 'rotated') {
      // A rotated-out token used after its grace window, or after its successor moved on: someone may hold a stolen copy.
      if (this.validUntil(doc) <= now) return this.reused(doc, 'a rotated-out token was presented after its grace window');
      const next = doc.successor && (await this.read(doc.successor.id));
      if (next?.state === 'revoked') return this.refuse('revoked', 'the refresh token was revoked');
      if (next && (next.state === 'rotated' || next.successor)) return this.reused(doc, 'a token whose successor had already been rotated was presented');
    }
    this.stats.validations.loaded++;
    return { accountName: doc.accountName, tokenId: doc.tokenId, familyId: doc.familyId, hash: doc.id };
  }

  private refuse(outcome: ValidationOutcome, message: string): never {
    this.stats.validations[outcome]++;
    throw new RoutingError('unauthenticated', message);
  }

  private async revokeDocs(docs: RefreshTokenDocument[], reason: string): Promise<number> {
    let count = 0;
    for (const doc of docs) {
      this.cache.delete(doc.id);
      if (doc.state === 'revoked') continue;
      for (let attempt = 0, current: RefreshTokenDocument | undefined = doc; current && attempt < 5; attempt++) {
        if (current.state === 'revoked') break;
        try {
          await this.store.replace({ ...current, state: 'revoked', revokedReason: reason });
          count++;
          break;
        } catch (err) {
          if (!isRoutingError(err, 'stale-version')) throw err;
          current = await this.store.get(doc.id);
        }
      }
    }
    return count;
  }
}
