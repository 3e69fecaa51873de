/**
 * FHIR history: vread (`[type]/[id]/_history/[vid]`) and the history
 * interactions at instance, type and system level, answered as `history`
 * Bundles, newest version first, with `_since`, `_at` (instance level),
 * `_count` and opaque `_cursor` paging (a keyset position, so pages neither
 * repeat nor skip versions while others write).
 */
import { FhirError } from './errors.ts';
import { formatETag } from './etag.ts';
import type { FhirBundle, FhirResource } from './types.ts';
import type { HistoryEntry, HistoryPosition, HistoryQuery, ResourceStore } from '../store/resource-store.ts';

/** Versions per page when `_count` is not given, and the most a page holds. */
export const historyPageDefaults = Object.freeze({ count: 50, maxCount: 1000 });

/** Which history: `[base]/_history`, `[type]/_history` or `[type]/[id]/_history`. */
export interface HistoryTarget {
  /** Type level and instance level. */
  resourceType?: string;
  /** Instance level. */
  id?: string;
}

const instantPattern = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The instants a FHIR date/dateTime/instant covers at its precision (`2024` is the whole year); undefined when it is not one. */
export function periodOf(text: string): { firstMs: number; lastMs: number } | undefined {
  const m = instantPattern.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  if (h !== undefined && zone === undefined) return undefined; // a time needs its zone (FHIR dateTime)
  const year = Number(y);
  const month = mo === undefined ? 0 : Number(mo) - 1;
  const day = d === undefined ? 1 : Number(d);
  const offset = !zone || zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  const at = (yy: number, mm: number, dd: number, hh = 0, mn = 0, ss = 0, ms = 0) => Date.UTC(yy, mm, dd, hh, mn, ss, ms);
  if (month > 11 || day > 31) return undefined;
  if (mo === undefined) return { firstMs: at(year, 0, 1), lastMs: at(year + 1, 0, 1) - 1 };
  if (d === undefined) return { firstMs: at(year, month, 1), lastMs: at(year, month + 1, 1) - 1 };
  if (new Date(at(year, month, day)).getUTCDate() !== day) return undefined;
  if (h === undefined) return { firstMs: at(year, month, day), lastMs: at(year, month, day + 1) - 1 };
  if (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) return undefined;
  if (s === undefined) {
    const firstMs = at(year, month, day, Number(h), Number(mi)) - offset;
    return { firstMs, lastMs: firstMs + 59_999 };
  }
  const digits = fraction ?? '';
  const firstMs = at(year, month, day, Number(h), Number(mi), Number(s), Number((digits + '000').slice(0, 3))) - offset;
  return { firstMs, lastMs: firstMs + (digits.length >= 3 ? 0 : 10 ** (3 - digits.length) - 1) };
}

function encodeCursor(position: HistoryPosition): string {
  return Buffer.from(JSON.stringify({ h: 1, m: position.lastUpdatedMs, t: position.resourceType, i: position.id })).toString('base64url');
}

function decodeCursor(token: string): HistoryPosition {
  const refuse = () => new FhirError('invalid', '_cursor is not a continuation of a history listing (take the next link as given)', { expression: '_cursor' });
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  const { h, m, t, i } = (raw ?? {}) as Record<string, unknown>;
  if (h !== 1 || typeof m !== 'number' || typeof t !== 'string' || typeof i !== 'string') throw refuse();
  return { lastUpdatedMs: m, resourceType: t, id: i };
}

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new FhirError('invalid', `${name} may be given once`, { expression: name });
  return values[0];
}

/** Parses the history parameters of `params` into a store query for `target`. */
export function parseHistoryParams(target: HistoryTarget, params: URLSearchParams): HistoryQuery {
  const query: HistoryQuery = { count: historyPageDefaults.count };
  if (target.resourceType !== undefined) query.resourceType = target.resourceType;
  if (target.id !== undefined) query.id = target.id;
  for (const name of new Set(params.keys())) {
    if (!['_since', '_at', '_count', '_cursor', '_format'].includes(name)) {
      throw new FhirError('invalid', `${name} is not a parameter of the history interaction (_since, _at, _count)`, { expression: name });
    }
  }
  const since = single(params, '_since');
  if (since !== undefined) {
    const period = periodOf(since);
    if (!period || !/T/.test(since)) throw new FhirError('invalid', `_since must be an instant with a time zone, e.g. 2024-01-31T10:00:00Z ('${since.slice(0, 40)}' is not)`, { expression: '_since' });
    query.sinceMs = period.firstMs;
  }
  const at = single(params, '_at');
  if (at !== undefined) {
    const period = periodOf(at);
    if (!period) throw new FhirError('invalid', `_at must be a FHIR date or dateTime ('${at.slice(0, 40)}' is not)`, { expression: '_at' });
    query.at = period;
  }
  const count = single(params, '_count');
  if (count !== undefined) {
    if (!/^\d{1,7}$/.test(count)) throw new FhirError('invalid', `_count must be a whole number ('${count.slice(0, 20)}' is not)`, { expression: '_count' });
    query.count = Math.min(Math.max(Number(count), 1), historyPageDefaults.maxCount);
  }
  const cursor = single(params, '_cursor');
  if (cursor !== undefined) query.after = decodeCursor(cursor);
  return query;
}

function methodOf(entry: HistoryEntry): 'POST' | 'PUT' | 'DELETE' {
  if (entry.deleted) return 'DELETE';
  return entry.versionId === 1 ? 'POST' : 'PUT';
}

/** One Bundle entry of a version: the resource (unless a deletion), the request that made it and its response. */
function bundleEntry(baseUrl: string, entry: HistoryEntry): NonNullable<FhirBundle['entry']>[number] {
  const url = `${entry.resourceType}/${entry.id}`;
  const method = methodOf(entry);
  return {
    fullUrl: `${baseUrl}/${url}`,
    ...(entry.deleted ? {} : { resource: entry.resource as FhirResource }),
    request: { method, url: method === 'POST' ? entry.resourceType : url },
    response: {
      status: method === 'POST' ? '201 Created' : method === 'DELETE' ? '204 No Content' : '200 OK',
      etag: formatETag(entry.versionId),
      lastModified: entry.lastUpdated,
    },
  };
}

/** A page of history as a `history` Bundle, with `self` and (when more versions follow) `next` links. */
export async function historyBundle(store: Pick<ResourceStore, 'history'>, baseUrl: string, target: HistoryTarget, params: URLSearchParams): Promise<FhirBundle> {
  const query = parseHistoryParams(target, params);
  const page = await store.history(query);
  const path = [target.resourceType, target.id].filter((p) => p !== undefined).join('/');
  const listing = `${baseUrl}/${path ? `${path}/` : ''}_history`;
  const link = (cursor?: string) => {
    const out = new URLSearchParams();
    for (const name of ['_since', '_at']) {
      const value = params.get(name);
      if (value !== null) out.set(name, value);
    }
    out.set('_count', String(query.count));
    if (cursor) out.set('_cursor', cursor);
    return `${listing}?${out.toString()}`;
  };
  const links = [{ relation: 'self', url: link(params.get('_cursor') ?? undefined) }];
  if (page.next) links.push({ relation: 'next', url: link(encodeCursor(page.next)) });
  return {
    resourceType: 'Bundle',
    type: 'history',
    link: links,
    entry: page.entries.map((entry) => bundleEntry(baseUrl, entry)),
  };
}
