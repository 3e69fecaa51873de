/**
 * The one search the server answers: `identifier=[system|]value`, as used by
 * conditional references and conditional creates (`ifNoneExist`).
 */
import { FhirError } from './errors.ts';
import { isJsonObject } from './types.ts';
import type { FhirResource } from './types.ts';

/** An identifier to look for; no `system` means any system. */
export interface IdentifierQuery {
  /** Identifier system, when given. */
  system?: string;
  /** Identifier value. */
  value: string;
}

/** Reads `identifier=[system|]value` from search parameters; anything else is `not-supported`. */
export function identifierQueryOf(params: URLSearchParams, what: string): IdentifierQuery {
  const names = [...params.keys()];
  const raw = params.get('identifier');
  if (names.length !== 1 || raw === null || raw === '') {
    throw new FhirError('not-supported', `${what}: only 'identifier=[system|]value' is supported, not '${params.toString()}'`);
  }
  const bar = raw.indexOf('|');
  if (bar < 0) return { value: raw };
  const system = raw.slice(0, bar);
  const value = raw.slice(bar + 1);
  if (value === '') throw new FhirError('invalid', `${what}: the identifier has no value`);
  return system === '' ? { value } : { system, value };
}

/** True when `resource` has an identifier matching `query`. */
export function hasIdentifier(resource: FhirResource, query: IdentifierQuery): boolean {
  const list = Array.isArray(resource.identifier) ? resource.identifier : [];
  return list.some((item) => isJsonObject(item) && item.value === query.value && (query.system === undefined || item.system === query.system));
}
