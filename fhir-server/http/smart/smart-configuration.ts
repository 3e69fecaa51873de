/** The SMART discovery document (`[base]/.well-known/smart-configuration`) for Backend Services. */

/** Scopes this server understands (any system scope in v1 or v2 syntax is accepted; these are the common ones). */
export const advertisedScopes = Object.freeze(['system/*.read', 'system/*.rs', 'system/*.write', 'system/*.cud', 'system/*.cruds']);

/** The document for a server whose token endpoint is `tokenEndpoint`. */
export function smartConfiguration(tokenEndpoint: string): Record<string, unknown> {
  return {
    token_endpoint: tokenEndpoint,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    grant_types_supported: ['client_credentials'],
    scopes_supported: [...advertisedScopes],
    capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
  };
}
