/**
 * The documentation stays true to the code and to itself: the settings tables
 * of docs/configuration.md equal the settings schemas (regenerate with
 * `npm run docs`), every page under docs/ is linked from the README, every
 * relative link in the README and the docs points at a file that exists, and
 * the README stays a short front door.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONFIGURATION_DOC, README, withSettingsTables } from '../../scripts/readme-settings.ts';

const readme = readFileSync(README, 'utf8');
const root = dirname(README);
const pages = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md'));

test('the settings tables equal the settings schemas (npm run docs regenerates them)', () => {
  const page = readFileSync(CONFIGURATION_DOC, 'utf8');
  const wanted = withSettingsTables(page);
  const diff = wanted.split('\n').filter((line, i) => line !== page.split('\n')[i]);
  assert.ok(page === wanted, `docs/configuration.md settings tables are out of date; first differing lines:\n${diff.slice(0, 5).join('\n')}`);
});

test('every page under docs/ is linked from the README', () => {
  assert.ok(pages.length > 0, 'docs/ has pages');
  const unlinked = pages.filter((name) => !readme.includes(`](docs/${name})`));
  assert.equal(unlinked, []);
});

/** Relative link targets of a Markdown text (anchors dropped). */
const relativeLinks = (text: string) => [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z]+:/i.test(href));

test('every relative link in the README and the docs points at a file that exists', () => {
  const links = relativeLinks(readme);
  assert.ok(links.length > 0, 'the README has relative links');
  const broken = links.filter((href) => !existsSync(join(root, href)));
  for (const page of pages) broken.push(...relativeLinks(readFileSync(join(root, 'docs', page), 'utf8')).filter((href) => !existsSync(join(root, 'docs', href))).map((href) => `docs/${page}: ${href}`));
  assert.equal(broken, []);
});

test('the README is a front door: under 250 lines', () => {
  const lines = readme.split('\n').length;
  assert.ok(lines < 250, `README.md has ${lines} lines`);
});

test.run();
