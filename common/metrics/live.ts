/**
 * Metrics whose values live in plain numbers the code already keeps (cache
 * stats, call counts) and are read only when scraped: the counted path pays a
 * property increment, nothing more (prom-client's own `inc` hashes labels).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** A labelled value read at scrape time. */
export type LiveSample<L extends string> = [labels: Partial<Record<L, string>>, value: number];

/** What a live metric is. */
export interface LiveMetricSpec<L extends string> {
  /** Full metric name (with the `fhirmesh_` prefix). */
  name: string;
  /** HELP text. */
  help: string;
  /** Label names. */
  labelNames?: readonly L[];
  /** The current values (called on each scrape; may be async for gauges read from a store). */
  read(): Iterable<LiveSample<L>> | Promise<Iterable<LiveSample<L>>>;
}

/** A counter mirroring monotonically growing numbers kept elsewhere. */
export function liveCounter<L extends string>(registry: Registry, spec: LiveMetricSpec<L>): Counter<L> {
  return new Counter<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    async collect() {
      const samples = await spec.read();
      this.reset();
      for (const [labels, value] of samples) this.inc(labels, value);
    },
  });
}

/** A gauge set from values read at scrape time. */
export function liveGauge<L extends string>(registry: Registry, spec: LiveMetricSpec<L>): Gauge<L> {
  return new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    async collect() {
      const samples = await spec.read();
      this.reset();
      for (const [labels, value] of samples) this.set(labels, value);
    },
  });
}
