/**
 * The token endpoint's logic (SMART Backend Services): a form with
 * `grant_type=client_credentials`, `scope`, and a JWT client assertion in,
 * a bearer access token for the granted scopes (requested ∩ registered) out.
 */
import { verifyClientAssertion, type AssertionVerifierDeps } from './assertion.ts';
import type { SmartAccessTokens } from './access-tokens.ts';
import { OAuthError } from './oauth-errors.ts';
import { grantScopes, parseScope, splitScopes } from './scopes.ts';

/** The assertion type SMART clients use. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A successful token response (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

/** What the endpoint needs. */
export interface TokenServiceDeps extends AssertionVerifierDeps {
  /** Issues the access token. */
  tokens: SmartAccessTokens;
}

const single = (form: URLSearchParams, name: string): string | undefined => {
  const values = form.getAll(name);
  if (values.length > 1) throw new OAuthError('invalid_request', `${name} must not be repeated`);
  return values[0];
};

// error_description allows printable ASCII except `"` and `\` (RFC 6749 §5.2); long values are cut.
const printable = (text: string) => `'${text.replace(/[^\x20-\x7e]|["\\]/g, '?').slice(0, 80)}'`;

/** Answers one token request; throws `OAuthError`. The outcome's `clientId` is for logs. */
export async function exchangeClientCredentials(form: URLSearchParams, deps: TokenServiceDeps): Promise<{ response: TokenResponse; clientId: string }> {
  const grantType = single(form, 'grant_type');
  if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required');
  if (grantType !== 'client_credentials') throw new OAuthError('unsupported_grant_type', 'only grant_type=client_credentials is supported');
  const assertionType = single(form, 'client_assertion_type');
  const assertion = single(form, 'client_assertion');
  if (assertionType !== JWT_BEARER_ASSERTION) throw new OAuthError('invalid_client', `client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
  if (!assertion) throw new OAuthError('invalid_client', 'client_assertion is required');
  const scope = single(form, 'scope');
  const clientIdParam = single(form, 'client_id');

  const client = await verifyClientAssertion(assertion, deps);
  if (clientIdParam !== undefined && clientIdParam !== client.clientId) throw new OAuthError('invalid_client', 'client_id does not match the assertion');
  const requested = splitScopes(scope);
  if (requested.length === 0) throw new OAuthError('invalid_scope', 'scope is required, e.g. "system/*.read"');
  // A scope this server cannot grant by its syntax or type (not "fewer scopes than asked") refuses the whole request.
  const unknown = requested.find((text) => !parseScope(text));
  if (unknown !== undefined) throw new OAuthError('invalid_scope', `${printable(unknown)} is not a system scope on an R4 resource type (system/<Type or *>.<read, write, * or cruds>)`);
  const granted = grantScopes(requested, client.scopes);
  if (granted.length === 0) throw new OAuthError('invalid_scope', 'none of the requested scopes is registered for this client');

  const issued = await deps.tokens.issue(client.clientId, granted);
  return {
    clientId: client.clientId,
    response: { access_token: issued.accessToken, token_type: 'bearer', expires_in: issued.expiresIn, scope: granted.join(' ') },
  };
}
