/**
 * Service boundaries: the routing server and the fhir-server import only their
 * own folder, `common/` and `gen/`; `common/` imports only `common/` and `gen/`.
 * Every module specifier is read from the syntax tree (static and dynamic imports,
 * re-exports, and `new URL('…', import.meta.url)` paths such as worker files), so
 * a reach into another service, `dev/` or `cli/` fails here, in CI.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Top-level folders each guarded folder may import from (besides packages and node: modules). */
const allowed: Record<string, readonly string[]> = {
  'routing-server': ['routing-server', 'common', 'gen'],
  'fhir-server': ['fhir-server', 'common', 'gen'],
  common: ['common', 'gen'],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Every module specifier `file` names: imports, re-exports, dynamic imports, `new URL(path, import.meta.url)`. */
export function specifiersOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    } else if (
      ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL' &&
      node.arguments?.length === 2 && ts.isStringLiteralLike(node.arguments[0]!) && node.arguments[1]!.getText(source) === 'import.meta.url'
    ) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The imports of `folder` that leave its allowed folders, as "file → specifier". */
function violations(folder: string): string[] {
  const bad: string[] = [];
  for (const file of sourceFiles(join(root, folder))) {
    for (const specifier of specifiersOf(file)) {
      if (!specifier.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), specifier));
      const top = target.split(sep)[0]!;
      if (target.startsWith('..') || !allowed[folder]!.includes(top)) bad.push(`${relative(root, file)} → ${specifier}`);
    }
  }
  return bad;
}

test('the checker sees every kind of module reference', () => {
  const text = [
    "import { a } from '../../dev/certs.ts';",
    "import type { B } from '../routing-server/b.ts';",
    "export { c } from '../cli/c.ts';",
    "const d = await import('../bench/d.ts');",
    "type E = import('../test/e.ts').E;",
    "const f = new URL('../dev/f.js', import.meta.url);",
  ].join('\n');
  assert.equal(specifiersOf('x.ts', text), ['../../dev/certs.ts', '../routing-server/b.ts', '../cli/c.ts', '../bench/d.ts', '../test/e.ts', '../dev/f.js']);
});

for (const folder of Object.keys(allowed)) {
  test(`${folder}/ imports only ${allowed[folder]!.join(', ')}`, () => {
    assert.ok(sourceFiles(join(root, folder)).length > 0, `${folder}/ has source files`);
    assert.equal(violations(folder), []);
  });
}

test.run();
