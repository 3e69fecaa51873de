/** Starts the routing server as its own process (routing-server/main.ts) and waits for its READY line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

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

const mainPath = fileURLToPath(new URL('../routing-server/main.ts', import.meta.url));

/** Spawns the routing server with `env` (ROUTING_* settings) and resolves when it listens. */
export function spawnRoutingServer(env: Record<string, string>, startTimeoutMs = 30_000): Promise<RoutingProcess> {
  // ROUTING_NODE_ARGS adds node flags to the child (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it).
  const nodeArgs = [...ROUTING_NODE_FLAGS, ...(process.env.ROUTING_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', mainPath], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(0);
      reject(new Error('routing server did not start in time'));
    }, startTimeoutMs);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`routing server exited with code ${code} before it was ready`));
    };
    child.once('exit', early);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('ROUTING_READY ')) return;
      clearTimeout(timer);
      child.off('exit', early);
      const { address, metricsUrl } = JSON.parse(line.slice('ROUTING_READY '.length)) as { address: string; metricsUrl?: string };
      resolve({ address, ...(metricsUrl ? { metricsUrl } : {}), child, stop });
    });
  });
}
