/**
 * A parsed FHIR search: the typed form between the URL and the store. Each
 * condition is one URL parameter (repeated parameters are several conditions,
 * all of which must hold); its values are alternatives (the comma, any of which
 * may hold). sql.ts turns conditions into Cosmos SQL; nothing else does.
 */

/** Prefixes of ordered values (number, date, quantity). */
export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

/** A token alternative: `[system]|[code]`, `|[code]` (no system), `[system]|`, `[code]`, or text (`:text`). */
export type TokenValue = { system?: string; noSystem?: true; code?: string } | { text: string };

/** A date alternative: a prefix and the range of epoch ms the value stands for (inclusive). */
export interface DateValue {
  /** Comparison. */
  prefix: Prefix;
  /** First ms of the value's range. */
  start: number;
  /** Last ms of the value's range. */
  end: number;
}

/** A number alternative: the value and the range its significant digits stand for (`[low, high)`). */
export interface NumberValue {
  /** Comparison. */
  prefix: Prefix;
  /** The number as given. */
  value: number;
  /** Low end of the implied range (inclusive). */
  low: number;
  /** High end of the implied range (exclusive). */
  high: number;
}

/** A quantity alternative: a number with an optional system and code (`code` alone also matches the unit). */
export interface QuantityValue extends NumberValue {
  /** Unit system. */
  system?: string;
  /** Unit code (or unit text when no system is given). */
  code?: string;
}

/** One parameter's criterion. */
export type Condition =
  | { kind: 'token'; code: string; negated: boolean; values: TokenValue[] }
  | { kind: 'string'; code: string; match: 'start' | 'exact' | 'contains'; values: string[] }
  /** Each alternative lists the stored forms it matches (relative, absolute, per target type). */
  | { kind: 'reference'; code: string; values: string[] }
  | { kind: 'uri'; code: string; values: string[] }
  | { kind: 'date'; code: string; values: DateValue[] }
  | { kind: 'number'; code: string; values: NumberValue[] }
  | { kind: 'quantity'; code: string; values: QuantityValue[] }
  | { kind: 'missing'; code: string; missing: boolean }
  | { kind: 'id'; negated: boolean; values: string[] }
  | { kind: 'lastUpdated'; values: DateValue[] };

/** `_include` / `_revinclude`: the references of `sourceType`'s parameter `code` (to `targetType` only, when given). */
export interface IncludeSpec {
  /** Type holding the references. */
  sourceType: string;
  /** Its reference parameter. */
  code: string;
  /** Only references to this type. */
  targetType?: string;
}

/** The order of results: a sort key (`_id`, `_lastUpdated` or a date parameter). */
export interface SortSpec {
  /** Parameter code. */
  code: string;
  /** Descending when true. */
  descending: boolean;
}

/** A parameter the search leaves out, and why. */
export interface Unsupported {
  /** The parameter as written in the request (with its modifier). */
  name: string;
  /** Why it is not applied. */
  reason: string;
}

/** A search of one resource type, ready for the store. */
export interface ParsedSearch {
  /** Resource type searched. */
  resourceType: string;
  /** Criteria, all of which must hold. */
  conditions: Condition[];
  /** Result order (default: by id). */
  sort: SortSpec;
  /** Page size. */
  count: number;
  /** Only the number of matches (`_summary=count`, `_count=0`). */
  countOnly: boolean;
  /** `_total` as asked for (undefined: not asked; the total is given when it is known anyway). */
  total?: 'none' | 'estimate' | 'accurate';
  /** `_elements`: top-level elements to keep in matches. */
  elements?: string[];
  /** `_include`s. */
  include: IncludeSpec[];
  /** `_revinclude`s. */
  revinclude: IncludeSpec[];
  /** Continuation token of a later page. */
  cursor?: string;
  /** The parameters applied, in order and as normalised (what the `self` link shows). */
  applied: [string, string][];
  /** Parameters left out, with why. */
  unsupported: Unsupported[];
}
