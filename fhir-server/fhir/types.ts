/**
 * The few FHIR JSON shapes the server reasons about. Everything else in a
 * resource is kept exactly as the client sent it.
 */

/** Any FHIR resource as JSON: a `resourceType`, an optional `id` and `meta`, and whatever else it carries. */
export interface FhirResource {
  /** The resource's type, e.g. `Patient`. */
  resourceType: string;
  /** Logical id (server-assigned on create). */
  id?: string;
  /** Resource metadata; `versionId` and `lastUpdated` are set by the server. */
  meta?: FhirMeta;
  /** Every other element, untouched. */
  [element: string]: unknown;
}

/** `Resource.meta`. */
export interface FhirMeta {
  /** Version of this resource, as a string (FHIR `id` type). */
  versionId?: string;
  /** When this version was stored (FHIR `instant`). */
  lastUpdated?: string;
  /** Other meta elements (profile, tag, security, source ...). */
  [element: string]: unknown;
}

/** A FHIR Bundle as far as the server needs it. */
export interface FhirBundle extends FhirResource {
  resourceType: 'Bundle';
  /** `batch`, `transaction`, `batch-response`, `transaction-response`, ... */
  type?: string;
  /** Entries in order. */
  entry?: BundleEntry[];
}

/** One `Bundle.entry`. */
export interface BundleEntry {
  /** Identity of the entry's resource, e.g. `urn:uuid:...`. */
  fullUrl?: string;
  /** The resource (POST/PUT) or a response resource. */
  resource?: FhirResource;
  /** What to do with this entry (batch/transaction). */
  request?: { method?: string; url?: string; ifMatch?: string; ifNoneExist?: string; [k: string]: unknown };
  /** Outcome of this entry (responses). */
  response?: { status: string; location?: string; etag?: string; lastModified?: string; outcome?: FhirResource };
  [element: string]: unknown;
}

/** True when `value` is a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
