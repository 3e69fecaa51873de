/**
 * One TLS channel to the routing server, shared by the three clients the FHIR
 * service uses (tokens, refresh-token rotation, account configuration).
 */
import { Channel, type ChannelOptions, type Interceptor } from '@grpc/grpc-js';
import { AccountConfigurationServiceClient } from '../../gen/fhirmesh/routing/v1/account_configuration_service.ts';
import { RefreshTokenServiceClient } from '../../gen/fhirmesh/routing/v1/refresh_token_service.ts';
import { TokenServiceClient } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { tlsChannelCredentials } from '../../common/grpc/client.ts';

/** Where the routing server is and how to trust it. */
export interface RoutingConnectionOptions {
  /** `host:port` of the routing server (or its load balancer). */
  address: string;
  /** CA (PEM) that signed the routing server's certificate; the system CAs when absent. */
  caPem?: string;
  /** Client certificate, when the routing server requires one. */
  clientCertificate?: { certPem: string; keyPem: string };
  /** Interceptors on every call (metrics, tracing, tests counting calls). */
  interceptors?: Interceptor[];
  /** Extra channel options, merged over {@link routingChannelDefaults}. */
  channelOptions?: ChannelOptions;
  /**
   * The shortest time a caller keeps retrying (the token client's `routing.tokenWaitSeconds`): the
   * reconnect backoff is capped at a quarter of it, so a routing server that is back is reconnected
   * to while that caller still retries. Absent: the default cap.
   */
  callersWaitMs?: number;
}

const MAX_RECONNECT_BACKOFF_MS = 5_000;

/**
 * The channel's reconnect backoff cap for callers that wait `callersWaitMs`: a quarter of it (grpc-js
 * adds up to 20% jitter), at most 5 s, at least 100 ms. A caller that started after an outage ended must
 * not see its whole wait spent in a backoff that began during the outage: with a 5 s cap and a 3 s
 * token wait, the first export after the routing server came back could fail with 504.
 */
export function reconnectBackoffCapMs(callersWaitMs: number | undefined): number {
  if (callersWaitMs === undefined) return MAX_RECONNECT_BACKOFF_MS;
  return Math.max(100, Math.min(MAX_RECONNECT_BACKOFF_MS, Math.floor(callersWaitMs / 4)));
}

/** Channel options: reconnect quickly once the routing server is back, so retries within the overall deadline can succeed. */
export const routingChannelDefaults: Readonly<ChannelOptions> = Object.freeze({
  // grpc-js otherwise backs off reconnects up to 120 s, longer than any caller's deadline.
  'grpc.initial_reconnect_backoff_ms': 500,
  'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS,
  // The client detects dead connections (the routing server sends no pings of its own): a ping a minute,
  // also between calls; the routing server accepts them every 10 s at most.
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 1,
});

/** The shared channel and the generated clients over it. */
export interface RoutingConnection {
  /** TokenService client. */
  readonly tokens: TokenServiceClient;
  /** RefreshTokenService client. */
  readonly refreshTokens: RefreshTokenServiceClient;
  /** AccountConfigurationService client. */
  readonly accountConfiguration: AccountConfigurationServiceClient;
  /** The channel itself (its connectivity state, for health and tests). */
  readonly channel: Channel;
  /** Closes the channel (calls in flight fail with CANCELLED / UNAVAILABLE). */
  close(): void;
}

/** Opens (lazily: nothing connects until the first call) a TLS channel to the routing server. */
export function connectRouting(options: RoutingConnectionOptions): RoutingConnection {
  const credentials = tlsChannelCredentials(options.caPem, options.clientCertificate);
  const cap = reconnectBackoffCapMs(options.callersWaitMs);
  const channelOptions = {
    ...routingChannelDefaults,
    'grpc.initial_reconnect_backoff_ms': Math.min(Number(routingChannelDefaults['grpc.initial_reconnect_backoff_ms']), cap),
    'grpc.max_reconnect_backoff_ms': cap,
    ...options.channelOptions,
  };
  const channel = new Channel(options.address, credentials, channelOptions);
  const clientOptions = { channelOverride: channel, interceptors: options.interceptors ?? [] };
  return {
    tokens: new TokenServiceClient(options.address, credentials, clientOptions),
    refreshTokens: new RefreshTokenServiceClient(options.address, credentials, clientOptions),
    accountConfiguration: new AccountConfigurationServiceClient(options.address, credentials, clientOptions),
    channel,
    close: () => channel.close(),
  };
}
