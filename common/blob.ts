/**
 * Blob Storage clients that trust a private CA and retry in exactly one place.
 *
 * CA trust cannot go through `additionalPolicies` here: the storage SDK forwards
 * unknown pipeline options both to `createClientPipeline` and to each
 * `ServiceClient`, so the policy is added twice and every request fails with
 * "Duplicate policy names not allowed in pipeline". Instead the storage
 * `Pipeline` gets one request-policy factory that sends each request through a
 * keep-alive HTTPS agent trusting the CA (one agent per CA, shared by all clients).
 */
import type { TokenCredential } from '@azure/core-auth';
import {
  AnonymousCredential,
  BlobServiceClient,
  StorageRetryPolicyType,
  StorageSharedKeyCredential,
  newPipeline,
  type Pipeline,
  type RequestPolicyFactory,
  type StorageRetryOptions,
} from '@azure/storage-blob';
import type { Agent } from 'node:https';
import { keepAliveAgent } from './azure-tls.ts';

/**
 * Retries for every blob request. This storage retry policy is the only retry layer:
 * the SDK replaces the core retry policy with it, and callers must not wrap calls in
 * retries of their own. Transient failures (500, 503 "server busy", connection resets
 * and timeouts) are tried up to 5 times, backing off exponentially: 0 s, 2 s, 6 s,
 * 14 s (each delay capped at 60 s). Refusals (401/403) and other 4xx are never
 * retried. No per-try timeout is sent, so the service applies its own per-operation
 * limits (large block uploads may legitimately take minutes).
 */
export const blobRetryOptions: Readonly<StorageRetryOptions> = Object.freeze({
  retryPolicyType: StorageRetryPolicyType.EXPONENTIAL,
  maxTries: 5,
  retryDelayInMs: 2_000,
  maxRetryDelayInMs: 60_000,
});

/**
 * Service version to sign SAS tokens with. The SDK's default (its newest, 2026-04-06)
 * signs a string Azurite 3.35 does not know (it answers 403); 2025-11-05 is the newest
 * both Azure Storage and Azurite verify. Pass it as `version` when generating a SAS.
 */
export const blobSasVersion = '2025-11-05';

/** Credentials a blob client can authenticate with. */
export type BlobCredential = TokenCredential | StorageSharedKeyCredential | AnonymousCredential;

/** Options for {@link createBlobServiceClient}. */
export interface BlobServiceClientOptions {
  /** Account URL, e.g. `https://acct.blob.core.windows.net` or `https://127.0.0.1:PORT/devstoreaccount1`. */
  url: string;
  /** Bearer tokens (managed identity), shared key, or anonymous (for SAS URLs). */
  credential: BlobCredential;
  /** Extra CA (PEM) to trust for this client only, for endpoints signed by a private CA. */
  caPem?: string;
  /** Overrides {@link blobRetryOptions}, field by field. */
  retryOptions?: StorageRetryOptions;
}

const agents = new Map<string, Agent>();

function trustCaFactory(caPem: string): RequestPolicyFactory {
  let agent = agents.get(caPem);
  if (!agent) agents.set(caPem, (agent = keepAliveAgent(caPem)));
  return agentFactory(agent);
}

/** Sends every request through `shared` (an agent that trusts a CA, or one that checks where it connects). */
function agentFactory(shared: Agent): RequestPolicyFactory {
  return {
    create: (next) => ({
      sendRequest(request) {
        request.agent = shared;
        return next.sendRequest(request);
      },
    }),
  };
}

/**
 * Builds a storage pipeline with {@link blobRetryOptions} that trusts `caPem` (or sends every request
 * through `agent`, which then carries the CA itself); pass it to
 * any storage client constructor (`new BlobClient(sasUrl, blobPipeline(new AnonymousCredential(), ca))`).
 */
export function blobPipeline(credential: BlobCredential, caPem?: string, retryOptions?: StorageRetryOptions, agent?: Agent): Pipeline {
  const pipeline = newPipeline(credential, {
    retryOptions: { ...blobRetryOptions, ...retryOptions },
    keepAliveOptions: { enable: true },
  });
  if (agent) pipeline.factories.push(agentFactory(agent));
  else if (caPem) pipeline.factories.push(trustCaFactory(caPem));
  return pipeline;
}

/** Creates a `BlobServiceClient` for `url` that trusts `caPem` and uses {@link blobRetryOptions}. */
export function createBlobServiceClient({ url, credential, caPem, retryOptions }: BlobServiceClientOptions): BlobServiceClient {
  return new BlobServiceClient(url, blobPipeline(credential, caPem, retryOptions));
}
