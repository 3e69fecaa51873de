/** The standard gRPC health service (grpc.health.v1), for orchestrators and probes. */
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Server } from '@grpc/grpc-js';
import { guardingServer } from './decode-guard.ts';

/** Health of a server and of each named service; '' is the whole server. */
export class ServerHealth {
  private readonly impl: HealthImplementation;
  private readonly services: string[];

  /** Starts every service (and the server) as NOT_SERVING until `serving()`. */
  constructor(services: string[]) {
    this.services = ['', ...services];
    this.impl = new HealthImplementation(Object.fromEntries(this.services.map((s) => [s, 'NOT_SERVING' as ServingStatus])));
  }

  /** Registers the health service on `server` (undecodable requests answered INVALID_ARGUMENT, not INTERNAL). */
  addToServer(server: Server): void {
    this.impl.addToServer(guardingServer(server));
  }

  /** Marks everything SERVING. */
  serving(): void {
    for (const s of this.services) this.impl.setStatus(s, 'SERVING');
  }

  /** Marks everything NOT_SERVING (draining). */
  notServing(): void {
    for (const s of this.services) this.impl.setStatus(s, 'NOT_SERVING');
  }
}
