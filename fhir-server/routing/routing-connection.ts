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
}

/** Channel options: reconnect quickly once the routing server is back, so retries within the overall deadline can succeed. */
export const routingChannelDefaults: Readonly<ChannelOptions> = Object.freeze({
  // grpc-js otherwise backs off reconnects up to 120 s, longer than any caller's deadline.
  'grpc.initial_reconnect_backoff_ms': 500,
  'grpc.max_reconnect_backoff_ms': 5_000,
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
  /** Closes the channel (calls in flight fail with CANCELLED / UNAVAILABLE). */
  close(): void;
}

/** Opens (lazily: nothing connects until the first call) a TLS channel to the routing server. */
export function connectRouting(options: RoutingConnectionOptions): RoutingConnection {
  const credentials = tlsChannelCredentials(options.caPem, options.clientCertificate);
  const channelOptions = { ...routingChannelDefaults, ...options.channelOptions };
  const channel = new Channel(options.address, credentials, channelOptions);
  const clientOptions = { channelOverride: channel, interceptors: options.interceptors ?? [] };
  return {
    tokens: new TokenServiceClient(options.address, credentials, clientOptions),
    refreshTokens: new RefreshTokenServiceClient(options.address, credentials, clientOptions),
    accountConfiguration: new AccountConfigurationServiceClient(options.address, credentials, clientOptions),
    close: () => channel.close(),
  };
}
