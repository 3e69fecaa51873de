/**
 * Weak ETags carrying the version number: `W/"3"`.
 */
import { FhirError } from './errors.ts';

/** The ETag of version `versionId`. */
export function formatETag(versionId: number): string {
  return `W/"${versionId}"`;
}

/** The version an If-Match value names (`W/"3"`, `"3"` or `3`); undefined when absent; `FhirError('invalid')` when malformed. */
export function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(value);
  if (!match) throw new FhirError('invalid', `If-Match '${value}' is not a version ETag such as W/"3"`);
  return Number(match[1]);
}
