/**
 * Correlation ids: every REST request and every export job step runs in a
 * correlation scope (AsyncLocalStorage), so calls made on its behalf — the
 * routing server's GetToken above all — carry its id as `x-correlation-id`.
 * A scope closes when its request or step ends: timers it left behind (a
 * background token refresh) no longer claim its id.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The header (and gRPC metadata key) that carries a correlation id. */
export const CORRELATION_HEADER = 'x-correlation-id';

/** Also accepted from clients and proxies that set it instead. */
const ALTERNATE_HEADER = 'x-request-id';

/** A well-formed id: 1–100 characters, letters, digits and `._:-`, starting with a letter or digit (UUIDs fit). */
const WELL_FORMED = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

interface Scope {
  readonly id: string;
  open: boolean;
}

const storage = new AsyncLocalStorage<Scope>();

/** `value` if it is a well-formed correlation id, else undefined. */
export function acceptCorrelationId(value: unknown): string | undefined {
  return typeof value === 'string' && WELL_FORMED.test(value) ? value : undefined;
}

/** The request's id: its `x-correlation-id` (or `x-request-id`) when well-formed, else a new UUID. */
export function correlationIdOfRequest(request: { headers: IncomingHttpHeaders }): string {
  return acceptCorrelationId(request.headers[CORRELATION_HEADER]) ?? acceptCorrelationId(request.headers[ALTERNATE_HEADER]) ?? randomUUID();
}

/** The id of the open scope this code runs in, or undefined. */
export function currentCorrelationId(): string | undefined {
  const scope = storage.getStore();
  return scope?.open ? scope.id : undefined;
}

/** Opens a scope for `id` (kept open until `close`) and runs `fn` in it; for callback-style hooks. */
export function openCorrelationScope(id: string): { run<T>(fn: () => T): T; close(): void } {
  const scope: Scope = { id, open: true };
  return { run: (fn) => storage.run(scope, fn), close: () => void (scope.open = false) };
}

/** Runs `fn` in a scope for `id` that closes when `fn` settles; without an id, just runs `fn`. */
export async function withCorrelation<T>(id: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!id) return fn();
  const scope = openCorrelationScope(id);
  try {
    return await scope.run(fn);
  } finally {
    scope.close();
  }
}
