/** Where the fhirmesh package lives, found the same way from the TypeScript sources and from the compiled `dist/`. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder at or above `start` holding a package.json (`start` itself when none does). */
export function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

/** Root of the fhirmesh package: the checkout, or the installed package's folder. */
export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
