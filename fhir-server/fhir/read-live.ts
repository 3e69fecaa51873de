/**
 * FHIR read semantics over the store: a deleted resource is gone (410), one that
 * never existed is not found (404).
 */
import { FhirError } from './errors.ts';
import type { ReadResult, ResourceStore } from '../store/resource-store.ts';

/** The live current version of `type/id`, or `FhirError` `not-found` / `gone`. */
export async function readLive(store: Pick<ResourceStore, 'read'>, type: string, id: string): Promise<ReadResult & { deleted: false }> {
  const result = await store.read(type, id);
  if (!result) throw new FhirError('not-found', `${type}/${id} is not known`);
  if (result.deleted) throw new FhirError('gone', `${type}/${id} was deleted (version ${result.versionId})`);
  return result;
}
