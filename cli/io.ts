/** Where a command writes: results to stdout, progress and notes to stderr. */

/** The output streams of a command. */
export interface Io {
  /** Writes a result line (stdout). */
  out(line: string): void;
  /** Writes a note or progress line (stderr). */
  err(line: string): void;
  /** Writes raw text to stderr (progress redraws). */
  errRaw(text: string): void;
  /** True when stderr is a terminal. */
  readonly errIsTTY: boolean;
}

/** The process's own streams. */
export const processIo: Io = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  errRaw: (text) => void process.stderr.write(text),
  errIsTTY: process.stderr.isTTY === true,
};

/** Formats rows as aligned columns (two spaces apart). */
export function columns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** An ISO time, or '-' when absent. */
export function isoOrDash(date: Date | undefined): string {
  return date ? date.toISOString() : '-';
}
