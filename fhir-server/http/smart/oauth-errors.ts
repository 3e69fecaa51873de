/**
 * The token endpoint's one error type and its table (RFC 6749 §5.2): each
 * error code has one HTTP status. Descriptions are fit for the client and
 * never contain the assertion or a token.
 */

/** RFC 6749 error codes the token endpoint answers. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope' | 'temporarily_unavailable';

/** Code -> HTTP status. */
export const oauthErrorStatus: Readonly<Record<OAuthErrorCode, number>> = Object.freeze({
  invalid_request: 400, // a parameter is missing, repeated or malformed
  invalid_client: 401, // the client assertion did not authenticate a registered client
  unsupported_grant_type: 400, // only client_credentials is offered
  invalid_scope: 400, // no scope, a scope on a type R4 does not define, or nothing requested is registered for the client
  temporarily_unavailable: 503, // a client's JWKS or the signing key cannot be reached; retry later
});

/** A refusal of the token endpoint. */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';

  /** Creates an error answered with `code`'s status. */
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    options?: { cause?: unknown },
  ) {
    super(description, options);
  }

  /** HTTP status of the answer. */
  get status(): number {
    return oauthErrorStatus[this.code];
  }

  /** The JSON body `{ error, error_description }`. */
  body(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}
