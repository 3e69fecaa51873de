/**
 * Counters of what reached the Key Vault stand-in, for tests to assert on
 * (e.g. "exactly one read of secret X reached Key Vault").
 */
import type { SecretOperation } from './routes.ts';

/** Counts for one operation. */
export interface OperationCounts {
  /** Requests with a valid token that named this operation (succeeded + failed). */
  total: number;
  /** Answered with 2xx. */
  succeeded: number;
  /** Refused after authentication (403, 404, 409, 400). */
  failed: number;
  /** Answered by an injected fault (not in `total`). */
  faulted: number;
}

/** A snapshot of the stand-in's counters. */
export interface KeyVaultStats {
  /** Every request to the secrets API. */
  requests: number;
  /** 401 challenges to requests without a token (the SDK's first request). */
  challenges: number;
  /** 401s to requests with an invalid token. */
  unauthorized: number;
  /** Requests answered by an injected fault. */
  faulted: number;
  /** Counts per operation. */
  byOperation: Partial<Record<SecretOperation, OperationCounts>>;
  /** Counts per secret name (as sent) and operation. */
  bySecret: Record<string, Partial<Record<SecretOperation, OperationCounts>>>;
}

/** Outcome of one request, for counting. */
export type RequestOutcome = 'challenge' | 'unauthorized' | 'faulted' | 'succeeded' | 'failed';

function zero(): OperationCounts {
  return { total: 0, succeeded: 0, failed: 0, faulted: 0 };
}

function bump(counts: OperationCounts, outcome: 'faulted' | 'succeeded' | 'failed'): void {
  counts[outcome] += 1;
  if (outcome !== 'faulted') counts.total += 1;
}

/** Mutable counters behind `stats()`. */
export class KeyVaultCounters {
  private state: KeyVaultStats = KeyVaultCounters.empty();

  private static empty(): KeyVaultStats {
    return { requests: 0, challenges: 0, unauthorized: 0, faulted: 0, byOperation: {}, bySecret: {} };
  }

  /** Counts one request. */
  count(outcome: RequestOutcome, operation?: SecretOperation, name?: string): void {
    const s = this.state;
    s.requests += 1;
    if (outcome === 'challenge') s.challenges += 1;
    else if (outcome === 'unauthorized') s.unauthorized += 1;
    else {
      if (outcome === 'faulted') s.faulted += 1;
      if (operation) {
        bump((s.byOperation[operation] ??= zero()), outcome);
        if (name) bump(((s.bySecret[name] ??= {})[operation] ??= zero()), outcome);
      }
    }
  }

  /** A deep copy of the counters. */
  snapshot(): KeyVaultStats {
    return structuredClone(this.state);
  }

  /** Sets every counter back to zero. */
  reset(): void {
    this.state = KeyVaultCounters.empty();
  }
}
