/**
 * Cosmos DB stand-in: `@vercel/cosmosdb-server` over HTTPS on loopback, memory only.
 *
 * Clients reach it exactly as they reach Azure Cosmos DB (gateway mode, master key
 * auth, keep-alive); they only need the endpoint, the key and the local CA.
 */
import { createHttpsServer } from '@vercel/cosmosdb-server';
import type { AddressInfo } from 'node:net';
import type { LocalTls } from '../certs.ts';

/** The fixed master key of the Azure Cosmos DB emulator; the stand-in accepts any key, clients send this one. */
export const emulatorKey = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

/** Options for {@link startCosmos}. */
export interface CosmosOptions {
  /** Loopback TLS material (leaf certificate and key) to serve with. */
  tls: Pick<LocalTls, 'certPem' | 'keyPem'>;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
}

/** A running Cosmos DB stand-in. */
export interface RunningCosmos {
  /** Account endpoint, `https://127.0.0.1:PORT/`. */
  endpoint: string;
  /** Master key to authenticate with. */
  key: string;
  /** Stops listening and closes every open connection (keep-alive ones included). */
  stop(): Promise<void>;
}

/** Starts the Cosmos DB stand-in on 127.0.0.1 and resolves once it listens. */
export async function startCosmos({ tls, port = 0 }: CosmosOptions): Promise<RunningCosmos> {
  const server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem, keepAlive: true });
  // Node closes idle keep-alive sockets after 5 s by default; a client that reuses one at that moment gets
  // "socket hang up" (ECONNRESET), which the Cosmos SDK does not retry for writes. Keep them open for long.
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `https://127.0.0.1:${bound}/`,
    key: emulatorKey,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}
