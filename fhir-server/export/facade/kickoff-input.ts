/**
 * Kick-off parameters as the validator takes them, whichever door they came
 * through: a GET query string, a POST `Parameters` body, or the fields of a
 * gRPC `StartExportRequest`. Every value arrives as a string (a `Reference`
 * as its `reference`), so one validator checks them all.
 */
import { FhirError } from '../../fhir/errors.ts';
import { isJsonObject } from '../../fhir/types.ts';
import type { ExportLevel } from '../ports.ts';

/** One parameter occurrence. */
export interface RawParameter {
  /** Name as sent. */
  name: string;
  /** Value as a string. */
  value: string;
  /** True when it came as a `valueReference` (only `patient` takes one). */
  reference?: boolean;
}

/** Everything a kick-off says, before validation. */
export interface KickoffInput {
  /** System, Patient or Group export. */
  level: ExportLevel;
  /** Group id (Group export). */
  groupId?: string;
  /** `query` for GET (no `patient`, no `_destination`), `body` for POST and gRPC. */
  form: 'query' | 'body';
  /** Parameters in order. */
  parameters: RawParameter[];
  /** REST: the `Accept` header as sent (`''` when absent). Absent for gRPC, whose answers are its own messages. */
  accept?: string;
  /** `Prefer` header (REST); gRPC passes the handling it asked for as `respond-async, handling=...`. */
  prefer?: string;
  /** The kick-off URL (manifest `request`). */
  requestUrl: string;
}

/** Parameters of a raw query string (`a=1&b=2`, without `?`), in order, percent-decoded. */
export function parametersFromQuery(query: string): RawParameter[] {
  return [...new URLSearchParams(query)].map(([name, value]) => ({ name, value }));
}

// value[x] types that carry a plain string, and are accepted for any string-valued parameter.
const stringValueKeys = ['valueString', 'valueCode', 'valueUri', 'valueUrl', 'valueCanonical', 'valueInstant', 'valueDateTime', 'valueId'];

function partValue(part: Record<string, unknown>, at: string): { value: string; reference?: boolean } {
  const valueKeys = Object.keys(part).filter((key) => key.startsWith('value'));
  if (part.part !== undefined || part.resource !== undefined) throw invalid(`${at}: nested parts and resources are not accepted`, at);
  if (valueKeys.length !== 1) throw invalid(`${at}: a parameter needs exactly one value[x]`, at);
  const key = valueKeys[0]!;
  const value = part[key];
  if (key === 'valueReference') {
    const reference = isJsonObject(value) ? value.reference : undefined;
    if (typeof reference !== 'string') throw invalid(`${at}.valueReference needs a reference string`, at);
    return { value: reference, reference: true };
  }
  if (!stringValueKeys.includes(key) || typeof value !== 'string') throw invalid(`${at}: ${key} is not accepted here; send a string value`, at);
  return { value };
}

function invalid(message: string, expression: string): FhirError {
  return new FhirError('invalid', message, { expression });
}

/** Parameters of a POST body, which must be a FHIR `Parameters` resource. */
export function parametersFromBody(body: unknown): RawParameter[] {
  if (!isJsonObject(body) || body.resourceType !== 'Parameters') throw invalid('The body of a POST kick-off must be a FHIR Parameters resource', 'Parameters');
  const parts = body.parameter ?? [];
  if (!Array.isArray(parts)) throw invalid('Parameters.parameter must be an array', 'Parameters.parameter');
  return parts.map((part, index) => {
    const at = `Parameters.parameter[${index}]`;
    if (!isJsonObject(part) || typeof part.name !== 'string' || part.name === '') throw invalid(`${at} needs a name`, at);
    return { name: part.name, ...partValue(part, at) };
  });
}
