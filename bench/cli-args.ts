/** Argument parsers the benchmarks' command lines share. */
import { InvalidArgumentError } from 'commander';

/** Parses a positive whole number (commander option parser). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('a positive whole number');
  return n;
}
