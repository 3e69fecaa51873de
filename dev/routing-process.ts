/** Starts the routing server as its own process (routing-server/main.ts) and waits for its READY line. */
import type { ChildProcess } from 'node:child_process';
import { entryArgs } from './node-entry.ts';
import { spawnUntilReady } from './ready-process.ts';

/** A routing server running in a child process. */
export interface RoutingProcess {
  /** host:port. */
  address: string;
  /** Its metrics URL, when metrics are enabled. */
  metricsUrl?: string;
  /** The child. */
  child: ChildProcess;
  /** SIGTERM, then wait for exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Node flags the routing server runs with. A larger young generation: each call allocates short-lived
 * HTTP/2 and protobuf objects, and with the default 16 MiB semi-space scavenges cost about a third of
 * the server's throughput (measured with bench:token).
 */
export const ROUTING_NODE_FLAGS = ['--max-semi-space-size=64'];

/** The node flags a routing server process gets: ROUTING_NODE_FLAGS, then ROUTING_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it). */
export function routingNodeArgs(): string[] {
  return [...ROUTING_NODE_FLAGS, ...(process.env.ROUTING_NODE_ARGS ?? '').split(' ').filter(Boolean)];
}

/** Spawns the routing server with `env` (ROUTING_* settings) and resolves when it listens. */
export async function spawnRoutingServer(env: Record<string, string>, startTimeoutMs = 30_000): Promise<RoutingProcess> {
  const { child, ready, stop } = await spawnUntilReady({
    name: 'routing server',
    args: [...routingNodeArgs(), ...entryArgs('../routing-server/main', import.meta.url)],
    env,
    readyPrefix: 'ROUTING_READY',
    startTimeoutMs,
    graceMs: 10_000,
  });
  return { address: ready.address!, ...(ready.metricsUrl ? { metricsUrl: ready.metricsUrl } : {}), child, stop };
}
