/**
 * A FHIR service's routing side as the composition root would wire it: its own
 * Cosmos client and database, the refresh token repository, one channel to the
 * routing server (with a call-counting interceptor) and the clients over it.
 */
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import type { CosmosClient } from '@azure/cosmos';
import type { Logger } from 'pino';
import { createCosmosClient } from '../../../common/cosmos.ts';
import type { RoutingSetup } from '../../../dev/routing-setup.ts';
import { AccountConfigurationClient } from '../../../fhir-server/routing/account-configuration-client.ts';
import { openCosmosRefreshTokenRepository, type CosmosRefreshTokenRepository } from '../../../fhir-server/routing/cosmos-refresh-token-repository.ts';
import { ExternalResourceTokenClient } from '../../../fhir-server/routing/external-resource-token-client.ts';
import { RefreshTokenUpkeep, type RefreshTokenUpkeepOptions } from '../../../fhir-server/routing/refresh-token-upkeep.ts';
import type { RefreshTokenRepository } from '../../../fhir-server/routing/refresh-token-repository.ts';
import type { RoutingRetryOptions } from '../../../fhir-server/routing/retry-policy.ts';
import type { RetryEvent } from '../../../fhir-server/routing/routing-caller.ts';
import { connectRouting, type RoutingConnection } from '../../../fhir-server/routing/routing-connection.ts';

/** Calls that left the client, by method path (e.g. `/fhirmesh.routing.v1.TokenService/GetToken`). */
export function countingInterceptor(counts: Map<string, number>): Interceptor {
  return (options, nextCall) => {
    const path = options.method_definition.path;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    return new InterceptingCall(nextCall(options));
  };
}

/** Path of TokenService/GetToken. */
export const GET_TOKEN = '/fhirmesh.routing.v1.TokenService/GetToken';
/** Path of RefreshTokenService/RotateRefreshToken. */
export const ROTATE = '/fhirmesh.routing.v1.RefreshTokenService/RotateRefreshToken';

/** One wired instance. */
export interface FhirInstance {
  cosmos: CosmosClient;
  repository: RefreshTokenRepository;
  connection: RoutingConnection;
  tokens: ExternalResourceTokenClient;
  accountConfiguration: AccountConfigurationClient;
  upkeep: RefreshTokenUpkeep;
  /** Calls sent, by method path. */
  calls: Map<string, number>;
  /** Retries seen by the token client. */
  retries: RetryEvent[];
  close(): Promise<void>;
}

/** Options of {@link startInstance}. */
export interface InstanceOptions {
  /** The account database (one per account). */
  databaseId: string;
  /** Seed token from configuration. */
  bootstrapRefreshToken?: string;
  /** Routing server address (default the setup's). */
  address?: string;
  /** Retry overrides for every client. */
  retry?: Partial<RoutingRetryOptions>;
  /** Upkeep pacing. */
  upkeep?: Partial<Omit<RefreshTokenUpkeepOptions, 'connection' | 'repository'>>;
  /** Logger for every client and the upkeep. */
  logger?: Logger;
  /** Wraps the Cosmos repository (a decorator at the port). */
  wrapRepository?: (inner: CosmosRefreshTokenRepository) => RefreshTokenRepository;
}

/** Wires an instance against `setup`; nothing runs until used (the upkeep is not started). */
export async function startInstance(setup: RoutingSetup, options: InstanceOptions): Promise<FhirInstance> {
  const { cosmos: c, tls } = setup.standIns;
  const cosmos = createCosmosClient({ endpoint: c.endpoint, key: c.key, caPem: tls.caPem });
  const inner = await openCosmosRefreshTokenRepository(cosmos, { databaseId: options.databaseId, bootstrapRefreshToken: options.bootstrapRefreshToken });
  const repository = options.wrapRepository ? options.wrapRepository(inner) : inner;
  const calls = new Map<string, number>();
  const retries: RetryEvent[] = [];
  const { retry, logger } = options;
  // As the service wires it: the channel's reconnect backoff fits in the callers' retry budget.
  const connection = connectRouting({ address: options.address ?? setup.address, caPem: tls.caPem, interceptors: [countingInterceptor(calls)], callersWaitMs: retry?.overallTimeoutMs });
  const tokens = new ExternalResourceTokenClient({ connection, repository, retry, logger, onRetry: (e) => retries.push(e) });
  const accountConfiguration = new AccountConfigurationClient({ connection, repository, retry, logger });
  const upkeep = new RefreshTokenUpkeep({ connection, repository, retry, logger, ...options.upkeep });
  return {
    cosmos,
    repository,
    connection,
    tokens,
    accountConfiguration,
    upkeep,
    calls,
    retries,
    close: async () => {
      await upkeep.stop();
      tokens.close();
      connection.close();
      cosmos.dispose();
    },
  };
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return condition();
}
