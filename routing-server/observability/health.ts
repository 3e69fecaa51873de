/**
 * The routing server's HTTP health answer (`GET /health` on its metrics
 * listener), for load balancers and people. The status code follows one rule:
 * 503 only when this instance cannot serve at all (the registry has never
 * answered since start-up, or it is shutting down), so a load balancer takes it
 * out; 200 otherwise, also while a dependency is down (`degraded`): cached
 * tokens are still served, and another instance would fare no better. The
 * gRPC health service says the same in its own terms (NOT_SERVING / SERVING).
 */
import type { DependencyMonitor, DependencyState } from './dependency-monitor.ts';

/** What the answer is made from. */
export interface RoutingHealthSources {
  /** The registry has answered once since start-up. */
  ready(): boolean;
  /** The server is shutting down. */
  draining(): boolean;
  /** The dependencies as seen through outbound HTTP. */
  dependencies: DependencyMonitor;
}

/** The answer body. */
export interface RoutingHealthBody {
  status: 'ok' | 'degraded' | 'starting' | 'draining';
  dependencies: DependencyState[];
  /** Why it is not `ok`. */
  reasons?: string[];
}

/** Status code and JSON body of `/health`. */
export function routingHealth(sources: RoutingHealthSources): { status: number; body: RoutingHealthBody } {
  const dependencies = sources.dependencies.snapshot();
  if (sources.draining()) return { status: 503, body: { status: 'draining', dependencies, reasons: ['shutting down'] } };
  if (!sources.ready()) return { status: 503, body: { status: 'starting', dependencies, reasons: ['the registry database (Cosmos DB) has not answered since start-up'] } };
  const down = dependencies.filter((d) => d.state === 'down');
  if (down.length === 0) return { status: 200, body: { status: 'ok', dependencies } };
  return { status: 200, body: { status: 'degraded', dependencies, reasons: down.map((d) => `${d.name} is failing (${d.reason})`) } };
}
