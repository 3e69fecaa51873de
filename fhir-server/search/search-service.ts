/**
 * `GET [type]?…` / `POST [type]/_search`: parses the parameters, refuses
 * (strict) or notes (lenient) the ones it leaves out, reads one page by keyset
 * from the store (plus a count and included resources when asked), and answers
 * a `searchset` Bundle with `self` and `next` links.
 */
import { randomUUID } from 'node:crypto';
import { elementsFor, subsetResource } from '../export/engine/elements.ts';
import { FhirError } from '../fhir/errors.ts';
import { operationOutcome } from '../fhir/outcome.ts';
import type { FhirBundle, FhirResource, BundleEntry } from '../fhir/types.ts';
import { checkUrlType } from '../fhir/validate.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { fetchIncluded } from './includes.ts';
import { parseSearch, searchDefaults } from './parse.ts';
import type { ParsedSearch } from './query.ts';
import type { SearchSource } from './search-source.ts';
import { countQuery, pageQuery } from './sql.ts';
import type { PagePosition, PageRow } from './sql.ts';

/** Limits of the search service. */
export interface SearchServiceOptions {
  /** Page size without `_count` (default 20). */
  defaultCount?: number;
  /** Largest page (default 1000). */
  maxCount?: number;
  /** Most resources `_include`/`_revinclude` add to one page (default 1000). */
  maxIncluded?: number;
}

/** Defaults of {@link SearchServiceOptions}. */
export const searchServiceDefaults = Object.freeze({ ...searchDefaults, maxIncluded: 1000 });

/** Per request. */
export interface SearchRequestContext {
  /** This server's FHIR base URL (links, fullUrls). */
  baseUrl: string;
  /** `Prefer: handling=strict`: refuse what would be left out. */
  strict: boolean;
  /** The clock (tests). */
  nowMs?: number;
}

interface Page {
  matches: FhirResource[];
  next?: PagePosition;
}

/** Search over a {@link SearchSource}. */
export class SearchService {
  readonly #source: SearchSource;
  readonly #options: Required<SearchServiceOptions>;

  constructor(source: SearchSource, options: SearchServiceOptions = {}) {
    this.#source = source;
    this.#options = { ...searchServiceDefaults, ...options };
  }

  /** Searches `resourceType` with `params` (query string and form body, in order). */
  async search(resourceType: string, params: [string, string][], context: SearchRequestContext): Promise<FhirBundle> {
    checkUrlType(resourceType);
    const nowMs = context.nowMs ?? Date.now();
    const search = parseSearch(resourceType, params, { baseUrl: context.baseUrl, defaultCount: this.#options.defaultCount, maxCount: this.#options.maxCount, nowMs });
    if (context.strict && search.unsupported.length > 0) {
      const [first] = search.unsupported;
      const list = search.unsupported.map((u) => `'${u.name}': ${u.reason}`).join('; ');
      throw new FhirError('not-supported', `Search parameter ${list} (Prefer: handling=strict)`, { expression: first!.name });
    }
    const cursor = search.cursor === undefined ? undefined : decodeCursor(search.cursor, search.sort);
    const asOfMs = cursor?.asOfMs ?? nowMs;
    const outcome = this.#outcomeEntry(search);
    if (search.countOnly) {
      const total = await this.#count(search, asOfMs);
      return bundleOf(search, context.baseUrl, { total, entries: outcome });
    }
    const counting = search.total === 'accurate' ? this.#count(search, asOfMs) : undefined;
    const page = await this.#page(search, cursor ?? { phase: 1 }, asOfMs);
    const included = await fetchIncluded(this.#source, search, page.matches, context.baseUrl, this.#options.maxIncluded, asOfMs);
    let total = counting ? await counting : undefined;
    if (total === undefined && !cursor && !page.next && search.total !== 'none') total = page.matches.length;
    const kept = search.elements ? elementsFor(search.elements, resourceType) : undefined;
    const entries: BundleEntry[] = [
      ...page.matches.map((resource) => entryOf(context.baseUrl, kept ? subsetResource(resource, kept) : resource, 'match')),
      ...included.resources.map((resource) => entryOf(context.baseUrl, resource, 'include')),
      ...outcome,
    ];
    if (included.cut) {
      entries.push({ resource: operationOutcome('warning', 'too-costly', `_include/_revinclude added the first ${this.#options.maxIncluded} resources only`), search: { mode: 'outcome' } });
    }
    const next = page.next ? encodeCursor(search.sort, page.next, asOfMs) : undefined;
    return bundleOf(search, context.baseUrl, { total, entries, next });
  }

  async #count(search: ParsedSearch, asOfMs: number): Promise<number> {
    const counts = await this.#source.query<number>(countQuery(search, asOfMs), `counting ${search.resourceType}`);
    return counts.reduce((sum, n) => sum + n, 0);
  }

  // One page: count+1 rows tell whether a next page exists; a sorted search runs on into phase 2 when phase 1 ends.
  async #page(search: ParsedSearch, from: PagePosition, asOfMs: number): Promise<Page> {
    const want = search.count + 1;
    const doing = `searching ${search.resourceType}`;
    let rows = await this.#source.query<PageRow>(pageQuery(search, from, want, asOfMs), doing);
    if (search.sort.code !== '_id' && from.phase === 1 && rows.length < want && !everyMatchHasKey(search)) {
      rows = rows.concat(await this.#source.query<PageRow>(pageQuery(search, { phase: 2 }, want - rows.length, asOfMs), doing));
    }
    const matches = rows.slice(0, search.count);
    if (rows.length <= search.count || matches.length === 0) return { matches: matches.map((r) => r.resource as FhirResource) };
    const last = matches[matches.length - 1]!;
    const next: PagePosition = last.k !== undefined ? { phase: 1, after: last.k } : { phase: search.sort.code === '_id' ? 1 : 2, after: last.id };
    return { matches: matches.map((r) => r.resource as FhirResource), next };
  }

  #outcomeEntry(search: ParsedSearch): BundleEntry[] {
    if (search.unsupported.length === 0) return [];
    const outcome = operationOutcome('warning', 'not-supported', '');
    outcome.issue = search.unsupported.map((u) => ({ severity: 'warning', code: 'not-supported', diagnostics: `Search parameter '${u.name}' was ignored: ${u.reason}`, expression: [u.name] }));
    return [{ resource: outcome, search: { mode: 'outcome' } }];
  }
}

// A search with a date condition on its sort parameter matches only resources that have a value, hence a sort key.
function everyMatchHasKey(search: ParsedSearch): boolean {
  return search.conditions.some((c) => (c.kind === 'date' && c.code === search.sort.code) || (c.kind === 'missing' && c.code === search.sort.code && !c.missing));
}

function entryOf(baseUrl: string, resource: FhirResource, mode: 'match' | 'include'): BundleEntry {
  return { fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`, resource, search: { mode } };
}

// Query components percent-encoded, except the characters FHIR search values use that a query may hold as they are.
const component = (text: string): string => encodeURIComponent(text).replace(/%(2C|3A|2F|24)/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));

function linkOf(baseUrl: string, search: ParsedSearch, cursor?: string): string {
  const params = cursor ? [...search.applied, ['_cursor', cursor]] : search.applied;
  const query = params.map(([name, value]) => `${component(name)}=${component(value)}`).join('&');
  return `${baseUrl}/${search.resourceType}${query ? `?${query}` : ''}`;
}

function bundleOf(search: ParsedSearch, baseUrl: string, parts: { total?: number; entries: BundleEntry[]; next?: string }): FhirBundle {
  const link = [{ relation: 'self', url: linkOf(baseUrl, search, search.cursor) }];
  if (parts.next) link.push({ relation: 'next', url: linkOf(baseUrl, search, parts.next) });
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { lastUpdated: new Date().toISOString() },
    type: 'searchset',
    ...(parts.total === undefined ? {} : { total: parts.total }),
    link,
    ...(parts.entries.length > 0 ? { entry: parts.entries } : {}),
  };
}
