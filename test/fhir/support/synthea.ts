/**
 * Test support: what a Synthea folder should read back as after loading —
 * each resource as in its first file in load order (hospital and practitioner
 * bundles, patient bundles, then single resources), with `urn:uuid:` references
 * rewritten to `Type/id` — and how to strip server meta from what the store returns.
 */
import { readFile } from 'node:fs/promises';
import { mapReferences } from '../../../fhir-server/fhir/references.ts';
import type { FhirResource } from '../../../fhir-server/fhir/types.ts';

/** A file of the folder, parsed. */
interface Parsed {
  name: string;
  entries: { fullUrl: string; resource: FhirResource }[];
}

/** Reads the files and returns them in load order (directory bundles, other bundles, single resources). */
export async function readInLoadOrder(paths: string[]): Promise<Parsed[]> {
  const parsed: (Parsed & { rank: number })[] = [];
  for (const path of paths) {
    const body = JSON.parse(await readFile(path, 'utf8')) as FhirResource & { entry?: { fullUrl: string; resource: FhirResource }[] };
    const name = path.split('/').pop()!;
    if (body.resourceType === 'Bundle') {
      const entries = body.entry ?? [];
      const directory = entries.every((e) => ['Organization', 'Practitioner'].includes(e.resource.resourceType));
      parsed.push({ name, entries, rank: directory ? 0 : 1 });
    } else {
      parsed.push({ name, entries: [{ fullUrl: `urn:uuid:${body.id}`, resource: body }], rank: 2 });
    }
  }
  return parsed.sort((a, b) => a.rank - b.rank || (a.name < b.name ? -1 : 1));
}

/** `Type/id` -> the resource expected back (first occurrence wins; later copies of the same id are kept, not applied). */
export function expectedResources(files: Parsed[]): Map<string, FhirResource> {
  const typeOf = new Map<string, string>();
  for (const file of files) for (const e of file.entries) typeOf.set(e.fullUrl, e.resource.resourceType);
  const out = new Map<string, FhirResource>();
  for (const file of files) {
    for (const { fullUrl, resource } of file.entries) {
      const id = fullUrl.replace(/^urn:uuid:/, '');
      const key = `${resource.resourceType}/${id}`;
      if (out.has(key)) continue;
      const copy = structuredClone({ ...resource, id });
      mapReferences(copy, (reference) => (typeOf.has(reference) ? `${typeOf.get(reference)}/${reference.replace(/^urn:uuid:/, '')}` : undefined));
      out.set(key, copy);
    }
  }
  return out;
}

/** `resource` without the server's meta.versionId and meta.lastUpdated (and without meta if nothing else is left). */
export function withoutServerMeta(resource: FhirResource): FhirResource {
  const { meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...clientMeta } = meta ?? {};
  return Object.keys(clientMeta).length > 0 ? { ...rest, meta: clientMeta } : rest;
}
