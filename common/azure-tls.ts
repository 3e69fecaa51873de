/**
 * Per-client CA trust for Azure SDK clients.
 *
 * `NODE_EXTRA_CA_CERTS` is read only at process start, so clients that talk to
 * endpoints signed by a private CA (the local stand-ins, or a private endpoint in
 * production) get a pipeline policy that sets `request.tlsSettings`. One settings
 * object is shared by every request: a new object per request would make the
 * HTTP agent open a new TLS connection each time.
 */
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { Agent } from 'node:https';

/** Policy options in the shape Azure SDK clients accept as `additionalPolicies`. */
export interface AdditionalPolicy {
  /** The policy itself. */
  policy: PipelinePolicy;
  /** Runs once per call (not per retry). */
  position: 'perCall';
}

/** Builds the `additionalPolicies` entry that makes a client trust `caPem`; none when no CA is given. */
export function trustCa(caPem: string | undefined): AdditionalPolicy[] {
  if (!caPem) return [];
  const tlsSettings = { ca: caPem };
  const policy: PipelinePolicy = {
    name: 'trustPrivateCa',
    sendRequest(request, next) {
      request.tlsSettings = tlsSettings;
      return next(request);
    },
  };
  return [{ policy, position: 'perCall' }];
}

/** A keep-alive HTTPS agent trusting `caPem` (for clients that take an agent, such as Cosmos). */
export function keepAliveAgent(caPem: string | undefined): Agent {
  return new Agent({ keepAlive: true, maxSockets: 64, ...(caPem ? { ca: caPem } : {}) });
}
