/**
 * The `request.url` of a batch/transaction entry: `Type`, `Type/id`, or `Type?search`.
 */
import { FhirError } from './errors.ts';
import { checkUrlId, checkUrlType } from './validate.ts';

/** A parsed entry URL. */
export interface EntryUrl {
  /** Resource type. */
  type: string;
  /** Logical id, for instance URLs. */
  id?: string;
  /** Search part, for conditional URLs (`Type?identifier=...`). */
  search?: URLSearchParams;
}

/** Parses a relative entry URL; throws `FhirError` for anything else. */
export function parseEntryUrl(url: unknown): EntryUrl {
  if (typeof url !== 'string' || url.trim() === '') throw new FhirError('invalid', 'request.url is missing');
  const trimmed = url.trim().replace(/^\/+/, '');
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) throw new FhirError('not-supported', `request.url must be relative to the server base ('${url}')`);
  const q = trimmed.indexOf('?');
  const path = q < 0 ? trimmed : trimmed.slice(0, q);
  const segments = path.split('/').filter((s) => s !== '');
  if (segments.length === 0 || segments.length > 2) throw new FhirError('not-supported', `request.url '${url}' is not Type or Type/id`);
  const [type, id] = segments as [string, string | undefined];
  checkUrlType(type);
  if (id !== undefined) checkUrlId(id);
  const out: EntryUrl = { type };
  if (id !== undefined) out.id = id;
  if (q >= 0 && trimmed.length > q + 1) out.search = new URLSearchParams(trimmed.slice(q + 1));
  return out;
}
