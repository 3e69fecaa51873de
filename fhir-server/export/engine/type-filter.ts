/**
 * `_typeFilter` support: `Type?param=value[&param=value...]` with token search
 * parameters the engine can evaluate on the resource JSON itself — `_id`,
 * `status`, `gender`, `code`, `category` — with `system|code`, `|code`, `code`
 * and comma-separated alternatives. Criteria within one filter must all hold;
 * several filters of one type are alternatives. Anything else is unsupported:
 * the front door decides (lenient: note it; strict: refuse) before kick-off.
 */
import { isResourceType } from '../../fhir/resource-types.ts';
import type { FhirResource } from '../../fhir/types.ts';

/** One `param=value` criterion: a token match on the element(s) at `path`. */
interface Criterion {
  path: string;
  kind: 'code' | 'concept' | 'id';
  alternatives: { system?: string; code?: string }[];
}

/** A parsed `_typeFilter`. */
export interface TypeFilter {
  resourceType: string;
  criteria: Criterion[];
}

const conceptTypes = ['Observation', 'Condition', 'Procedure', 'DiagnosticReport', 'AllergyIntolerance', 'ServiceRequest', 'CarePlan'];

/** Supported search parameters: element path, how it is matched, and which types have it (undefined = any). */
const parameters: Record<string, { path: string; kind: Criterion['kind']; types?: string[] }> = {
  _id: { path: 'id', kind: 'id' },
  status: { path: 'status', kind: 'code' },
  gender: { path: 'gender', kind: 'code', types: ['Patient', 'Practitioner', 'RelatedPerson', 'Person'] },
  code: { path: 'code', kind: 'concept', types: conceptTypes },
  category: { path: 'category', kind: 'concept', types: conceptTypes },
};

function token(value: string): { system?: string; code?: string } {
  const bar = value.indexOf('|');
  if (bar < 0) return { code: value };
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  return { system, ...(code ? { code } : {}) };
}

/** Parses `text`; `reason` says why it is not supported. */
export function parseTypeFilter(text: string): { filter: TypeFilter } | { reason: string } {
  const question = text.indexOf('?');
  const resourceType = question < 0 ? text : text.slice(0, question);
  if (question < 0 || !isResourceType(resourceType)) return { reason: `'${text}' is not of the form Type?param=value` };
  const criteria: Criterion[] = [];
  for (const [name, value] of new URLSearchParams(text.slice(question + 1))) {
    const parameter = parameters[name];
    if (!parameter || (parameter.types && !parameter.types.includes(resourceType))) return { reason: `search parameter '${name}' of ${resourceType} is not supported in _typeFilter` };
    if (!value) return { reason: `search parameter '${name}' has no value` };
    criteria.push({ path: parameter.path, kind: parameter.kind, alternatives: value.split(',').map(token) });
  }
  if (criteria.length === 0) return { reason: `'${text}' has no criteria` };
  return { filter: { resourceType, criteria } };
}

/** Whether the engine can apply `text` as a `_typeFilter`. */
export function isTypeFilterSupported(text: string): boolean {
  return 'filter' in parseTypeFilter(text);
}

function codings(value: unknown, kind: Criterion['kind']): { system?: string; code?: string }[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  if (kind !== 'concept') return list.filter((v): v is string => typeof v === 'string').map((code) => ({ code }));
  return list.flatMap((concept) => {
    const coding = (concept as { coding?: unknown })?.coding;
    return Array.isArray(coding) ? (coding as { system?: string; code?: string }[]) : [];
  });
}

function holds(resource: FhirResource, criterion: Criterion): boolean {
  const found = codings(resource[criterion.path], criterion.kind);
  return criterion.alternatives.some((want) =>
    found.some((have) => (want.code === undefined || have.code === want.code) && (want.system === undefined || (want.system === '' ? have.system === undefined : have.system === want.system))),
  );
}

/** True when `resource` satisfies `filter`. */
export function matchesTypeFilter(resource: FhirResource, filter: TypeFilter): boolean {
  return filter.resourceType === resource.resourceType && filter.criteria.every((criterion) => holds(resource, criterion));
}
