/** SMART access tokens as a REST bearer token kind beside Entra ID's: principal `smart:<client_id>`, permissions its scopes. */
import type { FastifyRequest } from 'fastify';
import { TokenVerificationError } from '../../../common/auth/entra-token-verifier.ts';
import { FhirError } from '../../fhir/errors.ts';
import type { BearerTokenPath, FhirServerAccess } from '../auth.ts';
import type { RequestPrincipal } from '../auth-principal.ts';
import { AccessTokenError, type SmartAccessTokens } from './access-tokens.ts';
import type { SmartClientRegistry } from './client-registry.ts';
import { missingScope } from './access-check.ts';
import { ScopeSet } from './scopes.ts';

/** Principal id prefix of SMART clients (export jobs are keyed by it). */
export const SMART_PRINCIPAL_PREFIX = 'smart:';

/**
 * The bearer path over `tokens`. A token is honoured only while its client is registered and
 * enabled in `registry` (read through its short cache), so deleting or disabling a client ends
 * its tokens within that cache's lifetime on every instance, not when they expire.
 */
export function smartBearerPath(tokens: SmartAccessTokens, registry: Pick<SmartClientRegistry, 'get'>): BearerTokenPath {
  return {
    recognizes: (token) => tokens.recognizes(token),
    async authorize(token: string, request: FastifyRequest, access: FhirServerAccess) {
      let verified;
      try {
        verified = await tokens.verify(token);
      } catch (err) {
        if (err instanceof AccessTokenError) throw new TokenVerificationError(err.message, { cause: err });
        throw new FhirError('unavailable', 'The SMART signing keys cannot be read right now; retry later', { retryAfterSeconds: 5, cause: err });
      }
      // The registry's errors are already 503 FhirErrors naming it.
      const client = await registry.get(verified.clientId);
      if (!client) throw new TokenVerificationError("the access token's client is no longer registered");
      if (client.disabled) throw new TokenVerificationError("the access token's client is disabled");
      const scopes = new ScopeSet(verified.scopes);
      const principal: RequestPrincipal = Object.freeze({
        id: `${SMART_PRINCIPAL_PREFIX}${verified.clientId}`,
        appId: verified.clientId,
        anonymous: false,
        permissions: Object.freeze(new Set(verified.scopes)),
        mayRead: (resourceType: string) => scopes.allows(resourceType, 'r'),
      });
      const missing = missingScope(scopes, request, access);
      return { principal, ...(missing ? { missingScope: missing } : {}) };
    },
  };
}
