/** The options every `@azure/identity` credential of the mesh is built with (routing server, fhir-server, tools). */
import type { HttpClient } from '@azure/core-rest-pipeline';
import { trustCa } from '../azure-tls.ts';

/** Where Entra ID is. */
export interface EntraOptions {
  /** Authority host, e.g. https://login.microsoftonline.com (or the local stand-in). */
  authorityHost: string;
  /** Private CA to trust (local stand-in). */
  caPem?: string;
  /** Sends the requests (default: the SDK's own Node client). */
  httpClient?: HttpClient;
}

/** Options shared by every credential the mesh builds for Entra ID. */
export function entraCredentialOptions(options: EntraOptions) {
  return {
    authorityHost: options.authorityHost,
    // Instance discovery asks login.microsoftonline.com about the authority; a sovereign or local authority is known already.
    disableInstanceDiscovery: true,
    additionalPolicies: trustCa(options.caPem),
    ...(options.httpClient ? { httpClient: options.httpClient } : {}),
    // One retry layer: callers of the mesh retry UNAVAILABLE with backoff, so the pipeline does not retry too.
    retryOptions: { maxRetries: 0 },
  };
}
