/**
 * Compiling a SearchParameter's FHIRPath expression for one resource type, once.
 *
 * R4 expressions are unions over many types (`AllergyIntolerance.code | … |
 * Observation.code`); evaluating all of them on every resource costs milliseconds.
 * Here the expression is parsed once (`@medplum/core`'s FHIRPath parser), only the
 * branches rooted at the type (or at `Resource`/`DomainResource`, or relative ones)
 * are kept, and each kept branch made of the forms the R4 definitions use — paths,
 * choice types (`value as Quantity`, `.as(Age)`, `.ofType(T)`), `where(resolve() is T)`,
 * `where(field = 'literal')`, `[n]` — becomes a plain walk over the JSON with the
 * element types looked up in the StructureDefinitions at compile time. A branch of
 * any other form makes the whole parameter fall back to `@medplum/core`'s FHIRPath
 * evaluator over the kept branches only.
 */
import {
  AsAtom,
  DotAtom,
  EqualsAtom,
  evalFhirPathTyped,
  FhirPathAtom,
  FunctionAtom,
  getElementDefinition,
  IndexerAtom,
  InfixOperatorAtom,
  IsAtom,
  LiteralAtom,
  parseFhirPath,
  SymbolAtom,
  toTypedValue,
  UnionAtom,
} from '@medplum/core';
import type { Atom, TypedValue } from '@medplum/core';
import { r4Definitions } from '../fhir/definitions.ts';
import type { FhirResource } from '../fhir/types.ts';

/** Extracts a parameter's values (FHIR-typed) from a resource of the type it was compiled for. */
export interface Extractor {
  /** `path`: compiled walk; `fhirpath`: FHIRPath evaluation of the type's branches. */
  readonly kind: 'path' | 'fhirpath';
  /** The kept branches, as FHIRPath text. */
  readonly expression: string;
  /** The values at the expression, each with its FHIR type. */
  extract(resource: FhirResource): TypedValue[];
}

type Op =
  | { op: 'prop'; name: string }
  | { op: 'as'; type: string }
  | { op: 'resolveIs'; type: string }
  | { op: 'equals'; field: string; value: string }
  | { op: 'index'; n: number };

type Step = (nodes: TypedValue[]) => TypedValue[];

/** A form the compiler does not handle (the parameter falls back to FHIRPath evaluation). */
class NotCompilable extends Error {}

const rootTypes = new Set(['Resource', 'DomainResource']);

function branchesOf(atom: Atom, out: Atom[] = []): Atom[] {
  if (atom instanceof UnionAtom) {
    branchesOf(atom.left, out);
    branchesOf(atom.right, out);
  } else out.push(atom);
  return out;
}

function rootSymbol(atom: Atom): SymbolAtom | undefined {
  let at: Atom = atom;
  for (;;) {
    if (at instanceof SymbolAtom) return at;
    // Paths, `as`, indexers and operators (`Patient.deceased.exists() and …`) start at their left operand.
    if (at instanceof IndexerAtom || at instanceof InfixOperatorAtom) at = at.left;
    else return undefined;
  }
}

function flatten(atom: Atom): Op[] {
  if (atom instanceof SymbolAtom) return [{ op: 'prop', name: atom.name }];
  if (atom instanceof DotAtom) return [...flatten(atom.left), ...flatten(atom.right)];
  if (atom instanceof AsAtom && atom.right instanceof SymbolAtom) return [...flatten(atom.left), { op: 'as', type: atom.right.name }];
  if (atom instanceof IndexerAtom && atom.expr instanceof LiteralAtom && typeof atom.expr.value.value === 'number') {
    return [...flatten(atom.left), { op: 'index', n: atom.expr.value.value }];
  }
  if (atom instanceof FunctionAtom) {
    const [arg] = atom.args;
    if ((atom.name === 'as' || atom.name === 'ofType') && atom.args.length === 1 && arg instanceof SymbolAtom) return [{ op: 'as', type: arg.name }];
    if (atom.name === 'where' && atom.args.length === 1) {
      if (arg instanceof IsAtom && arg.left instanceof FunctionAtom && arg.left.name === 'resolve' && arg.right instanceof SymbolAtom) {
        return [{ op: 'resolveIs', type: arg.right.name }];
      }
      if (arg instanceof EqualsAtom && arg.left instanceof SymbolAtom && arg.right instanceof LiteralAtom && typeof arg.right.value.value === 'string') {
        return [{ op: 'equals', field: arg.left.name, value: arg.right.value.value }];
      }
    }
  }
  throw new NotCompilable(atom.toString());
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** The resource type a Reference value points to (relative, absolute or conditional), as `resolve()` would see it. */
export function referencedType(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { reference, type } = value as { reference?: unknown; type?: unknown };
  if (typeof reference !== 'string') return typeof type === 'string' ? type : undefined;
  const question = reference.indexOf('?');
  if (question > 0) return reference.slice(0, question);
  const parts = reference.replace(/\/_history\/[^/]+$/, '').split('/');
  return parts.length >= 2 ? parts[parts.length - 2] : undefined;
}

// A property step: for each input type, the JSON keys to read and their element types (choice elements expand to one key per type).
function propStep(types: Set<string>, name: string): { step: Step; types: Set<string> } {
  const fields = new Map<string, { key: string; type: string }[]>();
  const next = new Set<string>();
  for (const type of types) {
    const element = getElementDefinition(type, name);
    if (!element) continue;
    const choice = element.path.endsWith('[x]');
    const list = element.type.map((t) => ({ key: choice ? name + capitalize(t.code) : name, type: t.code }));
    // A non-choice element with several types (rare) keeps one key; the first type names it.
    fields.set(type, choice ? list : list.slice(0, 1));
    for (const field of fields.get(type)!) next.add(field.type);
  }
  if (next.size === 0) throw new NotCompilable(`no element '${name}' in ${[...types].join(', ')}`);
  const step: Step = (nodes) => {
    const out: TypedValue[] = [];
    for (const node of nodes) {
      const list = fields.get(node.type);
      if (!list || typeof node.value !== 'object' || node.value === null) continue;
      for (const { key, type } of list) {
        const value = (node.value as Record<string, unknown>)[key];
        if (value === undefined || value === null) continue;
        if (Array.isArray(value)) {
          for (const item of value) if (item !== undefined && item !== null) out.push({ type, value: item });
        } else out.push({ type, value });
      }
    }
    return out;
  };
  return { step, types: next };
}

function compileBranch(resourceType: string, ops: Op[]): Step[] {
  let types = new Set([resourceType]);
  const steps: Step[] = [];
  for (const op of ops) {
    switch (op.op) {
      case 'prop': {
        const compiled = propStep(types, op.name);
        steps.push(compiled.step);
        types = compiled.types;
        break;
      }
      case 'as': {
        if (!types.has(op.type)) throw new NotCompilable(`'as ${op.type}' on ${[...types].join(', ')}`);
        steps.push((nodes) => nodes.filter((node) => node.type === op.type));
        types = new Set([op.type]);
        break;
      }
      case 'resolveIs':
        steps.push((nodes) => nodes.filter((node) => referencedType(node.value) === op.type));
        break;
      case 'equals':
        steps.push((nodes) => nodes.filter((node) => (node.value as Record<string, unknown>)?.[op.field] === op.value));
        break;
      case 'index':
        steps.push((nodes) => (op.n < nodes.length ? [nodes[op.n]!] : []));
        break;
    }
  }
  return steps;
}

function runSteps(resourceType: string, steps: Step[], resource: FhirResource): TypedValue[] {
  let nodes: TypedValue[] = [{ type: resourceType, value: resource }];
  for (const step of steps) {
    nodes = step(nodes);
    if (nodes.length === 0) break;
  }
  return nodes;
}

/**
 * Compiles `expression` for resources of `resourceType`; undefined when no branch of
 * the expression applies to the type.
 */
export function compileParameter(resourceType: string, expression: string): Extractor | undefined {
  const resourceTypes = r4Definitions().resourceTypes;
  // Parsed afresh: the kept branches' root symbols are renamed to the type below.
  const kept = branchesOf(parseFhirPath(expression).child).filter((branch) => {
    const root = rootSymbol(branch);
    return root !== undefined && (root.name === resourceType || rootTypes.has(root.name) || !resourceTypes.includes(root.name));
  });
  if (kept.length === 0) return undefined;
  const text = kept.map((branch) => branch.toString()).join(' | ');
  try {
    const branches = kept.map((branch) => {
      const ops = flatten(branch);
      const root = rootSymbol(branch)!;
      // `Observation.code` starts at the resource; a relative branch (`name`) starts with its first element.
      return compileBranch(resourceType, root.name === resourceType || rootTypes.has(root.name) ? ops.slice(1) : ops);
    });
    const extract =
      branches.length === 1
        ? (resource: FhirResource) => runSteps(resourceType, branches[0]!, resource)
        : (resource: FhirResource) => branches.flatMap((steps) => runSteps(resourceType, steps, resource));
    return { kind: 'path', expression: text, extract };
  } catch (error) {
    if (!(error instanceof NotCompilable)) throw error;
  }
  for (const branch of kept) {
    const root = rootSymbol(branch)!;
    // `Resource.meta.tag` evaluated on a Patient must start at the Patient.
    if (rootTypes.has(root.name)) (root as { name: string }).name = resourceType;
  }
  const union = kept.reduce((left, right) => new UnionAtom(left, right));
  const atom = new FhirPathAtom(text, union);
  return { kind: 'fhirpath', expression: text, extract: (resource) => evalFhirPathTyped(atom, [toTypedValue(resource)]) };
}
