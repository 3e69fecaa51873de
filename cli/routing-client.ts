/**
 * Calls to the routing server: one TLS channel per command, the generated
 * clients over it, and every failure turned into a CliError sentence.
 */
import type { Client, Metadata, ServiceError } from '@grpc/grpc-js';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../common/grpc/client.ts';
import { AccountServiceClient } from '../gen/fhirmesh/routing/v1/account_service.ts';
import { RefreshTokenServiceClient } from '../gen/fhirmesh/routing/v1/refresh_token_service.ts';
import { TokenServiceClient } from '../gen/fhirmesh/routing/v1/token_service.ts';
import type { Connection } from './connection.ts';
import { fromGrpcStatus } from './errors.ts';

type ClientClass<C> = new (address: string, credentials: ReturnType<typeof tlsChannelCredentials>) => C;

/** A routing-server client of one command. */
export class RoutingClient {
  readonly #connection: Connection;
  readonly #clients: Client[] = [];

  /** Clients are created on first use from `connection`. */
  constructor(connection: Connection) {
    this.#connection = connection;
  }

  /** The admin AccountService and the metadata carrying the admin token. */
  accounts(): { client: AccountServiceClient; metadata: Metadata } {
    return { client: this.#open(AccountServiceClient), metadata: bearerMetadata(this.#connection.adminToken()) };
  }

  /** TokenService and the metadata carrying `refreshToken`. */
  tokens(refreshToken: string): { client: TokenServiceClient; metadata: Metadata } {
    return { client: this.#open(TokenServiceClient), metadata: bearerMetadata(refreshToken) };
  }

  /** RefreshTokenService and the metadata carrying `refreshToken`. */
  refreshTokens(refreshToken: string): { client: RefreshTokenServiceClient; metadata: Metadata } {
    return { client: this.#open(RefreshTokenServiceClient), metadata: bearerMetadata(refreshToken) };
  }

  /** One unary call; a gRPC failure becomes a CliError. */
  async call<Req, Res>(method: Parameters<typeof unaryCall<Req, Res>>[0], client: Client, request: Req, metadata: Metadata): Promise<Res> {
    try {
      return await unaryCall(method, client, request, metadata, this.#connection.timeoutMs);
    } catch (error) {
      const e = error as ServiceError;
      if (typeof e.code === 'number') throw fromGrpcStatus(e.code, e.details ?? e.message, this.#connection.routingAddress());
      throw error;
    }
  }

  /** Closes every channel. */
  close(): void {
    for (const client of this.#clients) client.close();
  }

  #open<C extends Client>(type: ClientClass<C>): C {
    const client = new type(this.#connection.routingAddress(), tlsChannelCredentials(this.#connection.caPem()));
    this.#clients.push(client);
    return client;
  }
}
