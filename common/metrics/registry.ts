/** One prom-client Registry per service, with Node's process metrics; every name starts with `fhirmesh_`. */
import { collectDefaultMetrics, Registry } from 'prom-client';

/** Prefix of every metric name. */
export const METRIC_PREFIX = 'fhirmesh_';

/** A fresh registry holding the default process metrics (`fhirmesh_process_*`, `fhirmesh_nodejs_*`). */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
