/**
 * Turning parsed entries into store operations:
 * 1. conditional creates (`ifNoneExist`) are matched against the server;
 * 2. every POST gets its id: the UUID of a `urn:uuid:` fullUrl (so references from
 *    other bundles to that UUID resolve), else a new one; the fullUrl of each POST
 *    and PUT then stands for `Type/id`;
 * 3. references are rewritten: fullUrls of the Bundle, `urn:uuid:` ids already on the
 *    server, and conditional references `Type?identifier=...` (Bundle first, then server).
 */
import { FhirError } from './errors.ts';
import { newResourceId, uuidOfUrn } from './ids.ts';
import { hasIdentifier, identifierQueryOf } from './identifier-search.ts';
import { mapReferences, parseConditionalReference } from './references.ts';
import type { ParsedEntry } from './bundle-entries.ts';
import type { FhirResource } from './types.ts';
import type { IdentifiedResource, ResourceStore, WriteOp } from '../store/resource-store.ts';

/** What the store must do for one entry. */
export type PreparedEntry =
  | { kind: 'read'; type: string; id: string }
  | { kind: 'write'; op: WriteOp }
  | { kind: 'matched'; type: string; id: string };

/** The store queries preparation needs. */
export type ReferenceLookups = Pick<ResourceStore, 'findByIdentifier' | 'findTypesOfIds'>;

type Slot = PreparedEntry | FhirError;

/** A write whose references are still to be rewritten. */
interface PendingWrite {
  entry: ParsedEntry & { method: 'POST' | 'PUT' };
  resource: IdentifiedResource;
}

function located(error: unknown, index: number): FhirError {
  const fhir = error instanceof FhirError ? error : new FhirError('internal', String(error), { cause: error });
  return fhir.at(`Bundle.entry[${index}]`).withIndex(index);
}

async function matchIfNoneExist(entry: ParsedEntry & { method: 'POST' }, lookups: ReferenceLookups): Promise<string | undefined> {
  if (!entry.ifNoneExist) return undefined;
  const query = identifierQueryOf(entry.ifNoneExist, 'ifNoneExist');
  const ids = await lookups.findByIdentifier(entry.type, query.system, query.value);
  if (ids.length > 1) throw new FhirError('precondition-failed', `ifNoneExist matches ${ids.length} ${entry.type} resources`);
  return ids[0];
}

// Step 1 and 2 for one entry: its prepared form, or a write waiting for step 3.
async function assignId(entry: ParsedEntry, lookups: ReferenceLookups, fullUrls: Map<string, string>): Promise<Slot | PendingWrite> {
  switch (entry.method) {
    case 'GET':
      return { kind: 'read', type: entry.type, id: entry.id };
    case 'DELETE':
      return { kind: 'write', op: { op: 'delete', resourceType: entry.type, id: entry.id, ifMatch: entry.ifMatch } };
    case 'PUT':
      if (entry.fullUrl) fullUrls.set(entry.fullUrl, `${entry.type}/${entry.id}`);
      return { entry, resource: { ...structuredClone(entry.resource), id: entry.id } };
    case 'POST': {
      const matched = await matchIfNoneExist(entry, lookups);
      const id = matched ?? uuidOfUrn(entry.fullUrl) ?? newResourceId();
      if (entry.fullUrl) fullUrls.set(entry.fullUrl, `${entry.type}/${id}`);
      if (matched) return { kind: 'matched', type: entry.type, id: matched };
      return { entry, resource: { ...structuredClone(entry.resource), id } };
    }
  }
}

/** Prepares every entry; an entry that cannot be prepared becomes a `FhirError` located at `Bundle.entry[i]`. */
export async function prepareEntries(entries: (ParsedEntry | FhirError)[], lookups: ReferenceLookups): Promise<Slot[]> {
  const fullUrls = new Map<string, string>();
  const firstPass = await Promise.all(
    entries.map(async (entry, index) => {
      if (entry instanceof FhirError) return entry;
      return assignId(entry, lookups, fullUrls).catch((error: unknown) => located(error, index));
    }),
  );
  const pending = firstPass.flatMap((slot) => ('entry' in slot ? [slot] : []));
  const outside = await resolveOutside(pending.map((p) => p.resource), fullUrls, lookups);
  return firstPass.map((slot, index) => {
    if (!('entry' in slot)) return slot;
    try {
      mapReferences(slot.resource, (reference) => rewrite(reference, fullUrls, outside));
      const op: WriteOp =
        slot.entry.method === 'PUT'
          ? { op: 'update', resource: slot.resource, ifMatch: slot.entry.ifMatch }
          : { op: 'create', resource: slot.resource, ifExists: uuidOfUrn(slot.entry.fullUrl) ? 'keep' : 'fail' };
      return { kind: 'write', op };
    } catch (error) {
      return located(error, index);
    }
  });
}

function rewrite(reference: string, fullUrls: Map<string, string>, outside: Map<string, string | FhirError>): string | undefined {
  const target = fullUrls.get(reference) ?? outside.get(reference);
  if (target instanceof FhirError) throw target;
  if (target) return target;
  if (uuidOfUrn(reference)) throw new FhirError('invalid', `Reference '${reference}' resolves neither within the Bundle nor on the server`);
  return undefined;
}

// References the Bundle itself does not define: `urn:uuid:` ids stored earlier, and conditional references.
async function resolveOutside(resources: FhirResource[], fullUrls: Map<string, string>, lookups: ReferenceLookups): Promise<Map<string, string | FhirError>> {
  const uuids = new Map<string, string>();
  const conditionals = new Set<string>();
  for (const resource of resources) {
    mapReferences(resource, (reference) => {
      if (fullUrls.has(reference)) return undefined;
      const uuid = uuidOfUrn(reference);
      if (uuid) uuids.set(uuid, reference);
      else if (parseConditionalReference(reference)) conditionals.add(reference);
      return undefined;
    });
  }
  const resolved = new Map<string, string | FhirError>();
  for (const [uuid, type] of await lookups.findTypesOfIds([...uuids.keys()])) resolved.set(uuids.get(uuid)!, `${type}/${uuid}`);
  await Promise.all(
    [...conditionals].map(async (reference) => {
      try {
        resolved.set(reference, await resolveConditional(reference, resources, lookups));
      } catch (error) {
        resolved.set(reference, error instanceof FhirError ? error : new FhirError('internal', String(error), { cause: error }));
      }
    }),
  );
  return resolved;
}

async function resolveConditional(reference: string, resources: FhirResource[], lookups: ReferenceLookups): Promise<string> {
  const { type, params } = parseConditionalReference(reference)!;
  const query = identifierQueryOf(params, `Reference '${reference}'`);
  const inBundle = resources.filter((r) => r.resourceType === type && hasIdentifier(r, query)).map((r) => r.id!);
  const ids = inBundle.length > 0 ? inBundle : await lookups.findByIdentifier(type, query.system, query.value);
  if (ids.length === 0) throw new FhirError('invalid', `Conditional reference '${reference}' matches no resource`);
  if (ids.length > 1) throw new FhirError('precondition-failed', `Conditional reference '${reference}' matches ${ids.length} resources`);
  return `${type}/${ids[0]}`;
}
