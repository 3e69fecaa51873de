/** SMART in the CapabilityStatement: `rest.security` with the SMART-on-FHIR service and the oauth-uris extension naming the token endpoint. */
import type { CapabilityRegistry } from '../../fhir/capabilities.ts';
import { TOKEN_PATH } from './backend-services.ts';

/** The SMART oauth-uris extension. */
export const oauthUrisExtension = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

/** Adds the security section to every statement `registry` builds (the token endpoint under the statement's base URL). */
export function registerSmartCapabilities(registry: CapabilityRegistry): CapabilityRegistry {
  return registry.extend((statement, baseUrl) => {
    const tokenEndpoint = `${baseUrl}${TOKEN_PATH}`;
    const rest = (statement.rest as Record<string, unknown>[] | undefined)?.[0];
    if (!rest) return;
    rest.security = {
      extension: [{ url: oauthUrisExtension, extension: [{ url: 'token', valueUri: tokenEndpoint }] }],
      service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR', display: 'SMART-on-FHIR' }], text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)' }],
      description: 'SMART Backend Services (client_credentials with a private_key_jwt client assertion, RS384 or ES384; system scopes, v1 or v2 syntax); discovery at [base]/.well-known/smart-configuration. Entra ID bearer tokens are accepted as well.',
    };
  });
}
