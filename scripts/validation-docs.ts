/**
 * Keeps the list of required bindings in docs/validation.md equal to what the
 * validator checks: the text between `<!-- required-bindings -->` and
 * `<!-- /required-bindings -->` is generated from the R4 definitions.
 *
 *   npm run docs:validation            rewrite docs/validation.md
 *   npm run docs:validation -- --check exit 1 when it is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { requiredBindingMarkdown } from '../fhir-server/fhir/validation/binding-report.ts';

/** Path of the page. */
export const VALIDATION_DOC = fileURLToPath(new URL('../docs/validation.md', import.meta.url));

/** `page` with the marked list regenerated; throws when the markers are missing. */
export function withRequiredBindings(page: string): string {
  const open = '<!-- required-bindings -->';
  const close = '<!-- /required-bindings -->';
  const start = page.indexOf(open);
  const end = page.indexOf(close);
  if (start < 0 || end < start) throw new Error(`docs/validation.md has no ${open} … ${close} section`);
  return `${page.slice(0, start + open.length)}\n${requiredBindingMarkdown()}\n${page.slice(end)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(VALIDATION_DOC, 'utf8');
  const wanted = withRequiredBindings(current);
  if (process.argv.includes('--check')) {
    if (current !== wanted) {
      process.stderr.write('docs/validation.md required bindings are out of date: run npm run docs:validation\n');
      process.exit(1);
    }
  } else if (current !== wanted) {
    writeFileSync(VALIDATION_DOC, wanted);
    process.stdout.write('docs/validation.md required bindings updated\n');
  }
}
