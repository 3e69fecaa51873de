/**
 * The continuation token of a search (`_cursor` in `next` links): opaque to
 * clients, base64url of a small JSON object holding the keyset position, the
 * sort it belongs to, and the instant the search started (`asOfMs`, kept for
 * every later page so that paging reads the data as of that instant once the
 * store offers it; see sql.ts `scopeOf`).
 */
import { FhirError } from '../fhir/errors.ts';
import type { PagePosition } from './sql.ts';
import type { SortSpec } from './query.ts';

/** What a continuation token carries. */
export interface Cursor extends PagePosition {
  /** When the search's first page was read (epoch ms). */
  asOfMs: number;
  /** The sort it continues (`code` or `-code`). */
  sort: string;
}

const sortName = (sort: SortSpec): string => (sort.descending ? `-${sort.code}` : sort.code);

/** Encodes a cursor. */
export function encodeCursor(sort: SortSpec, position: PagePosition, asOfMs: number): string {
  return Buffer.from(JSON.stringify({ v: 1, t: asOfMs, s: sortName(sort), p: position.phase, k: position.after })).toString('base64url');
}

/** Decodes `token` for a search sorted by `sort`; `FhirError('invalid')` when it is not a cursor of such a search. */
export function decodeCursor(token: string, sort: SortSpec): Cursor {
  const refuse = () => new FhirError('invalid', '_cursor is not a continuation of this search (take the next link as given)', { expression: '_cursor' });
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  const { v, t, s, p, k } = (raw ?? {}) as Record<string, unknown>;
  if (v !== 1 || typeof t !== 'number' || s !== sortName(sort) || (p !== 1 && p !== 2) || (k !== undefined && typeof k !== 'string')) throw refuse();
  return { asOfMs: t, sort: s, phase: p, ...(k === undefined ? {} : { after: k }) };
}
