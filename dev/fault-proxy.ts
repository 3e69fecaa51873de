/**
 * A loopback TCP proxy that can be cut and restored, to put a dependency
 * (Cosmos DB, Key Vault, Entra ID, the routing server) out of reach without
 * stopping it. TLS passes through untouched, so clients see the real server's
 * certificate. Cut modes:
 * - `reset`: open connections are destroyed, new ones are accepted and reset at once (ECONNRESET);
 * - `refuse`: open connections are destroyed and the port stops listening (ECONNREFUSED) until restored;
 * - `blackhole`: open connections are destroyed, new ones are accepted and never answered (client timeouts).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** How a cut proxy treats connections. */
export type CutMode = 'reset' | 'refuse' | 'blackhole';

/** Counters of a proxy. */
export interface FaultProxyStats {
  /** Connections accepted and forwarded. */
  forwarded: number;
  /** Connections accepted while cut (reset or held). */
  refused: number;
  /** Open connections destroyed by `cut`. */
  severed: number;
}

/** A running proxy. */
export interface FaultProxy {
  /** The port it listens on (kept across `refuse` cuts). */
  readonly port: number;
  /** `https://127.0.0.1:<port>` followed by `path` (endpoints of HTTPS stand-ins). */
  url(path?: string): string;
  /** `127.0.0.1:<port>` (gRPC targets). */
  readonly address: string;
  /** Whether it is cut now. */
  readonly isCut: boolean;
  /** Cuts the link (default mode `reset`). */
  cut(mode?: CutMode): Promise<void>;
  /** Forwards again. */
  restore(): Promise<void>;
  /** Counters. */
  stats(): FaultProxyStats;
  /** Closes everything. */
  stop(): Promise<void>;
}

/** Options of `startFaultProxy`. */
export interface FaultProxyOptions {
  /** Where connections go. */
  targetHost?: string;
  /** Target port. */
  targetPort: number;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Start cut in this mode. */
  startCut?: CutMode;
}

/** Starts a proxy on 127.0.0.1 forwarding to `targetHost:targetPort`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1';
  const open = new Set<Socket>();
  const counters: FaultProxyStats = { forwarded: 0, refused: 0, severed: 0 };
  let mode: CutMode | undefined = options.startCut;
  let port = options.port ?? 0;

  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => undefined);
  };
  const onConnection = (client: Socket) => {
    track(client);
    if (mode === 'reset') {
      counters.refused++;
      client.resetAndDestroy();
      return;
    }
    if (mode === 'blackhole') {
      counters.refused++;
      client.pause();
      return;
    }
    counters.forwarded++;
    const upstream = createConnection({ host: targetHost, port: options.targetPort });
    track(upstream);
    client.pipe(upstream).pipe(client);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once('close', closeBoth);
    upstream.once('close', closeBoth);
  };

  let server: Server | undefined;
  const listen = async () => {
    const s = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as { port: number }).port;
    server = s;
  };
  const unlisten = async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const sever = () => {
    for (const socket of open) {
      counters.severed++;
      socket.resetAndDestroy();
    }
    open.clear();
  };

  if (mode !== 'refuse') await listen();
  else {
    await listen();
    await unlisten();
  }
  return {
    get port() {
      return port;
    },
    get address() {
      return `127.0.0.1:${port}`;
    },
    get isCut() {
      return mode !== undefined;
    },
    url: (path = '') => `https://127.0.0.1:${port}${path}`,
    async cut(next: CutMode = 'reset') {
      mode = next;
      sever();
      if (next === 'refuse') await unlisten();
      else if (!server) await listen();
    },
    async restore() {
      mode = undefined;
      sever();
      if (!server) await listen();
    },
    stats: () => ({ ...counters }),
    async stop() {
      sever();
      await unlisten();
    },
  };
}

/** A proxy in front of the HTTPS endpoint `url` (its host must be a loopback address). */
export function proxyFor(url: string, options: Omit<FaultProxyOptions, 'targetPort' | 'targetHost'> = {}): Promise<FaultProxy> {
  const u = new URL(url);
  return startFaultProxy({ ...options, targetHost: u.hostname === 'localhost' ? '127.0.0.1' : u.hostname, targetPort: Number(u.port || 443) });
}
