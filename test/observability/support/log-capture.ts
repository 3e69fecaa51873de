/** A pino destination that keeps every JSON log line in memory, for asserting on what services logged. */
import type { DestinationStream } from 'pino';

/** Captured lines. */
export interface LogCapture extends DestinationStream {
  /** Every line so far, parsed. */
  readonly lines: Record<string, unknown>[];
  /** Lines whose `name` is `service`. */
  of(service: string): Record<string, unknown>[];
  /** Everything written, as text. */
  text(): string;
}

/** A fresh capture. */
export function captureLogs(): LogCapture {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    write(chunk: string) {
      for (const line of chunk.split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
    },
    of: (service) => lines.filter((l) => l.name === service),
    text: () => raw.join('\n'),
  };
}
