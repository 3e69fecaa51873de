/** Calls per method and gRPC status code as plain numbers: a handler binds its method's array once and does `counts[code]++`. */
import { status } from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { liveCounter, type LiveSample } from './live.ts';

/** Highest gRPC status code (UNAUTHENTICATED = 16). */
const CODES = 17;

/** See the module comment. */
export class GrpcCallCounts {
  readonly #byMethod = new Map<string, number[]>();

  /** The counts of `method` indexed by status code (created on first use; keep the array). */
  of(method: string): number[] {
    let counts = this.#byMethod.get(method);
    if (!counts) {
      counts = new Array<number>(CODES).fill(0);
      this.#byMethod.set(method, counts);
    }
    return counts;
  }

  /** Exposes the counts as `name{method, code}` (codes by name, e.g. `OK`, `UNAVAILABLE`; only codes seen). */
  register(registry: Registry, name: string, help: string): void {
    liveCounter(registry, {
      name,
      help,
      labelNames: ['method', 'code'] as const,
      read: () => {
        const samples: LiveSample<'method' | 'code'>[] = [];
        for (const [method, counts] of this.#byMethod) {
          counts.forEach((value, code) => {
            if (value > 0 || code === status.OK) samples.push([{ method, code: status[code] ?? String(code) }, value]);
          });
        }
        return samples;
      },
    });
  }
}
