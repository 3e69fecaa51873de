/**
 * The routing server's metrics (one registry, names `fhirmesh_routing_*` plus
 * the process metrics). Hot-path numbers — token cache lookups, cached
 * refresh-token validations, GetToken calls — are plain counters the code
 * already keeps, read only when scraped; acquisitions (network-bound, rare)
 * go to prom-client directly with their latency.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { GrpcCallCounts } from '../../common/metrics/grpc-call-counts.ts';
import { liveCounter } from '../../common/metrics/live.ts';
import { createMetricsRegistry } from '../../common/metrics/registry.ts';
import type { RefreshingCacheStats } from '../../common/refreshing-cache.ts';
import type { RefreshTokenStats, ValidationOutcome } from '../domain/refresh-tokens.ts';

/** Where the live numbers are. */
export interface RoutingMetricSources {
  /** The token provider's cache counters. */
  tokenCache: () => RefreshingCacheStats;
  /** The refresh-token manager's counters. */
  refreshTokens: RefreshTokenStats;
}

/** Acquisition latency buckets (seconds): a Key Vault read plus an Entra ID round trip. */
const ACQUISITION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** See the module comment. */
export class RoutingMetrics {
  /** The registry to serve. */
  readonly registry: Registry = createMetricsRegistry();
  /** gRPC calls by method and status code (give it to the transport). */
  readonly calls = new GrpcCallCounts();
  readonly #acquisitions: Counter<'outcome'>;
  readonly #acquisitionSeconds: Histogram<'outcome'>;

  /** Registers the metrics that need no sources. */
  constructor() {
    this.calls.register(this.registry, 'fhirmesh_routing_grpc_calls_total', 'gRPC calls answered, by method and status code');
    this.#acquisitions = new Counter({
      name: 'fhirmesh_routing_token_acquisitions_total',
      help: 'Token acquisitions from Entra ID (cache misses and refreshes), by outcome: success, backing-off, or the error kind',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.#acquisitionSeconds = new Histogram({
      name: 'fhirmesh_routing_token_acquisition_duration_seconds',
      help: 'Duration of token acquisitions (Key Vault read when needed, then Entra ID), by outcome',
      labelNames: ['outcome'],
      buckets: ACQUISITION_BUCKETS,
      registers: [this.registry],
    });
    this.#acquisitions.labels('success').inc(0);
  }

  /** For `TokenProviderOptions.onAcquisition`. */
  readonly onTokenAcquisition = (outcome: string, durationMs: number): void => {
    this.#acquisitions.labels(outcome).inc();
    if (outcome !== 'backing-off') this.#acquisitionSeconds.labels(outcome).observe(durationMs / 1000);
  };

  /** Exposes the live counters of `sources`. */
  observe(sources: RoutingMetricSources): void {
    liveCounter(this.registry, {
      name: 'fhirmesh_routing_token_cache_lookups_total',
      help: 'Token cache lookups (cached GetToken path and full path), by result: hit or miss',
      labelNames: ['result'] as const,
      read: () => {
        const stats = sources.tokenCache();
        return [[{ result: 'hit' }, stats.hits], [{ result: 'miss' }, stats.misses]];
      },
    });
    liveCounter(this.registry, {
      name: 'fhirmesh_routing_token_background_refreshes_total',
      help: 'Cached tokens refreshed ahead of expiry in the background',
      read: () => [[{}, sources.tokenCache().backgroundRefreshes]],
    });
    liveCounter(this.registry, {
      name: 'fhirmesh_routing_refresh_token_validations_total',
      help: 'Refresh-token validations, by outcome (cached, loaded: accepted; missing, unknown, revoked, expired, rotated-out: refused; refused-again: refused from memory; throttled: the peer presented too many bad tokens; error: store failed)',
      labelNames: ['outcome'] as const,
      read: () => Object.entries(sources.refreshTokens.validations).map(([outcome, n]) => [{ outcome: outcome as ValidationOutcome }, n]),
    });
    liveCounter(this.registry, {
      name: 'fhirmesh_routing_refresh_token_rotations_total',
      help: 'Refresh tokens rotated',
      read: () => [[{}, sources.refreshTokens.rotations]],
    });
    liveCounter(this.registry, {
      name: 'fhirmesh_routing_refresh_token_repeated_rotations_total',
      help: 'Rotations of an already rotated token, answered with the successor issued before',
      read: () => [[{}, sources.refreshTokens.repeatedRotations]],
    });
    liveCounter(this.registry, {
      name: 'fhirmesh_routing_refresh_token_reads_total',
      help: 'Point reads of refresh-token documents from the registry (Cosmos DB)',
      read: () => [[{}, sources.refreshTokens.reads]],
    });
  }
}
