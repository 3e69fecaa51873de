/**
 * The client-credentials grant of the token endpoints (`/oauth2/v2.0/token`
 * with `scope=<resource>/.default`, and v1 `/oauth2/token` with `resource=`):
 * authenticates the application by client secret or certificate assertion and
 * issues a v1-shaped RS256 access token for exactly one known resource.
 */
import { randomBytes } from 'node:crypto';
import { verifyClientAssertion, type ReplayGuard } from './assertion.ts';
import { checkSecret } from './credentials.ts';
import type { Application, Directory } from './directory.ts';
import { Aadsts, EntraError } from './errors.ts';
import type { TokenSigner } from './signing.ts';

/** The only client assertion type Entra accepts. */
export const jwtBearerAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const oidcScopes = new Set(['openid', 'profile', 'offline_access', 'email']);

/** Everything a token request is judged against. */
export interface TokenEndpointContext {
  /** Tenant the request was sent to. */
  tenantId: string;
  /** Applications and resources. */
  directory: Directory;
  /** Token-signing key. */
  signer: TokenSigner;
  /** Client assertion replay memory. */
  replay: ReplayGuard;
  /** Accepted client assertion audiences (the tenant's token endpoints). */
  assertionAudiences: readonly string[];
  /** Tolerated clock skew for client assertions. */
  clockSkewSeconds: number;
  /** Tenant-wide token lifetime. */
  tokenLifetimeSeconds: number;
  /** `iss` of issued tokens. */
  tokenIssuer: string;
}

/** Which endpoint was called: v2 (`scope`) or v1 (`resource`). */
export type TokenEndpointVersion = 'v1' | 'v2';

/** What a token request named, known as soon as the form is read (for counting). */
export interface TokenRequestSubject {
  /** `client_id` as sent. */
  appId?: string;
  /** Resource derived from `scope` (v2) or `resource` (v1). */
  resource?: string;
}

function missing(name: string): EntraError {
  return new EntraError(400, 'invalid_request', Aadsts.missingParameter, `The request body must contain the following parameter: '${name}'.`);
}

/** Derives the single resource of a v2 `scope` parameter; throws the matching AADSTS error. */
export function resourceFromScope(scope: string | null): string {
  if (scope === null || !scope.trim()) throw missing('scope');
  const scopes = scope.split(/\s+/).filter((s) => s && !oidcScopes.has(s.toLowerCase()));
  if (scopes.length === 0) throw new EntraError(400, 'invalid_scope', Aadsts.invalidScope, `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`);
  for (const s of scopes) {
    if (!s.endsWith('/.default')) {
      throw new EntraError(
        400,
        'invalid_scope',
        Aadsts.scopeNotDefault,
        `The provided value for scope ${s} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
  }
  const resources = [...new Set(scopes.map((s) => s.slice(0, -'/.default'.length)))];
  if (resources.length > 1) {
    throw new EntraError(400, 'invalid_scope', Aadsts.scopeMultipleResources, `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`);
  }
  const resource = resources[0] ?? '';
  if (!resource) throw new EntraError(400, 'invalid_scope', Aadsts.invalidScope, `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`);
  return resource;
}

/** Reads what a request names without judging it (for counting even refused requests). */
export function tokenRequestSubject(form: URLSearchParams, version: TokenEndpointVersion): TokenRequestSubject {
  const subject: TokenRequestSubject = {};
  const appId = form.get('client_id');
  if (appId) subject.appId = appId;
  try {
    const resource = version === 'v2' ? resourceFromScope(form.get('scope')) : form.get('resource');
    if (resource) subject.resource = resource;
  } catch {
    // an unusable scope names no resource
  }
  return subject;
}

async function authenticate(app: Application, form: URLSearchParams, ctx: TokenEndpointContext): Promise<'1' | '2'> {
  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  const assertionType = form.get('client_assertion_type');
  if (secret !== null && assertion !== null) {
    throw new EntraError(400, 'invalid_request', Aadsts.malformedRequest, "Invalid request. Send either 'client_secret' or 'client_assertion', not both.");
  }
  if (secret !== null) {
    const result = checkSecret(app.secrets, secret);
    if (result === 'expired') {
      throw new EntraError(401, 'invalid_client', Aadsts.expiredClientSecret, `The provided client secret keys for app '${app.appId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`);
    }
    if (result === 'invalid') {
      throw new EntraError(401, 'invalid_client', Aadsts.invalidClientSecret, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.appId}'.`);
    }
    return '1';
  }
  if (assertion !== null) {
    if (assertionType !== jwtBearerAssertionType) {
      throw new EntraError(400, 'invalid_request', Aadsts.malformedRequest, `Invalid request. 'client_assertion_type' must be '${jwtBearerAssertionType}'.`);
    }
    await verifyClientAssertion(assertion, {
      app,
      audiences: ctx.assertionAudiences,
      clockSkewSeconds: ctx.clockSkewSeconds,
      replay: ctx.replay,
      now: Date.now(),
    });
    return '2';
  }
  throw new EntraError(401, 'invalid_client', Aadsts.missingClientCredential, "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.");
}

/** Handles a client-credentials token request; returns the JSON response body or throws an EntraError. */
export async function grantClientCredentials(form: URLSearchParams, version: TokenEndpointVersion, ctx: TokenEndpointContext): Promise<Record<string, unknown>> {
  const grantType = form.get('grant_type');
  if (!grantType) throw missing('grant_type');
  if (grantType !== 'client_credentials') {
    throw new EntraError(400, 'unsupported_grant_type', Aadsts.unsupportedGrantType, `The app requested an unsupported grant type '${grantType}'.`);
  }
  const clientId = form.get('client_id');
  if (!clientId) throw missing('client_id');
  const resource = version === 'v2' ? resourceFromScope(form.get('scope')) : form.get('resource');
  if (!resource) throw missing('resource');
  const app = ctx.directory.find(clientId);
  if (!app) {
    throw new EntraError(
      400,
      'unauthorized_client',
      Aadsts.applicationNotFound,
      `Application with identifier '${clientId}' was not found in the directory '${ctx.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  if (app.disabled) throw new EntraError(400, 'unauthorized_client', Aadsts.applicationDisabled, `Application '${app.appId}'(${app.displayName}) is disabled.`);
  const appidacr = await authenticate(app, form, ctx);
  if (!ctx.directory.isKnownResource(resource)) {
    throw new EntraError(
      400,
      'invalid_resource',
      Aadsts.resourceNotFound,
      `The resource principal named ${resource} was not found in the tenant named ${ctx.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    );
  }
  const lifetime = app.tokenLifetimeSeconds ?? ctx.tokenLifetimeSeconds;
  const now = Math.floor(Date.now() / 1000);
  const roles = ctx.directory.rolesFor(app, resource);
  const accessToken = await ctx.signer.sign({
    aud: resource,
    iss: ctx.tokenIssuer,
    iat: now,
    nbf: now,
    exp: now + lifetime,
    appid: app.appId,
    appidacr,
    idp: ctx.tokenIssuer,
    idtyp: 'app',
    oid: app.objectId,
    ...(roles.length > 0 ? { roles } : {}),
    sub: app.objectId,
    tid: ctx.tenantId,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
  });
  if (version === 'v1') {
    return {
      token_type: 'Bearer',
      expires_in: String(lifetime),
      ext_expires_in: String(lifetime),
      expires_on: String(now + lifetime),
      not_before: String(now),
      resource,
      access_token: accessToken,
    };
  }
  return { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken };
}
