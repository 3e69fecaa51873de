#!/usr/bin/env node
/**
 * Compiles the checkout into dist/ (tsc with tsconfig.build.json), then copies
 * what tsc does not emit but the code reads at run time: the JavaScript worker
 * files (started with no node flags), the benchmark's live-heap probe and the
 * reflection descriptor set. Plain JavaScript, so it runs before anything is built.
 *
 *   node scripts/build.mjs           build now (npm run build)
 *   node scripts/build.mjs --ensure  build only when dist/ is missing or older than a source
 *
 * A lock folder keeps two builds (two test files starting `npm start`) from writing dist/ at once.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const stamp = join(dist, '.built');
const lock = join(root, '.build-lock');

/** Folders compiled into dist/ (tsconfig.build.json's include) and the files whose change makes dist/ stale. */
const sourceDirs = ['common', 'gen', 'routing-server', 'fhir-server', 'cli', 'dev', 'bench', 'scripts'];
const configFiles = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
/** Files tsc does not emit that compiled code reads next to itself. */
const assets = (file) => /\.(js|mjs|binpb)$/.test(file) && !file.startsWith('scripts/');

function walk(dir, visit) {
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, name.name);
    if (name.isDirectory()) walk(full, visit);
    else visit(full);
  }
}

/** Newest modification time of a source or build setting. */
function newestSource() {
  let newest = 0;
  for (const file of configFiles) newest = Math.max(newest, statSync(join(root, file)).mtimeMs);
  for (const dir of sourceDirs) walk(join(root, dir), (file) => (newest = Math.max(newest, statSync(file).mtimeMs)));
  return newest;
}

function isFresh() {
  return existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource();
}

function build() {
  const started = Date.now();
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (run.status !== 0) {
    process.stderr.write('build failed: tsc reported the errors above\n');
    process.exit(run.status ?? 1);
  }
  for (const dir of sourceDirs) {
    walk(join(root, dir), (file) => {
      const rel = relative(root, file);
      if (!assets(rel)) return;
      mkdirSync(dirname(join(dist, rel)), { recursive: true });
      copyFileSync(file, join(dist, rel));
    });
  }
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  process.stderr.write(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

/** Takes the lock folder (waiting for another build, at most 3 minutes; a lock older than that is stale). */
function withLock(action) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > 180_000 || Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
  try {
    action();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds dist/ when it is missing or older than a source (cheap when fresh: one stat per source file). */
export function ensureBuilt() {
  if (isFresh()) return;
  withLock(() => {
    if (isFresh()) return;
    process.stderr.write('dist/ is missing or older than the sources: building it (npm run build)\n');
    build();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--ensure')) ensureBuilt();
  else withLock(build);
}
