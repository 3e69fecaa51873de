/** Builds the routing server's gRPC server: services, reflection, health, TLS, graceful shutdown. */
import { Server } from '@grpc/grpc-js';
import { AccountConfigurationServiceService } from '../../gen/fhirmesh/routing/v1/account_configuration_service.ts';
import { AccountServiceService } from '../../gen/fhirmesh/routing/v1/account_service.ts';
import { RefreshTokenServiceService } from '../../gen/fhirmesh/routing/v1/refresh_token_service.ts';
import { TokenServiceService } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import { guardDecoding } from '../../common/grpc/decode-guard.ts';
import { memoizeResponses } from '../../common/grpc/memoized-responses.ts';
import { ServerHealth } from '../../common/grpc/health.ts';
import { addReflection } from '../../common/grpc/reflection.ts';
import { serverCredentials, type GrpcServerTls } from '../../common/grpc/server-tls.ts';
import { accountConfigurationService, accountService, refreshTokenService, tokenService, type ServiceDeps } from './services.ts';

/** Fully-qualified names of the services this server offers. */
export const ROUTING_SERVICES = [
  'fhirmesh.routing.v1.TokenService',
  'fhirmesh.routing.v1.RefreshTokenService',
  'fhirmesh.routing.v1.AccountService',
  'fhirmesh.routing.v1.AccountConfigurationService',
];

/** A built, not yet listening, routing server. */
export interface RoutingGrpcServer {
  /** Binds and starts serving; returns the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, lets calls in flight finish for up to `graceMs`, then cuts the rest. */
  shutdown(graceMs: number): Promise<void>;
}

/** Channel options of the routing server: keepalive and message limits, with why. */
export const SERVER_OPTIONS = {
  // Requests are tiny; refuse anything large early.
  'grpc.max_receive_message_length': 1024 * 1024,
  // Accept client keepalive pings as often as every 10 s. The server sends no keepalive pings of its own:
  // with grpc.keepalive_time_ms set, grpc-js served about 25% fewer calls per second (bench:token, both
  // sides); clients (the fhir-server channel) keep their connections alive and detect dead ones.
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
} as const;

/** Options of the built server. */
export interface RoutingServerOptions {
  /** Health stays NOT_SERVING until this resolves (the registry reachable); calls are answered meanwhile. */
  ready?: Promise<void>;
}

/** See the module comment. */
export function buildRoutingServer(deps: ServiceDeps, tls: GrpcServerTls, options: RoutingServerOptions = {}): RoutingGrpcServer {
  const server = new Server(SERVER_OPTIONS);
  // Undecodable request bytes are INVALID_ARGUMENT (the caller's fault), not grpc-js's INTERNAL.
  // The cached token's wire response is one object per token: encode it once, not on every call.
  server.addService(...guardDecoding(memoizeResponses(TokenServiceService, ['getToken']), tokenService(deps)));
  server.addService(...guardDecoding(RefreshTokenServiceService, refreshTokenService(deps)));
  server.addService(...guardDecoding(AccountServiceService, accountService(deps)));
  server.addService(...guardDecoding(AccountConfigurationServiceService, accountConfigurationService(deps)));
  const health = new ServerHealth(ROUTING_SERVICES);
  health.addToServer(server);
  addReflection(server, ROUTING_SERVICES);
  let stopping = false;
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, serverCredentials(tls), (err, bound) => {
          if (err) return reject(err);
          void (options.ready ?? Promise.resolve()).then(() => {
            if (!stopping) health.serving();
          });
          resolve(bound);
        });
      }),
    shutdown: (graceMs) =>
      new Promise((resolve) => {
        stopping = true;
        health.notServing();
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
