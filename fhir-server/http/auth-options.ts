/** REST security from the `auth` settings: the Entra ID token verifier and the role names. */
import type { Logger } from 'pino';
import { createEntraTokenVerifier, type EntraTokenVerifierOptions } from '../../common/auth/entra-token-verifier.ts';
import type { FhirSettings } from '../config/schema.ts';
import { createRestAuth, type BearerTokenPath, type RestAuth } from './auth.ts';

/** Verifier options for the tenant and audience of `auth`: v1 and v2 issuers, the tenant's JWKS. */
export function verifierOptionsFrom(auth: FhirSettings['auth'], caPem?: string): EntraTokenVerifierOptions {
  const authority = auth.authorityHost!.replace(/\/+$/, '');
  const tenant = auth.tenantId!;
  return {
    jwksUri: `${authority}/${tenant}/discovery/v2.0/keys`,
    issuers: [`https://sts.windows.net/${tenant}/`, `${authority}/${tenant}/v2.0`],
    audiences: [auth.audience!, ...(auth.clientId ? [auth.clientId] : [])],
    caPem,
  };
}

/** The REST authorization hook configured by `auth` (trusting `caPem` for the JWKS; other token kinds in `paths`). */
export function restAuthFrom(auth: FhirSettings['auth'], options: { caPem?: string; logger?: Logger; paths?: readonly BearerTokenPath[] } = {}): RestAuth {
  const roles = { read: auth.roles.read!, write: auth.roles.write!, export: auth.roles.export!, admin: auth.roles.admin! };
  if (auth.disabled) return createRestAuth({ disabled: true, roles, logger: options.logger });
  return createRestAuth({ verify: createEntraTokenVerifier(verifierOptionsFrom(auth, options.caPem)), roles, logger: options.logger, ...(options.paths ? { paths: options.paths } : {}) });
}
