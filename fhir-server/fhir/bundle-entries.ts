/**
 * Parsing a batch or transaction Bundle into typed entries. A malformed entry
 * becomes a `FhirError` located at `Bundle.entry[i]`: a transaction fails on the
 * first one, a batch answers it in that entry's response.
 */
import { parseEntryUrl } from './entry-url.ts';
import { FhirError } from './errors.ts';
import { parseIfMatch } from './etag.ts';
import { isJsonObject } from './types.ts';
import type { FhirResource } from './types.ts';
import { validateResource, type ValidationOptions } from './validate.ts';

/** The two kinds of Bundle the server processes. */
export type BundleKind = 'batch' | 'transaction';

/** One entry, parsed and its resource validated. */
export type ParsedEntry =
  | { method: 'GET'; type: string; id: string }
  | { method: 'POST'; type: string; resource: FhirResource; fullUrl?: string; ifNoneExist?: URLSearchParams }
  | { method: 'PUT'; type: string; id: string; resource: FhirResource; fullUrl?: string; ifMatch?: number }
  | { method: 'DELETE'; type: string; id: string; ifMatch?: number };

/** A parsed Bundle. */
export interface ParsedBundle {
  /** batch or transaction. */
  kind: BundleKind;
  /** One per `Bundle.entry`, in order. */
  entries: (ParsedEntry | FhirError)[];
}

/** Parses `body` as a batch/transaction Bundle; throws `FhirError` for a Bundle-level problem. Each entry's resource is validated with `validation`. */
export function parseBundle(body: unknown, validation: ValidationOptions): ParsedBundle {
  if (!isJsonObject(body)) throw new FhirError('invalid', 'The body is not a JSON object');
  if (body.resourceType !== 'Bundle') {
    throw new FhirError('invalid', `POST to the base URL takes a batch or transaction Bundle, not '${String(body.resourceType ?? 'no resourceType')}'`, { expression: 'resourceType' });
  }
  if (body.type !== 'batch' && body.type !== 'transaction') {
    throw new FhirError('invalid', `Bundle.type must be batch or transaction, not '${String(body.type ?? '')}'`, { expression: 'Bundle.type' });
  }
  if (body.entry !== undefined && !Array.isArray(body.entry)) throw new FhirError('invalid', 'Bundle.entry must be an array', { expression: 'Bundle.entry' });
  const entries = ((body.entry as unknown[] | undefined) ?? []).map((entry, i) => {
    try {
      return parseEntry(entry, validation);
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      return error.at(`Bundle.entry[${i}]`).withIndex(i);
    }
  });
  return { kind: body.type, entries };
}

function parseEntry(entry: unknown, validation: ValidationOptions): ParsedEntry {
  if (!isJsonObject(entry)) throw new FhirError('invalid', 'The entry is not an object');
  const request = entry.request;
  if (!isJsonObject(request)) throw new FhirError('invalid', 'The entry has no request', { expression: 'Bundle.request' });
  const method = typeof request.method === 'string' ? request.method.toUpperCase() : '';
  let url;
  try {
    url = parseEntryUrl(request.url);
  } catch (error) {
    throw error instanceof FhirError ? error.at('Bundle.request.url') : error;
  }
  const fullUrl = typeof entry.fullUrl === 'string' && entry.fullUrl !== '' ? entry.fullUrl : undefined;
  const ifMatch = parseIfMatch(typeof request.ifMatch === 'string' ? request.ifMatch : undefined);
  const withResource = (expect: Parameters<typeof validateResource>[1]): FhirResource => {
    if (entry.resource === undefined) throw new FhirError('invalid', `A ${method} entry needs a resource`, { expression: 'Bundle.resource' });
    try {
      return validateResource(entry.resource, expect, validation);
    } catch (error) {
      throw error instanceof FhirError ? error.at('Bundle.resource') : error;
    }
  };
  switch (method) {
    case 'GET':
      if (!url.id || url.search) throw new FhirError('not-supported', 'Only reads (GET Type/id) are supported in a Bundle, not searches');
      return { method, type: url.type, id: url.id };
    case 'POST': {
      if (url.id) throw new FhirError('invalid', 'POST takes a type URL (Type), not an instance URL');
      const resource = withResource({ type: url.type, id: { mode: 'ignored' } });
      const parsed: ParsedEntry = { method, type: url.type, resource };
      if (fullUrl) parsed.fullUrl = fullUrl;
      if (typeof request.ifNoneExist === 'string' && request.ifNoneExist !== '') parsed.ifNoneExist = new URLSearchParams(request.ifNoneExist.replace(/^\?/, ''));
      return parsed;
    }
    case 'PUT': {
      if (!url.id || url.search) throw new FhirError('not-supported', 'PUT takes an instance URL (Type/id); conditional update is not supported');
      const resource = withResource({ type: url.type, id: { mode: 'required', expectedId: url.id } });
      const parsed: ParsedEntry = { method, type: url.type, id: url.id, resource };
      if (fullUrl) parsed.fullUrl = fullUrl;
      if (ifMatch !== undefined) parsed.ifMatch = ifMatch;
      return parsed;
    }
    case 'DELETE': {
      if (!url.id || url.search) throw new FhirError('not-supported', 'DELETE takes an instance URL (Type/id); conditional delete is not supported');
      return ifMatch === undefined ? { method, type: url.type, id: url.id } : { method, type: url.type, id: url.id, ifMatch };
    }
    default:
      throw new FhirError('not-supported', `request.method '${String(request.method ?? '')}' is not supported (GET, POST, PUT, DELETE)`, { expression: 'Bundle.request.method' });
  }
}
