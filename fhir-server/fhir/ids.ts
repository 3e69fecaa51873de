/**
 * FHIR logical ids: the R4 `id` rule and server-assigned ids.
 */
import { randomUUID } from 'node:crypto';

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

/** True when `id` satisfies the R4 id rule `[A-Za-z0-9\-\.]{1,64}`. */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && idPattern.test(id);
}

/** A new server-assigned id (UUID v4). */
export function newResourceId(): string {
  return randomUUID();
}

const uuidPattern = /^urn:uuid:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

/** The UUID of a `urn:uuid:<uuid>` URI (lower-cased), or undefined. */
export function uuidOfUrn(uri: string | undefined): string | undefined {
  const match = uri ? uuidPattern.exec(uri) : null;
  return match ? match[1]!.toLowerCase() : undefined;
}
