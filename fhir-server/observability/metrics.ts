/**
 * The fhir-server's metrics (one registry, names `fhirmesh_fhir_*` plus the
 * process metrics): REST requests, calls to the routing server and the token
 * cache in front of them, export job transitions and exported resources and
 * bytes (counted from this instance's job store writes), and the export
 * backlog (read from the job store when scraped).
 */
import type { Interceptor } from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';
import { liveCounter } from '../../common/metrics/live.ts';
import { createMetricsRegistry } from '../../common/metrics/registry.ts';
import type { JobStore } from '../export/engine/job-store.ts';
import type { ExternalResourceTokenClient } from '../routing/external-resource-token-client.ts';
import { registerExportBacklog } from './export-backlog.ts';
import type { HttpObserver } from './http-hooks.ts';
import { observeJobStore } from './observed-job-store.ts';
import { routingCallInterceptor } from './routing-interceptor.ts';

/** REST latency buckets (seconds). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** See the module comment. */
export class FhirMetrics {
  /** The registry to serve. */
  readonly registry: Registry = createMetricsRegistry();
  /** For `buildApp({ observeHttp })`. */
  readonly observeHttp: HttpObserver;
  /** For `connectRouting({ interceptors: [...] })`. */
  readonly routingInterceptor: Interceptor;

  /** Registers the metrics that need no sources. */
  constructor() {
    const http = new Histogram({
      name: 'fhirmesh_fhir_http_request_duration_seconds',
      help: 'REST requests by route pattern, method and status code, with their duration (_count: requests)',
      labelNames: ['route', 'method', 'status'],
      buckets: HTTP_BUCKETS,
      registers: [this.registry],
    });
    this.observeHttp = (route, method, status, seconds) => http.labels(route, method, String(status)).observe(seconds);
    const routing = new Histogram({
      name: 'fhirmesh_fhir_routing_call_duration_seconds',
      help: 'Calls (attempts) to the routing server by method and gRPC status code, with their duration (_count: calls)',
      labelNames: ['method', 'code'],
      buckets: HTTP_BUCKETS,
      registers: [this.registry],
    });
    this.routingInterceptor = routingCallInterceptor((method, code, seconds) => routing.labels(method, code).observe(seconds));
  }

  /** Exposes the token client's cache and retry counters. */
  observeTokenClient(client: ExternalResourceTokenClient): void {
    liveCounter(this.registry, {
      name: 'fhirmesh_fhir_token_cache_lookups_total',
      help: 'Storage token lookups in the fhir-server token cache, by result (a miss asks the routing server)',
      labelNames: ['result'] as const,
      read: () => [[{ result: 'hit' }, client.cacheStats.hits], [{ result: 'miss' }, client.cacheStats.misses]],
    });
    liveCounter(this.registry, {
      name: 'fhirmesh_fhir_token_acquisitions_total',
      help: 'Token acquisitions from the routing server (misses and refreshes), by outcome: started or failed',
      labelNames: ['outcome'] as const,
      read: () => [[{ outcome: 'started' }, client.cacheStats.loads], [{ outcome: 'failed' }, client.cacheStats.loadFailures]],
    });
    liveCounter(this.registry, {
      name: 'fhirmesh_fhir_routing_retries_total',
      help: 'Routing calls retried after a retryable status (backoff, retry-after-ms)',
      read: () => [[{}, client.caller.stats.retries]],
    });
  }

  /** Wraps the export job store so its writes are counted, and reads the backlog from it when scraped. */
  observeJobs<S extends JobStore>(jobs: S): S {
    const transitions = new Counter({
      name: 'fhirmesh_fhir_export_job_transitions_total',
      help: 'Export jobs entering a state (queued, running, completed, failed, cancelled) by this instance',
      labelNames: ['state'],
      registers: [this.registry],
    });
    const labels = { labelNames: ['type', 'kind'] as const, registers: [this.registry] };
    const resources = new Counter({ name: 'fhirmesh_fhir_export_resources_total', help: 'Lines in committed export files, by resource type and kind (output, deleted, error)', ...labels });
    const bytes = new Counter({ name: 'fhirmesh_fhir_export_bytes_total', help: 'Bytes of committed export files, by resource type and kind (output, deleted, error)', ...labels });
    registerExportBacklog(this.registry, jobs);
    return observeJobStore(jobs, {
      jobEntered: (state) => transitions.labels(state).inc(),
      fileCommitted: (kind, file) => {
        resources.labels(file.type, kind).inc(file.count);
        bytes.labels(file.type, kind).inc(file.sizeBytes);
      },
    });
  }
}
