/**
 * Counters of what reached the Entra stand-in, for tests to assert on
 * (e.g. "exactly one token request for the storage resource").
 */

/** Counts for one key (an application or a resource). */
export interface TokenCounts {
  /** Token requests naming it. */
  total: number;
  /** Tokens issued. */
  issued: number;
  /** Requests refused with an AADSTS error. */
  failed: number;
  /** Requests answered by an injected fault. */
  faulted: number;
}

/** A snapshot of the stand-in's counters. */
export interface EntraStats {
  /** Token requests (v1 and v2 endpoints). */
  tokenRequests: TokenCounts;
  /** Token requests by `client_id` (lower case). */
  byAppId: Record<string, TokenCounts>;
  /** Token requests by resource (scope without `/.default`, as sent). */
  byResource: Record<string, TokenCounts>;
  /** Refusals by AADSTS code. */
  failuresByCode: Record<string, number>;
  /** OpenID configuration requests. */
  metadataRequests: number;
  /** JWKS requests. */
  jwksRequests: number;
}

/** Outcome of a token request, for counting. */
export type TokenOutcome = { kind: 'issued' } | { kind: 'failed'; code: number } | { kind: 'faulted' };

function zero(): TokenCounts {
  return { total: 0, issued: 0, failed: 0, faulted: 0 };
}

function bump(counts: TokenCounts, outcome: TokenOutcome): void {
  counts.total += 1;
  counts[outcome.kind] += 1;
}

/** Mutable counters behind `stats()`. */
export class EntraCounters {
  private state: EntraStats = EntraCounters.empty();

  private static empty(): EntraStats {
    return { tokenRequests: zero(), byAppId: {}, byResource: {}, failuresByCode: {}, metadataRequests: 0, jwksRequests: 0 };
  }

  /** Counts one token request. */
  token(appId: string | undefined, resource: string | undefined, outcome: TokenOutcome): void {
    bump(this.state.tokenRequests, outcome);
    if (appId) bump((this.state.byAppId[appId.toLowerCase()] ??= zero()), outcome);
    if (resource) bump((this.state.byResource[resource] ??= zero()), outcome);
    if (outcome.kind === 'failed') this.state.failuresByCode[String(outcome.code)] = (this.state.failuresByCode[String(outcome.code)] ?? 0) + 1;
  }

  /** Counts one OpenID configuration request. */
  metadata(): void {
    this.state.metadataRequests += 1;
  }

  /** Counts one JWKS request. */
  jwks(): void {
    this.state.jwksRequests += 1;
  }

  /** A deep copy of the counters. */
  snapshot(): EntraStats {
    return structuredClone(this.state);
  }

  /** Sets every counter back to zero. */
  reset(): void {
    this.state = EntraCounters.empty();
  }
}
