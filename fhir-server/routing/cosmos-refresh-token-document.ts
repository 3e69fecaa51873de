/** The Cosmos document holding the account's refresh token, and the mapping to and from the port's shapes. */
import type { ItemDefinition } from '@azure/cosmos';
import { createHash } from 'node:crypto';
import { RefreshTokenStoreError, type RefreshTokenUpdate, type StoredRefreshToken } from './refresh-token-repository.ts';

/** The stored document (its id doubles as partition key `pk`). `refreshToken` is a credential: this document is its only home. */
export interface RefreshTokenDocument extends ItemDefinition {
  id: string;
  pk: string;
  refreshToken: string;
  tokenId: string;
  expiresOn?: string;
  storedAt: string;
  source: 'bootstrap' | 'rotation';
  previousTokenId?: string;
  previousValidUntil?: string;
  /** SHA-256 (hex) of each configured bootstrap token that seeded this document, oldest first; absent in documents written before it was kept. */
  bootstrapDigests?: string[];
}

/** The document seeded from the configured bootstrap token (expiry unknown), remembering the digests of earlier ones. */
export function seedDocument(id: string, token: string, nowMs: number, earlierDigests: readonly string[] = []): RefreshTokenDocument {
  return {
    id,
    pk: id,
    refreshToken: token,
    tokenId: 'bootstrap',
    storedAt: new Date(nowMs).toISOString(),
    source: 'bootstrap',
    bootstrapDigests: [...earlierDigests, tokenDigest(token)],
  };
}

/** SHA-256 (hex) of a token: what the document keeps of bootstrap tokens it no longer holds. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The document after a rotation (the bootstrap digests carried over). */
export function rotatedDocument(id: string, next: RefreshTokenUpdate, nowMs: number, bootstrapDigests?: readonly string[]): RefreshTokenDocument {
  return {
    ...(bootstrapDigests ? { bootstrapDigests: [...bootstrapDigests] } : {}),
    id,
    pk: id,
    refreshToken: next.token,
    tokenId: next.tokenId,
    expiresOn: new Date(next.expiresOnMs).toISOString(),
    storedAt: new Date(nowMs).toISOString(),
    source: 'rotation',
    previousTokenId: next.previousTokenId,
    ...(next.previousValidUntilMs ? { previousValidUntil: new Date(next.previousValidUntilMs).toISOString() } : {}),
  };
}

/** The port's view of a stored document. */
export function toStored(doc: RefreshTokenDocument): StoredRefreshToken {
  return {
    token: doc.refreshToken,
    tokenId: doc.tokenId,
    expiresOnMs: doc.expiresOn ? Date.parse(doc.expiresOn) : undefined,
    storedAtMs: Date.parse(doc.storedAt),
    etag: doc._etag ?? '',
    ...(doc.bootstrapDigests ? { bootstrapDigests: doc.bootstrapDigests } : {}),
  };
}

/** HTTP status of a Cosmos SDK error, if any. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown; statusCode?: unknown } | null)?.code ?? (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** A store failure with the status only: the SDK's message could echo the request body, which holds the token. */
export function storeError(err: unknown, doing: string): RefreshTokenStoreError {
  const status = statusOf(err);
  return new RefreshTokenStoreError('unavailable', `refresh token store failed while ${doing} (${status ? `HTTP ${status}` : (err as Error)?.name ?? 'error'})`, status);
}
