/**
 * Starts sibling entry points the way this code itself runs: from `dist/` the
 * compiled `.js` file with plain node, from the checkout's sources the `.ts`
 * file through the tsx loader (tests and `npm run` scripts that use tsx).
 */
import { fileURLToPath } from 'node:url';

/** True when the calling module (`base`, its import.meta.url) is compiled JavaScript. */
export function isCompiled(base: string): boolean {
  return base.endsWith('.js');
}

/** Node arguments that run `relative` (a path without extension, resolved against `base`): `[file]` or `['--import', 'tsx', file]`. */
export function entryArgs(relative: string, base: string): string[] {
  const compiled = isCompiled(base);
  const file = fileURLToPath(new URL(`${relative}.${compiled ? 'js' : 'ts'}`, base));
  return compiled ? [file] : ['--import', 'tsx', file];
}
