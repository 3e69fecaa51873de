/**
 * Cosmos DB client set up the one way both services use it, against Azure or the
 * local stand-in alike.
 *
 * - Keep-alive HTTPS agent, trusting a private CA when one is given (the stand-in,
 *   or a private endpoint), so requests reuse TLS connections.
 * - Endpoint discovery off: requests go to the configured endpoint only. The
 *   stand-in has no regional endpoints, and a service pinned to one region should
 *   not be redirected behind its back.
 * - Throttling (429) retries bounded in count and total wait, so a throttled
 *   call fails within a predictable time rather than hanging a request or a job.
 */
import { CosmosClient } from '@azure/cosmos';
import type { Container, ContainerDefinition, Database, RetryOptions } from '@azure/cosmos';
import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { keepAliveAgent } from './azure-tls.ts';

/** How to reach a Cosmos DB account: a master key or Entra ID credentials, and an optional CA to trust. */
export interface CosmosConnection {
  /** Account endpoint, e.g. `https://account.documents.azure.com:443/`. */
  endpoint: string;
  /** Account master key; give this or `aadCredentials`. */
  key?: string;
  /** Entra ID credential (data-plane RBAC); give this or `key`. */
  aadCredentials?: TokenCredential;
  /** PEM CA certificate(s) to trust in addition to the system ones. */
  caPem?: string;
  /** Per-request timeout in milliseconds (default 30 s). */
  requestTimeoutMs?: number;
  /** Throttling retries (default: 9 attempts, at most 30 s waiting in total). */
  retryOptions?: RetryOptions;
  /** Sends the requests (default: the SDK's own Node client), e.g. common/http/isolated-http-client.ts. */
  httpClient?: HttpClient;
}

/** Default throttling retry policy: the SDK's attempt count, with the server's retry-after honoured, capped at 30 s. */
export const defaultRetryOptions: Readonly<RetryOptions> = Object.freeze({
  maxRetryAttemptCount: 9,
  maxWaitTimeInSeconds: 30,
});

/** Creates a `CosmosClient` with keep-alive, optional CA trust, endpoint discovery off and bounded retries. */
export function createCosmosClient(connection: CosmosConnection): CosmosClient {
  const { endpoint, key, aadCredentials, caPem } = connection;
  if (!key && !aadCredentials) throw new Error('createCosmosClient: give a key or aadCredentials');
  return new CosmosClient({
    endpoint,
    ...(key ? { key } : {}),
    ...(aadCredentials ? { aadCredentials } : {}),
    agent: keepAliveAgent(caPem),
    ...(connection.httpClient ? { httpClient: connection.httpClient } : {}),
    connectionPolicy: {
      enableEndpointDiscovery: false,
      requestTimeout: connection.requestTimeoutMs ?? 30_000,
      retryOptions: { ...defaultRetryOptions, ...connection.retryOptions },
    },
  });
}

/** Creates the database if it does not exist and returns it. */
export async function ensureDatabase(client: CosmosClient, databaseId: string): Promise<Database> {
  try {
    const { database } = await client.databases.createIfNotExists({ id: databaseId });
    return database;
  } catch (err) {
    // Two callers creating it at once: the loser gets 409, and the database exists.
    if ((err as { code?: number }).code === 409) return client.database(databaseId);
    throw err;
  }
}

/** Creates the database and container if they do not exist (container partitioned on `partitionKeyPath`) and returns the container. */
export async function ensureContainer(
  client: CosmosClient,
  databaseId: string,
  containerId: string,
  partitionKeyPath: string,
  definition: Omit<ContainerDefinition, 'id' | 'partitionKey'> = {},
): Promise<Container> {
  const database = await ensureDatabase(client, databaseId);
  try {
    const { container } = await database.containers.createIfNotExists({
      ...definition,
      id: containerId,
      partitionKey: { paths: [partitionKeyPath] },
    });
    return container;
  } catch (err) {
    if ((err as { code?: number }).code === 409) return database.container(containerId);
    throw err;
  }
}
