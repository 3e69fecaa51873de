/**
 * Keeps the README's settings tables equal to the settings schemas: the text
 * between `<!-- settings:NAME -->` and `<!-- /settings:NAME -->` is generated.
 *
 *   npm run docs            rewrite README.md
 *   npm run docs -- --check exit 1 when README.md is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeSettings, type SettingsSchema } from '../common/config.ts';
import { routingSettingsSchema } from '../routing-server/config.ts';
import { fhirSettingsSchema } from '../fhir-server/config/schema.ts';

/** The generated tables by marker name. */
export const SETTINGS_TABLES: Readonly<Record<string, SettingsSchema>> = {
  routing: routingSettingsSchema,
  fhir: fhirSettingsSchema,
};

/** Path of the README. */
export const README = fileURLToPath(new URL('../README.md', import.meta.url));

/** `readme` with every marked table regenerated; throws when a marker pair is missing. */
export function withSettingsTables(readme: string): string {
  let out = readme;
  for (const [name, schema] of Object.entries(SETTINGS_TABLES)) {
    const open = `<!-- settings:${name} -->`;
    const close = `<!-- /settings:${name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`README.md has no ${open} … ${close} section`);
    const table = ['| Setting | Environment | Default | Meaning |', '|---|---|---|---|', ...describeSettings(schema)].join('\n');
    out = `${out.slice(0, start + open.length)}\n${table}\n${out.slice(end)}`;
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(README, 'utf8');
  const wanted = withSettingsTables(current);
  if (process.argv.includes('--check')) {
    if (current !== wanted) {
      process.stderr.write('README.md settings tables are out of date: run npm run docs\n');
      process.exit(1);
    }
  } else if (current !== wanted) {
    writeFileSync(README, wanted);
    process.stdout.write('README.md settings tables updated\n');
  }
}
