/**
 * Fault injection for the stand-ins: make the next N requests (or every request
 * until a moment) fail with a chosen status, optionally with `Retry-After`.
 */

/** A failure to inject. Without `count` and `untilMs` it lasts until cleared. */
export interface Fault {
  /** HTTP status to answer with. */
  status: 429 | 500 | 502 | 503 | 504;
  /** Seconds for the `Retry-After` header (sent only when given). */
  retryAfterSeconds?: number;
  /** Fail only the next `count` requests. */
  count?: number;
  /** Fail requests until this epoch time in milliseconds. */
  untilMs?: number;
}

const injectableStatuses = new Set([429, 500, 502, 503, 504]);

/** Checks an untrusted value (from an admin request) and returns it as a Fault. */
export function parseFault(value: unknown): Fault {
  if (typeof value !== 'object' || value === null) throw new TypeError('fault must be an object');
  const v = value as Record<string, unknown>;
  if (typeof v.status !== 'number' || !injectableStatuses.has(v.status)) {
    throw new TypeError(`fault.status must be one of ${[...injectableStatuses].join(', ')}`);
  }
  const fault: Fault = { status: v.status as Fault['status'] };
  for (const key of ['retryAfterSeconds', 'count', 'untilMs'] as const) {
    const n = v[key];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new TypeError(`fault.${key} must be a non-negative number`);
    fault[key] = n;
  }
  return fault;
}

/** Holds the current fault and hands it out request by request. */
export class FaultInjector {
  private fault: Fault | undefined;
  private remaining = Infinity;

  /** Installs a fault, replacing any previous one; `undefined` clears. */
  set(fault: Fault | undefined): void {
    this.fault = fault ? { ...parseFault(fault) } : undefined;
    this.remaining = fault?.count ?? Infinity;
  }

  /** Removes the current fault. */
  clear(): void {
    this.set(undefined);
  }

  /** The fault to apply to this request, if any (consumes one of `count`). */
  take(now = Date.now()): Fault | undefined {
    const fault = this.fault;
    if (!fault) return undefined;
    if ((fault.untilMs !== undefined && now >= fault.untilMs) || this.remaining <= 0) {
      this.clear();
      return undefined;
    }
    this.remaining -= 1;
    return fault;
  }

  /** Response headers for a fault (`Retry-After` when configured). */
  static headers(fault: Fault): Record<string, string> {
    return fault.retryAfterSeconds !== undefined ? { 'retry-after': String(Math.ceil(fault.retryAfterSeconds)) } : {};
  }
}
