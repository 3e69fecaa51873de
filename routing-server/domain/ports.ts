/** Ports of the routing server's domain: what it needs from the outside world. */
import type { TokenCredential } from '@azure/core-auth';
import type { AccountRecord, ManagedIdentity } from './account.ts';

/** Reads the `Account` and `ManagedIdentityMetadata` documents of an account from the global registry. */
export interface AccountReadRegistryRepository {
  /** The account by service name, or undefined when there is none. */
  getAccount(name: string): Promise<AccountRecord | undefined>;
}

/** Writes accounts (admin path). Errors: `already-exists`, `not-found`, `stale-version`. */
export interface AccountWriteRegistryRepository extends AccountReadRegistryRepository {
  /** Stores a new account and its identity document. */
  createAccount(account: Omit<AccountRecord, 'etag' | 'identityEtag' | 'createTime' | 'updateTime'>): Promise<AccountRecord>;
  /** Replaces an account (and its identity document when changed); `ifEtag` guards the account document. */
  updateAccount(account: Omit<AccountRecord, 'etag' | 'identityEtag' | 'createTime' | 'updateTime'>, ifEtag?: string): Promise<AccountRecord>;
  /** A page of accounts ordered by name, starting after `afterName`. */
  listAccounts(limit: number, afterName?: string): Promise<AccountRecord[]>;
}

/** A stored refresh token: only its hash, never its value. */
export interface RefreshTokenDocument {
  /** SHA-256 (hex) of the token: the document id. */
  id: string;
  /** Public identifier of the token. */
  tokenId: string;
  /** Chain of rotations the token belongs to. */
  familyId: string;
  /** Account the token authenticates. */
  accountName: string;
  /** Token it was rotated from, if any. */
  parentTokenId?: string;
  /** ISO issue time. */
  createTime: string;
  /** ISO expiry. */
  expireTime: string;
  /** State. */
  state: 'active' | 'rotated' | 'revoked';
  /** ISO time it was rotated out (state rotated). */
  rotatedTime?: string;
  /** Why it was revoked. */
  revokedReason?: string;
  /** The one token this one was rotated into (set by the rotation that rotated it out). */
  successor?: RefreshTokenSuccessor;
  /** Store version tag. */
  etag?: string;
}

/** What a rotated token's document keeps of its successor: enough to return it again and to recreate its document. */
export interface RefreshTokenSuccessor {
  /** The successor's hash (its document id). */
  id: string;
  /** Its public id. */
  tokenId: string;
  /** Its ISO issue time. */
  createTime: string;
  /** Its ISO expiry. */
  expireTime: string;
  /** Its value, sealed under a key derived from the rotated token's value (domain/successor-seal.ts). */
  sealed: string;
}

/** Storage of refresh token documents. Errors: `already-exists`, `stale-version`. */
export interface RefreshTokenStore {
  /** The document with this hash, or undefined. */
  get(hash: string): Promise<RefreshTokenDocument | undefined>;
  /** Stores a new document. */
  create(doc: RefreshTokenDocument): Promise<RefreshTokenDocument>;
  /** Replaces a document if its etag still matches. */
  replace(doc: RefreshTokenDocument): Promise<RefreshTokenDocument>;
  /** Every document of a family. */
  listFamily(familyId: string): Promise<RefreshTokenDocument[]>;
  /** Every document of an account. */
  listAccount(accountName: string): Promise<RefreshTokenDocument[]>;
}

/** A managed identity's credential as read from Key Vault. */
export interface IdentitySecret {
  /** The secret value: PEM certificate + key, or a client secret. Never log it. */
  value: string;
  /** Content type recorded with the secret. */
  contentType: string | undefined;
  /** Secret version. */
  version: string | undefined;
}

/** Reads managed-identity credentials from Key Vault. Errors: `credential-unavailable`, `dependency-unavailable`. */
export interface IdentitySecretStore {
  /** The latest version of the secret named `name`. */
  getSecret(name: string): Promise<IdentitySecret>;
}

/** Builds Entra ID credentials for managed identities. */
export interface IdentityCredentialFactory {
  /** A credential that gets tokens as `identity` using `secret`. */
  create(identity: ManagedIdentity, secret: IdentitySecret): TokenCredential;
}

/** Clock, injectable for tests. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };
