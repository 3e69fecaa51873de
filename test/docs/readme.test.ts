/**
 * The README stays true to the code: its settings tables equal the settings
 * schemas (regenerate with `npm run docs`), every page under docs/ is linked
 * from it, and every relative link in it points at a file that exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { README, withSettingsTables } from '../../scripts/readme-settings.ts';

const readme = readFileSync(README, 'utf8');
const root = dirname(README);

test('the settings tables equal the settings schemas (npm run docs regenerates them)', () => {
  const wanted = withSettingsTables(readme);
  const diff = wanted.split('\n').filter((line, i) => line !== readme.split('\n')[i]);
  assert.ok(readme === wanted, `README.md settings tables are out of date; first differing lines:\n${diff.slice(0, 5).join('\n')}`);
});

test('every page under docs/ is linked from the README', () => {
  const pages = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md'));
  assert.ok(pages.length > 0, 'docs/ has pages');
  const unlinked = pages.filter((name) => !readme.includes(`](docs/${name})`));
  assert.equal(unlinked, []);
});

test('every relative link in the README points at a file that exists', () => {
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z]+:/i.test(href));
  assert.ok(links.length > 0, 'the README has relative links');
  const broken = links.filter((href) => !existsSync(join(root, href)));
  assert.equal(broken, []);
});

test.run();
