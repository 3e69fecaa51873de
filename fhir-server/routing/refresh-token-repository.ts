/**
 * `RefreshTokenRepository`: the port through which the FHIR service keeps its
 * own refresh token for the routing server. There is exactly one current token
 * per account; every writer guards its write with the version it read, so two
 * instances rotating at once cannot overwrite each other blindly.
 */

/** The account's current refresh token as stored. The value is a credential: never log it. */
export interface StoredRefreshToken {
  /** The refresh token value (sent as `authorization: Bearer <token>`). */
  readonly token: string;
  /** Public id of the token (`rt-...`), or `bootstrap` for the configured first token. Safe to log. */
  readonly tokenId: string;
  /** When the routing server said the token expires (ms since epoch); undefined for a bootstrapped token. */
  readonly expiresOnMs: number | undefined;
  /** When this token was stored (ms since epoch): the start of its lifetime as far as this service knows. */
  readonly storedAtMs: number;
  /** Version tag of the stored document (Cosmos etag); a write must present it. */
  readonly etag: string;
  /** SHA-256 (hex) of every configured bootstrap token this store was seeded with, when the adapter keeps them. */
  readonly bootstrapDigests?: readonly string[];
}

/** A new token to store in place of the current one. */
export interface RefreshTokenUpdate {
  /** The new value. */
  token: string;
  /** Its public id. */
  tokenId: string;
  /** Its expiry (ms since epoch). */
  expiresOnMs: number;
  /** Id of the token it replaces (kept for the audit trail). */
  previousTokenId: string;
  /** Until when the replaced token is still accepted (ms since epoch). */
  previousValidUntilMs?: number;
}

/** Outcome of a guarded replace. */
export type ReplaceOutcome =
  /** Our write went in; `current` is what we wrote. */
  | { outcome: 'stored'; current: StoredRefreshToken }
  /** Someone else wrote first (412); `current` is what they stored, and it wins. */
  | { outcome: 'lost-race'; current: StoredRefreshToken };

/** Why the repository could not answer. */
export type RefreshTokenStoreErrorKind = 'not-configured' | 'unavailable';

/** The repository failed: no token stored and none to bootstrap from, or the store could not be reached. Never carries the token. */
export class RefreshTokenStoreError extends Error {
  override readonly name = 'RefreshTokenStoreError';

  /** Creates an error of `kind` with a log-safe message. */
  constructor(
    readonly kind: RefreshTokenStoreErrorKind,
    message: string,
    /** HTTP status of the store's answer, when there was one. */
    readonly statusCode?: number,
  ) {
    super(message);
  }
}

/** The port: read the current token, replace it only if it is still the one read. */
export interface RefreshTokenRepository {
  /** The current token (bootstrapped from configuration the first time, if the adapter was given one). Throws `RefreshTokenStoreError`. */
  current(): Promise<StoredRefreshToken>;
  /** Replaces `expected` with `next` if `expected` is still stored; otherwise re-reads and reports the stored one. */
  replace(expected: StoredRefreshToken, next: RefreshTokenUpdate): Promise<ReplaceOutcome>;
}
