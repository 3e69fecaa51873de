/**
 * The R4 SearchParameters of each resource type, as the specification defines
 * them (`r4Definitions().searchParameters`: the type's own, and those of
 * `Resource` and `DomainResource`), with what this server does with each: index
 * and search it, or not, and why not. Nothing here is typed by hand; `@medplum/core`'s
 * own additions (`_compartment` and the like) are not R4 and are not used.
 */
import type { SearchParameter } from '@medplum/fhirtypes';
import { r4Definitions } from '../fhir/definitions.ts';
import { compileParameter } from './compile.ts';
import type { Extractor } from './compile.ts';

/** R4 search parameter types. */
export type ParameterType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

/** One search parameter of one resource type, and how it is served. */
export interface TypeParameter {
  /** The code used in URLs, e.g. `birthdate`. */
  code: string;
  /** Its R4 type. */
  type: ParameterType;
  /** Canonical URL of the SearchParameter definition. */
  url: string;
  /** Resource types a reference parameter may point to (empty for other types). */
  targets: readonly string[];
  /** How values are extracted (undefined when the parameter is not supported). */
  extractor?: Extractor;
  /** Why the parameter is not supported (undefined when it is). */
  unsupported?: string;
  /** Served from the stored document itself, not from the index (`_id`, `_lastUpdated`). */
  documentField?: 'id' | 'lastUpdated';
}

/** Resource types that are not DomainResources in R4. */
const plainResources = new Set(['Binary', 'Bundle', 'Parameters']);

const byType = new Map<string, ReadonlyMap<string, TypeParameter>>();
let byBase: Map<string, SearchParameter[]> | undefined;

function definitionsByBase(): Map<string, SearchParameter[]> {
  if (byBase) return byBase;
  byBase = new Map();
  for (const sp of r4Definitions().searchParameters) {
    for (const base of sp.base ?? []) {
      const list = byBase.get(base) ?? [];
      list.push(sp);
      byBase.set(base, list);
    }
  }
  return byBase;
}

function describe(resourceType: string, sp: SearchParameter): TypeParameter {
  const type = sp.type as ParameterType;
  const base = { code: sp.code, type, url: sp.url, targets: Object.freeze([...(sp.target ?? [])]) };
  if (sp.code === '_id') return { ...base, documentField: 'id' };
  if (sp.code === '_lastUpdated') return { ...base, documentField: 'lastUpdated' };
  if (type === 'composite') return { ...base, unsupported: 'composite parameters are not supported' };
  if (type === 'special') return { ...base, unsupported: `'${sp.code}' is a special parameter, which is not supported` };
  if (!sp.expression) return { ...base, unsupported: `'${sp.code}' has no FHIRPath expression to index` };
  const extractor = compileParameter(resourceType, sp.expression);
  if (!extractor) return { ...base, unsupported: `the expression of '${sp.code}' has no branch for ${resourceType}` };
  return { ...base, extractor };
}

/** The R4 search parameters of `resourceType` by code (empty for an unknown type); compiled once per type. */
export function parametersOf(resourceType: string): ReadonlyMap<string, TypeParameter> {
  const known = byType.get(resourceType);
  if (known) return known;
  if (!r4Definitions().resourceTypes.includes(resourceType)) return new Map();
  const bases = definitionsByBase();
  const definitions = [...(bases.get('Resource') ?? []), ...(plainResources.has(resourceType) ? [] : (bases.get('DomainResource') ?? [])), ...(bases.get(resourceType) ?? [])];
  const out = new Map<string, TypeParameter>();
  for (const sp of definitions) out.set(sp.code, describe(resourceType, sp));
  byType.set(resourceType, out);
  return out;
}

/** The parameters of `resourceType` this server indexes and searches, by code. */
export function supportedParametersOf(resourceType: string): TypeParameter[] {
  return [...parametersOf(resourceType).values()].filter((p) => p.unsupported === undefined);
}
