/**
 * Refresh tokens: 256-bit random values, stored only as SHA-256 hashes with an
 * expiry. Rotation issues a new token in the same family; the rotated-out token
 * stays valid for a grace window (two instances rotating at once both end up
 * with a working token); presenting it after the window revokes the family.
 * Validation results are cached in memory by hash for a few seconds, so the
 * hot path does no I/O and a revocation takes effect within that time.
 */
import crypto, { createHash, randomBytes, randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { RoutingError, isRoutingError } from './errors.ts';
import type { Clock, RefreshTokenDocument, RefreshTokenStore } from './ports.ts';
import { systemClock } from './ports.ts';

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
  /** Clock (tests). */
  clock?: Clock;
}

/** How a validation ended: `cached` and `loaded` authenticate, the others refuse (`error`: the store failed). */
export type ValidationOutcome = 'cached' | 'loaded' | 'missing' | 'unknown' | 'revoked' | 'expired' | 'rotated-out' | 'error';

/** Live counters for metrics (plain numbers: the hot path only increments one). */
export interface RefreshTokenStats {
  validations: Record<ValidationOutcome, number>;
  rotations: number;
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
  private readonly clock: Clock;
  /** Live counters. */
  readonly stats: RefreshTokenStats = {
    validations: { cached: 0, loaded: 0, missing: 0, unknown: 0, revoked: 0, expired: 0, 'rotated-out': 0, error: 0 },
    rotations: 0,
  };

  /** Wires the manager to its store. */
  constructor(
    private readonly store: RefreshTokenStore,
    private readonly options: RefreshTokenOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.cache = new LRUCache({ max: options.cacheMaxEntries });
  }

  /** Issues the first token of a new family for `accountName`. */
  issue(accountName: string): Promise<IssuedRefreshToken> {
    return this.create(accountName, randomUUID(), undefined);
  }

  /** The principal of a token; `unauthenticated` when it is missing, unknown, expired, revoked or rotated out. */
  async validate(token: string | undefined): Promise<RefreshTokenPrincipal> {
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
    return this.load(hash, now);
  }

  /** The principal of a token whose validation is cached and current, synchronously (the hot path); else undefined. */
  validateCached(token: string | undefined): RefreshTokenPrincipal | undefined {
    if (!token || !token.startsWith(REFRESH_TOKEN_PREFIX) || token.length > 200) return undefined;
    const cached = this.cache.get(hashRefreshToken(token));
    if (!cached || this.clock.now() >= cached.validUntilMs) return undefined;
    this.stats.validations.cached++;
    return cached.principal;
  }

  private async load(hash: string, now: number): Promise<RefreshTokenPrincipal> {
    let doc: RefreshTokenDocument | undefined;
    try {
      doc = await this.store.get(hash);
    } catch (err) {
      this.stats.validations.error++;
      throw err;
    }
    const principal = await this.check(doc, now);
    const validUntil = Math.min(now + this.options.cacheTtlMs, this.validUntil(doc!));
    this.cache.set(hash, { principal, validUntilMs: validUntil });
    return principal;
  }

  /** Rotates the caller's token: a new token in the same family; the old one ends after the grace window. */
  async rotate(principal: RefreshTokenPrincipal): Promise<{ issued: IssuedRefreshToken; previousValidUntilMs: number }> {
    const issued = await this.create(principal.accountName, principal.familyId, principal.tokenId);
    let previousValidUntilMs = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      const doc = await this.store.get(principal.hash);
      if (!doc) throw new RoutingError('unauthenticated', 'the refresh token is unknown');
      if (doc.state === 'rotated') {
        previousValidUntilMs = this.validUntil(doc);
        break;
      }
      if (doc.state === 'revoked') throw new RoutingError('unauthenticated', 'the refresh token was revoked');
      try {
        const rotated = await this.store.replace({ ...doc, state: 'rotated', rotatedTime: new Date(this.clock.now()).toISOString() });
        previousValidUntilMs = this.validUntil(rotated);
        break;
      } catch (err) {
        if (!isRoutingError(err, 'stale-version')) throw err;
      }
    }
    this.cache.delete(principal.hash);
    this.stats.rotations++;
    return { issued, previousValidUntilMs };
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

  private async create(accountName: string, familyId: string, parentTokenId: string | undefined): Promise<IssuedRefreshToken> {
    const token = REFRESH_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const doc = await this.store.create({
      id: hashRefreshToken(token),
      tokenId: `rt-${randomUUID()}`,
      familyId,
      accountName,
      ...(parentTokenId ? { parentTokenId } : {}),
      createTime: new Date(now).toISOString(),
      expireTime: new Date(now + this.options.lifetimeMs).toISOString(),
      state: 'active',
    });
    return { token, doc };
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
    if (doc.state === 'rotated' && this.validUntil(doc) <= now) {
      this.stats.validations['rotated-out']++;
      // A rotated-out token used after its grace window: someone may hold a stolen copy.
      await this.revokeDocs(await this.store.listFamily(doc.familyId), 'a rotated-out token was presented after its grace window');
      throw new RoutingError('unauthenticated', 'the refresh token was rotated out; its family is now revoked');
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
