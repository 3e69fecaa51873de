/**
 * The one place where a parsed search becomes Cosmos SQL. Conditions are
 * clauses over the document's search index (`<alias>.idx.p[code]`, an array of
 * entries per parameter, see index-values.ts) — an EXISTS over the array for
 * each parameter, its alternatives OR-ed inside — and over the document's own
 * `id` and `lastUpdatedMs`. Every query is scoped by the store's `liveScope`
 * (partition keys first), which this module never builds itself.
 */
import type { SqlParameter, SqlQuerySpec } from '@azure/cosmos';
import { liveScope } from '../store/search-scope.ts';
import { normalizeText } from './index-values.ts';
import type { Condition, DateValue, NumberValue, ParsedSearch, TokenValue } from './query.ts';

/** WHERE clauses (joined with AND) and their parameters. */
export interface SqlWhere {
  /** Clauses over the document alias given. */
  clauses: string[];
  /** Their parameters. */
  parameters: SqlParameter[];
}

/** Names parameters `@<prefix><n>` and collects them. */
class Params {
  readonly list: SqlParameter[] = [];
  readonly #prefix: string;
  constructor(prefix: string) {
    this.#prefix = prefix;
  }
  add(value: SqlParameter['value']): string {
    const name = `@${this.#prefix}${this.list.length}`;
    this.list.push({ name, value });
    return name;
  }
}

const codePattern = /^[A-Za-z0-9_-]+$/;

/** The index array of parameter `code` in the document `alias`. */
export function indexPath(alias: string, code: string): string {
  if (!codePattern.test(code)) throw new Error(`not a search parameter code: ${code}`);
  return `${alias}.idx.p["${code}"]`;
}

/** The sort key `key` (`code` or `-code`) in the document `alias`. */
export function sortKeyPath(alias: string, key: string): string {
  if (!codePattern.test(key)) throw new Error(`not a sort key: ${key}`);
  return `${alias}.idx.o["${key}"]`;
}

/** The resource id of a version document (the current one's own id is the same; earlier versions are `<id>@<version>`). */
export function idPath(alias: string): string {
  return `${alias}.rid`;
}

// Parentheses only where an OR meets an AND: the stand-in's SQL parser backtracks, and its time grows
// steeply with nesting (a quantity search with two alternatives took 11 s with a pair around every part).
const group = (expression: string): string => (expression.includes(' OR ') ? `(${expression})` : expression);

const any = (path: string, variable: string, conditions: string[]): string => `EXISTS(SELECT VALUE ${variable} FROM ${variable} IN ${path} WHERE ${conditions.join(' OR ')})`;

function tokenMatch(p: Params, value: TokenValue): string {
  if ('text' in value) return `STARTSWITH(t.x, ${p.add(value.text)})`;
  const parts: string[] = [];
  if (value.system !== undefined) parts.push(`t.s = ${p.add(value.system)}`);
  if (value.noSystem) parts.push('NOT IS_DEFINED(t.s)');
  if (value.code !== undefined) parts.push(`t.c = ${p.add(value.code)}`);
  return parts.join(' AND ');
}

// FHIR R4 prefixes over a range [s, e] of the resource and [start, end] of the search value.
function dateMatch(p: Params, value: DateValue, s: string, e: string): string {
  const start = p.add(value.start);
  const end = p.add(value.end);
  const within = `${s} >= ${start} AND ${e} <= ${end}`;
  switch (value.prefix) {
    case 'eq':
      return within;
    case 'ne':
      return `${s} < ${start} OR ${e} > ${end}`;
    case 'gt':
      return `${e} > ${end}`;
    case 'lt':
      return `${s} < ${start}`;
    case 'ge':
      return `${e} > ${end} OR ${within}`;
    case 'le':
      return `${s} < ${start} OR ${within}`;
    case 'sa':
      return `${s} > ${end}`;
    case 'eb':
      return `${e} < ${start}`;
    case 'ap':
      return `${s} <= ${end} AND ${e} >= ${start}`;
  }
}

// Over a resource range [l, h]: eq and ne use the range the search value's digits imply, ap its ±10 % band.
function numberMatch(p: Params, value: NumberValue, l: string, h: string): string {
  switch (value.prefix) {
    case 'eq':
      return `${l} >= ${p.add(value.low)} AND ${h} < ${p.add(value.high)}`;
    case 'ne':
      return `${l} < ${p.add(value.low)} OR ${h} >= ${p.add(value.high)}`;
    case 'ap':
      return `${l} < ${p.add(value.high)} AND ${h} >= ${p.add(value.low)}`;
    case 'gt':
      return `${h} > ${p.add(value.value)}`;
    case 'lt':
      return `${l} < ${p.add(value.value)}`;
    case 'ge':
      return `${h} >= ${p.add(value.value)}`;
    case 'le':
      return `${l} <= ${p.add(value.value)}`;
    case 'sa':
      return `${l} > ${p.add(value.value)}`;
    case 'eb':
      return `${h} < ${p.add(value.value)}`;
  }
}

function clauseOf(p: Params, alias: string, condition: Condition): string {
  switch (condition.kind) {
    case 'id': {
      const clause = `${idPath(alias)} IN (${condition.values.map((v) => p.add(v)).join(', ')})`;
      return condition.negated ? `NOT (${clause})` : clause;
    }
    case 'lastUpdated':
      return condition.values.map((v) => dateMatch(p, v, `${alias}.lastUpdatedMs`, `${alias}.lastUpdatedMs`)).join(' OR ');
    case 'missing':
      return condition.missing ? `NOT IS_DEFINED(${indexPath(alias, condition.code)})` : `IS_DEFINED(${indexPath(alias, condition.code)})`;
    case 'token': {
      const codesOnly = condition.values.every((v) => !('text' in v) && v.system === undefined && !v.noSystem);
      const matches = codesOnly
        ? [`t.c IN (${condition.values.map((v) => p.add((v as { code: string }).code)).join(', ')})`]
        : condition.values.map((v) => tokenMatch(p, v));
      const clause = any(indexPath(alias, condition.code), 't', matches);
      return condition.negated ? `NOT ${clause}` : clause;
    }
    case 'string': {
      const match = (v: string) =>
        condition.match === 'exact' ? `t.e = ${p.add(v)}` : condition.match === 'contains' ? `CONTAINS(t.n, ${p.add(normalizeText(v))})` : `STARTSWITH(t.n, ${p.add(normalizeText(v))})`;
      return any(indexPath(alias, condition.code), 't', condition.values.map(match));
    }
    case 'reference':
    case 'uri':
      return any(indexPath(alias, condition.code), 'r', [`r IN (${condition.values.map((v) => p.add(v)).join(', ')})`]);
    case 'date':
      return any(indexPath(alias, condition.code), 't', condition.values.map((v) => dateMatch(p, v, 't.s', 't.e')));
    case 'number':
      return any(indexPath(alias, condition.code), 't', condition.values.map((v) => numberMatch(p, v, 't.l', 't.h')));
    case 'quantity':
      return any(
        indexPath(alias, condition.code),
        't',
        condition.values.map((v) => {
          const parts = [numberMatch(p, v, 't.v', 't.v')];
          if (v.system !== undefined) parts.push(`t.s = ${p.add(v.system)}`);
          if (v.code !== undefined) parts.push(v.system !== undefined ? `t.c = ${p.add(v.code)}` : `(t.c = ${p.add(v.code)} OR t.u = ${p.add(v.code)})`);
          return parts.map(group).join(' AND ');
        }),
      );
  }
}

/**
 * The WHERE clauses of `conditions` over the document `alias` (parameters named
 * `@<paramPrefix><n>`): what a search and an export's `_typeFilter` both select.
 */
export function whereOf(conditions: readonly Condition[], alias = 'c', paramPrefix = 'q'): SqlWhere {
  const p = new Params(paramPrefix);
  const clauses = conditions.map((condition) => group(clauseOf(p, alias, condition)));
  return { clauses, parameters: p.list };
}

/** The store's scope for a search that started at `asOfMs`: the versions current then, so that pages neither repeat nor skip while others write. */
export function scopeOf(resourceType: string, alias: string, asOfMs: number): SqlWhere {
  return liveScope(resourceType, alias, { asOfMs });
}

/** Where a page starts: after `after` in phase `phase` of the order (see {@link pageQuery}). */
export interface PagePosition {
  /** 1: resources with a sort key, in key order; 2: resources without one, by id. */
  phase: 1 | 2;
  /** Sort key (phase 1) or id (phase 2, and the `_id` order) of the last resource returned. */
  after?: string;
}

/** What a page query returns per row. */
export interface PageRow {
  /** Resource id. */
  id: string;
  /** The resource. */
  resource: Record<string, unknown>;
  /** Its sort key (phase 1 of a sorted search). */
  k?: string;
}

/**
 * The query of one page of `search` from `position`, at most `top` rows. The order is
 * `_id` (the default: `ORDER BY c.rid`), or a sort key (`_lastUpdated`, a date
 * parameter): phase 1 reads the resources that have the key, `ORDER BY` the key (one
 * string ending in the id, so the order is total); phase 2 the resources without it,
 * by id. Keyset positions, not Cosmos continuation tokens: a position made by one
 * process resumes in another, and concurrent writes neither repeat nor skip a
 * resource whose sort value did not change.
 */
export function pageQuery(search: ParsedSearch, position: PagePosition, top: number, asOfMs: number): SqlQuerySpec {
  const scope = scopeOf(search.resourceType, 'c', asOfMs);
  const where = whereOf(search.conditions);
  const clauses = [...scope.clauses, ...where.clauses];
  const parameters = [...scope.parameters, ...where.parameters, { name: '@top', value: top }];
  const { code, descending } = search.sort;
  let key = idPath('c');
  let direction = descending ? 'DESC' : 'ASC';
  if (code !== '_id') {
    const sortKey = sortKeyPath('c', descending ? `-${code}` : code);
    if (position.phase === 1) {
      key = sortKey;
      clauses.push(`IS_DEFINED(${sortKey})`);
    } else {
      direction = 'ASC';
      clauses.push(`NOT IS_DEFINED(${sortKey})`);
    }
  }
  if (position.after !== undefined) {
    clauses.push(`${key} ${direction === 'DESC' ? '<' : '>'} @after`);
    parameters.push({ name: '@after', value: position.after });
  }
  const select = key === idPath('c') ? 'c.rid AS id, c.resource' : `c.rid AS id, c.resource, ${key} AS k`;
  return { query: `SELECT TOP @top ${select} FROM c WHERE ${clauses.join(' AND ')} ORDER BY ${key} ${direction}`, parameters };
}

/** The count query of `search`. */
export function countQuery(search: ParsedSearch, asOfMs: number): SqlQuerySpec {
  const scope = scopeOf(search.resourceType, 'c', asOfMs);
  const where = whereOf(search.conditions);
  return { query: `SELECT VALUE COUNT(1) FROM c WHERE ${[...scope.clauses, ...where.clauses].join(' AND ')}`, parameters: [...scope.parameters, ...where.parameters] };
}

/** Live resources of `resourceType` with the given ids (an `_include`). */
export function byIdsQuery(resourceType: string, ids: readonly string[], asOfMs: number): SqlQuerySpec {
  const scope = scopeOf(resourceType, 'c', asOfMs);
  return {
    query: `SELECT c.rid AS id, c.resource FROM c WHERE ${[...scope.clauses, `ARRAY_CONTAINS(@ids, ${idPath('c')})`].join(' AND ')}`,
    parameters: [...scope.parameters, { name: '@ids', value: [...ids] }],
  };
}

/** Live resources of `resourceType` whose parameter `code` refers to one of `references` (a `_revinclude`), at most `top`. */
export function referringQuery(resourceType: string, code: string, references: readonly string[], top: number, asOfMs: number): SqlQuerySpec {
  const scope = scopeOf(resourceType, 'c', asOfMs);
  const where = whereOf([{ kind: 'reference', code, values: [...references] }]);
  return {
    query: `SELECT TOP @top c.rid AS id, c.resource FROM c WHERE ${[...scope.clauses, ...where.clauses].join(' AND ')} ORDER BY ${idPath('c')}`,
    parameters: [...scope.parameters, ...where.parameters, { name: '@top', value: top }],
  };
}
