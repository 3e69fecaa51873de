/**
 * From URL parameters to a {@link ParsedSearch}: every parameter is either
 * applied (a condition or a result setting, and listed in `applied`) or left out
 * with the reason (`unsupported`); the caller decides what a left-out parameter
 * means (strict: 400, lenient: ignored, as the FHIR specification says). Values
 * that cannot be read are errors either way.
 */
import { FhirError } from '../fhir/errors.ts';
import { r4Definitions } from '../fhir/definitions.ts';
import { parametersOf } from './parameters.ts';
import type { TypeParameter } from './parameters.ts';
import { parseDateValue, parseNumberValue, parseQuantityValue, parseTokenValue, referenceForms, splitEscaped, unescapeValue } from './parse-values.ts';
import type { Condition, IncludeSpec, ParsedSearch } from './query.ts';
import { sortCodesOf } from './search-index.ts';

/** Limits and context of parsing. */
export interface ParseOptions {
  /** This server's FHIR base URL (absolute references to it match relative ones). */
  baseUrl?: string;
  /** Page size without `_count` (default 20). */
  defaultCount?: number;
  /** Largest page (default 1000; a larger `_count` is lowered to it). */
  maxCount?: number;
  /** "Now" for `ap` dates (default the clock). */
  nowMs?: number;
}

/** Defaults of {@link ParseOptions}. */
export const searchDefaults = Object.freeze({ defaultCount: 20, maxCount: 1000 });

const invalid = (name: string, why: string): FhirError => new FhirError('invalid', `Search parameter '${name}': ${why}`, { expression: name });

/** Parameters about the format of the answer, which change nothing in the result: accepted and not echoed. */
const formatParameters = new Set(['_format', '_pretty']);

/** Result parameters this server does not offer. */
const unofferedResultParameters: Record<string, string> = {
  _contained: '_contained is not supported',
  _containedType: '_containedType is not supported',
  _has: 'reverse chaining (_has) is not supported',
  _type: '_type applies to system-level search, which is not supported',
  _filter: '_filter is not supported',
  _list: '_list is not supported',
  _query: 'named queries (_query) are not supported',
  _text: '_text (narrative search) is not supported',
  _content: '_content (full-text search) is not supported',
};

interface State {
  search: ParsedSearch;
  options: Required<Omit<ParseOptions, 'baseUrl'>> & { baseUrl?: string };
}

function conditionOf(state: State, name: string, parameter: TypeParameter, modifier: string, raw: string): Condition | string {
  const { search, options } = state;
  const values = splitEscaped(raw, ',');
  if (modifier === 'missing') {
    if (parameter.documentField) return `:missing is not supported on ${parameter.code}, which every resource has`;
    if (raw !== 'true' && raw !== 'false') throw invalid(name, `:missing takes true or false, not '${raw}'`);
    return { kind: 'missing', code: parameter.code, missing: raw === 'true' };
  }
  if (parameter.documentField === 'id') {
    if (modifier !== '' && modifier !== 'not') return `modifier :${modifier} is not supported on _id`;
    return { kind: 'id', negated: modifier === 'not', values: values.map(unescapeValue) };
  }
  if (parameter.documentField === 'lastUpdated') {
    if (modifier !== '') return `modifier :${modifier} is not supported on _lastUpdated`;
    return { kind: 'lastUpdated', values: values.map((v) => parseDateValue(name, v, options.nowMs)) };
  }
  switch (parameter.type) {
    case 'token':
      if (modifier !== '' && modifier !== 'not' && modifier !== 'text') return `modifier :${modifier} is not supported on token parameters (only :not, :text, :missing)`;
      return { kind: 'token', code: parameter.code, negated: modifier === 'not', values: values.map((v) => parseTokenValue(name, v, modifier === 'text')) };
    case 'string':
      if (modifier !== '' && modifier !== 'exact' && modifier !== 'contains') return `modifier :${modifier} is not supported on string parameters (only :exact, :contains, :missing)`;
      return { kind: 'string', code: parameter.code, match: modifier === 'exact' ? 'exact' : modifier === 'contains' ? 'contains' : 'start', values: values.map(unescapeValue) };
    case 'reference': {
      const anyTarget = parameter.targets.length === 0 && r4Definitions().resourceTypes.includes(modifier);
      if (modifier !== '' && !parameter.targets.includes(modifier) && !anyTarget) {
        return modifier === 'identifier' || !/^[A-Z]/.test(modifier)
          ? `modifier :${modifier} is not supported on reference parameters (only :[type], :missing)`
          : `${modifier} is not a target type of ${search.resourceType}.${parameter.code}`;
      }
      const targets = parameter.targets.length > 0 ? parameter.targets : r4Definitions().resourceTypes;
      return { kind: 'reference', code: parameter.code, values: [...new Set(values.flatMap((v) => referenceForms(v, targets, options.baseUrl, modifier || undefined)))] };
    }
    case 'uri':
      if (modifier !== '') return `modifier :${modifier} is not supported on uri parameters (only :missing)`;
      return { kind: 'uri', code: parameter.code, values: values.map(unescapeValue) };
    case 'date':
      if (modifier !== '') return `modifier :${modifier} is not supported on date parameters (only :missing)`;
      return { kind: 'date', code: parameter.code, values: values.map((v) => parseDateValue(name, v, options.nowMs)) };
    case 'number':
      if (modifier !== '') return `modifier :${modifier} is not supported on number parameters (only :missing)`;
      return { kind: 'number', code: parameter.code, values: values.map((v) => parseNumberValue(name, v)) };
    case 'quantity':
      if (modifier !== '') return `modifier :${modifier} is not supported on quantity parameters (only :missing)`;
      return { kind: 'quantity', code: parameter.code, values: values.map((v) => parseQuantityValue(name, v)) };
    default:
      return `${parameter.type} parameters are not supported`;
  }
}

function includeOf(state: State, name: string, value: string, reverse: boolean): IncludeSpec | string {
  const [sourceType = '', code = '', targetType, ...extra] = value.split(':');
  const { resourceType } = state.search;
  if (value === '*' || code === '*') return `wildcard ${name} is not supported`;
  if (extra.length > 0 || !sourceType || !code) throw invalid(name, `'${value}' is not of the form Type:parameter[:targetType]`);
  if (!reverse && sourceType !== resourceType) return `${name}=${value} starts from ${sourceType}, not ${resourceType} (only one level is supported)`;
  const parameter = parametersOf(sourceType).get(code);
  if (!parameter) return `'${code}' is not a search parameter of ${sourceType}`;
  if (parameter.type !== 'reference' || parameter.unsupported) return `${sourceType}.${code} is not a supported reference parameter`;
  if (targetType !== undefined && !parameter.targets.includes(targetType)) return `${targetType} is not a target type of ${sourceType}.${code}`;
  if (reverse && (targetType ?? resourceType) !== resourceType) return `${name}=${value} names ${targetType}, not the searched type ${resourceType}`;
  if (reverse && parameter.targets.length > 0 && !parameter.targets.includes(resourceType)) return `${sourceType}.${code} does not refer to ${resourceType}`;
  return targetType ? { sourceType, code, targetType } : { sourceType, code };
}

// A result parameter given twice: the last one counts, and the self link shows that one.
function setApplied(search: ParsedSearch, name: string, value: string): void {
  search.applied = search.applied.filter(([n]) => n !== name);
  search.applied.push([name, value]);
}

function resultParameter(state: State, name: string, raw: string): string | undefined {
  const { search, options } = state;
  switch (name) {
    case '_count': {
      if (!/^\d+$/.test(raw)) throw invalid(name, `'${raw}' is not a whole number`);
      search.count = Math.min(Number(raw), options.maxCount);
      if (search.count === 0) search.countOnly = true;
      setApplied(search, name, String(search.count));
      return undefined;
    }
    case '_summary':
      if (raw === 'count') search.countOnly = true;
      else if (raw !== 'false') return `_summary=${raw} is not supported (only count and false)`;
      setApplied(search, name, raw);
      return undefined;
    case '_total':
      if (raw !== 'none' && raw !== 'estimate' && raw !== 'accurate') throw invalid(name, `'${raw}' is not none, estimate or accurate`);
      search.total = raw;
      setApplied(search, name, raw);
      return undefined;
    case '_elements': {
      const elements = raw.split(',').map((e) => e.trim());
      if (elements.some((e) => !/^([A-Z][A-Za-z]+\.)?[a-z][A-Za-z0-9]*$/.test(e))) throw invalid(name, `'${raw}' is not a list of element names`);
      search.elements = [...(search.elements ?? []), ...elements];
      search.applied.push([name, elements.join(',')]);
      return undefined;
    }
    case '_sort': {
      const [first = '', ...rest] = raw.split(',').map((s) => s.trim());
      const descending = first.startsWith('-');
      const code = descending ? first.slice(1) : first;
      if (code !== '_id' && !sortCodesOf(search.resourceType).includes(code)) return `sorting by '${code}' is not supported (only _id, _lastUpdated and date parameters)`;
      if (rest.length > 0) return `only one sort key is supported, not '${raw}'`;
      search.sort = { code, descending };
      setApplied(search, name, first);
      return undefined;
    }
    case '_cursor':
      search.cursor = raw;
      return undefined;
    default:
      return unofferedResultParameters[name] ?? `'${name}' is not a search parameter of ${search.resourceType}`;
  }
}

/** Parses the parameters of a search of `resourceType` (an R4 type; the caller checks). */
export function parseSearch(resourceType: string, params: Iterable<[string, string]>, options: ParseOptions = {}): ParsedSearch {
  const state: State = {
    search: { resourceType, conditions: [], sort: { code: '_id', descending: false }, count: 0, countOnly: false, include: [], revinclude: [], applied: [], unsupported: [] },
    options: { defaultCount: options.defaultCount ?? searchDefaults.defaultCount, maxCount: options.maxCount ?? searchDefaults.maxCount, nowMs: options.nowMs ?? Date.now(), baseUrl: options.baseUrl?.replace(/\/+$/, '') },
  };
  const { search } = state;
  search.count = Math.min(state.options.defaultCount, state.options.maxCount);
  const parameters = parametersOf(resourceType);
  for (const [name, raw] of params) {
    const colon = name.indexOf(':');
    const code = colon < 0 ? name : name.slice(0, colon);
    const modifier = colon < 0 ? '' : name.slice(colon + 1);
    let reason: string | undefined;
    if (formatParameters.has(name)) continue;
    if (raw === '') reason = 'it has no value';
    else if (code.includes('.')) reason = 'chained parameters are not supported';
    else if (code === '_include' || code === '_revinclude') {
      if (modifier !== '') reason = `${name} is not supported (one level only)`;
      else {
        const spec = includeOf(state, name, raw, code === '_revinclude');
        if (typeof spec === 'string') reason = spec;
        else {
          (code === '_include' ? search.include : search.revinclude).push(spec);
          search.applied.push([name, raw]);
        }
      }
    } else {
      const parameter = parameters.get(code);
      if (!parameter) reason = code.startsWith('_') ? resultParameter(state, name, raw) : `'${code}' is not a search parameter of ${resourceType}`;
      else if (parameter.unsupported) reason = parameter.unsupported;
      else {
        const condition = conditionOf(state, name, parameter, modifier, raw);
        if (typeof condition === 'string') reason = condition;
        else {
          search.conditions.push(condition);
          search.applied.push([name, raw]);
        }
      }
    }
    if (reason !== undefined) search.unsupported.push({ name, reason });
  }
  return search;
}
