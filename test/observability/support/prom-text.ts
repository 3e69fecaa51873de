/** A strict reader of the Prometheus text exposition format (0.0.4), for asserting on scraped metrics. */

/** Parsed samples: `name{a="1",b="2"}` (labels sorted) → value; and the TYPE of each family. */
export interface Scrape {
  samples: Map<string, number>;
  types: Map<string, string>;
  /** The value of `name` with exactly `labels` (0 when absent). */
  value(name: string, labels?: Record<string, string>): number;
  /** The sum over every sample of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|[Nn]a[Nn]|\+Inf|-Inf)( -?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text);
    if (!match) throw new Error(`bad labels in: ${line}`);
    labels[match[1]!] = match[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}

function key(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

/** Parses `text`; throws on any line that is not a comment, blank, or a well-formed sample. */
export function parseScrape(text: string): Scrape {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const byName: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = match[3] ? parseLabels(match[3], line) : {};
    const value = /^nan$/i.test(match[4]!) ? Number.NaN : Number(match[4]!.replace('+Inf', 'Infinity').replace('-Inf', '-Infinity'));
    samples.set(key(match[1]!, labels), value);
    byName.push({ name: match[1]!, labels, value });
  }
  return {
    samples,
    types,
    value: (name, labels = {}) => samples.get(key(name, labels)) ?? 0,
    sum: (name, labels = {}) =>
      byName.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0),
  };
}
