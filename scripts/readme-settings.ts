/**
 * Keeps the settings tables of docs/configuration.md equal to the settings
 * schemas: the text between `<!-- settings:NAME -->` and `<!-- /settings:NAME -->`
 * is generated.
 *
 *   npm run docs            rewrite docs/configuration.md
 *   npm run docs -- --check exit 1 when it is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../common/package-root.ts';
import { describeSettings, type SettingsSchema } from '../common/config.ts';
import { routingSettingsSchema } from '../routing-server/config.ts';
import { fhirSettingsSchema } from '../fhir-server/config/schema.ts';

/** The generated tables by marker name. */
export const SETTINGS_TABLES: Readonly<Record<string, SettingsSchema>> = {
  routing: routingSettingsSchema,
  fhir: fhirSettingsSchema,
};

/** Path of the README (the front door; it links every page under docs/). */
export const README = join(packageRoot, 'README.md');

/** Path of the page holding the generated settings tables. */
export const CONFIGURATION_DOC = join(packageRoot, 'docs', 'configuration.md');

/** `page` with every marked table regenerated; throws when a marker pair is missing. */
export function withSettingsTables(page: string): string {
  let out = page;
  for (const [name, schema] of Object.entries(SETTINGS_TABLES)) {
    const open = `<!-- settings:${name} -->`;
    const close = `<!-- /settings:${name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`docs/configuration.md has no ${open} … ${close} section`);
    const table = ['| Setting | Environment | Default | Meaning |', '|---|---|---|---|', ...describeSettings(schema)].join('\n');
    out = `${out.slice(0, start + open.length)}\n${table}\n${out.slice(end)}`;
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(CONFIGURATION_DOC, 'utf8');
  const wanted = withSettingsTables(current);
  if (process.argv.includes('--check')) {
    if (current !== wanted) {
      process.stderr.write('docs/configuration.md settings tables are out of date: run npm run docs\n');
      process.exit(1);
    }
  } else if (current !== wanted) {
    writeFileSync(CONFIGURATION_DOC, wanted);
    process.stdout.write('docs/configuration.md settings tables updated\n');
  }
}
