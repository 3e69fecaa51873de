/**
 * Tenant metadata documents: the OpenID configuration (v2 and v1) with the
 * fields MSAL requires (`issuer` on the authority's own origin, `token_endpoint`,
 * `authorization_endpoint` whose first path segment is the tenant id, `jwks_uri`).
 */

/** URLs of one tenant on the stand-in. */
export interface TenantEndpoints {
  /** `https://host/{tenant}/v2.0` (issuer of the v2 metadata document). */
  v2Issuer: string;
  /** `https://sts.windows.net/{tenant}/` (issuer of v1 tokens). */
  tokenIssuer: string;
  /** v2 token endpoint. */
  tokenEndpoint: string;
  /** v1 token endpoint. */
  v1TokenEndpoint: string;
  /** v2 JWKS. */
  jwksUri: string;
  /** v1 JWKS. */
  v1JwksUri: string;
  /** v2 OpenID configuration document. */
  metadataUrl: string;
}

/** The endpoints of `tenantId` on a stand-in served at `baseUrl`. */
export function tenantEndpoints(baseUrl: string, tenantId: string): TenantEndpoints {
  const t = `${baseUrl}/${tenantId}`;
  return {
    v2Issuer: `${t}/v2.0`,
    tokenIssuer: `https://sts.windows.net/${tenantId}/`,
    tokenEndpoint: `${t}/oauth2/v2.0/token`,
    v1TokenEndpoint: `${t}/oauth2/token`,
    jwksUri: `${t}/discovery/v2.0/keys`,
    v1JwksUri: `${t}/discovery/keys`,
    metadataUrl: `${t}/v2.0/.well-known/openid-configuration`,
  };
}

/** The v2 OpenID configuration of a tenant. */
export function openIdConfigurationV2(baseUrl: string, tenantId: string): Record<string, unknown> {
  const t = `${baseUrl}/${tenantId}`;
  const e = tenantEndpoints(baseUrl, tenantId);
  return {
    token_endpoint: e.tokenEndpoint,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'],
    jwks_uri: e.jwksUri,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: e.v2Issuer,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
    authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${t}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${t}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'tid', 'ver', 'oid', 'appid', 'roles'],
    tenant_region_scope: null,
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
  };
}

/** The v1 OpenID configuration of a tenant (issuer `https://sts.windows.net/{tenant}/`). */
export function openIdConfigurationV1(baseUrl: string, tenantId: string): Record<string, unknown> {
  const t = `${baseUrl}/${tenantId}`;
  const e = tenantEndpoints(baseUrl, tenantId);
  return {
    token_endpoint: e.v1TokenEndpoint,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'],
    jwks_uri: e.v1JwksUri,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
    scopes_supported: ['openid'],
    issuer: e.tokenIssuer,
    authorization_endpoint: `${t}/oauth2/authorize`,
    end_session_endpoint: `${t}/oauth2/logout`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid', 'ver', 'oid', 'appid', 'roles'],
    tenant_region_scope: null,
    cloud_instance_name: 'microsoftonline.com',
  };
}
