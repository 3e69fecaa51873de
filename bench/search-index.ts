/**
 * Extraction cost of the search index: µs per resource of `searchIndexOf` (the
 * compiled per-type walks) on the Synthea folder, and, on a sample of its
 * Observations, of evaluating every Observation parameter's full R4 expression
 * with `@medplum/core`'s FHIRPath engine (what compiling per type replaces).
 */
import { evalFhirPathTyped, parseFhirPath, toTypedValue } from '@medplum/core';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { r4Definitions } from '../fhir-server/fhir/definitions.ts';
import type { FhirResource } from '../fhir-server/fhir/types.ts';
import { parametersOf } from '../fhir-server/search/parameters.ts';
import { searchIndexOf } from '../fhir-server/search/search-index.ts';
import { median } from './export-run.ts';

/** What the extraction measurement found. */
export interface IndexCost {
  /** Resources indexed per round. */
  resources: number;
  /** Median µs per resource (all types). */
  usPerResource: number;
  /** Median µs per Observation. */
  usPerObservation: number;
  /** µs per Observation evaluating the full R4 expressions with FHIRPath. */
  usPerObservationFullFhirPath: number;
  /** Bytes of the index per byte of resource JSON (all resources). */
  indexToResourceBytes: number;
}

async function syntheaResources(dir: string): Promise<FhirResource[]> {
  const out: FhirResource[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.json')).sort()) {
    const body = JSON.parse(await readFile(join(dir, name), 'utf8')) as FhirResource & { entry?: { fullUrl?: string; resource: FhirResource }[] };
    const entries = body.resourceType === 'Bundle' ? (body.entry ?? []) : [{ resource: body }];
    for (const { fullUrl, resource } of entries) out.push({ ...resource, id: resource.id ?? fullUrl?.replace(/^urn:uuid:/, ''), meta: { lastUpdated: '2025-01-01T00:00:00.000Z' } });
  }
  return out;
}

const usPer = (ms: number, n: number): number => Math.round((ms * 1000 * 10) / n) / 10;

/** Measures extraction on the Synthea folder `dir` (undefined when it is absent). */
export async function measureIndexCost(dir: string, rounds = 7): Promise<IndexCost | undefined> {
  if (!existsSync(dir)) return undefined;
  r4Definitions();
  const resources = await syntheaResources(dir);
  const observations = resources.filter((r) => r.resourceType === 'Observation');
  for (const r of resources) searchIndexOf(r); // compile every type once, warm up
  const all: number[] = [];
  const obs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let started = performance.now();
    for (const r of resources) searchIndexOf(r);
    all.push(usPer(performance.now() - started, resources.length));
    started = performance.now();
    for (const r of observations) searchIndexOf(r);
    obs.push(usPer(performance.now() - started, observations.length));
  }
  const expressions = r4Definitions()
    .searchParameters.filter((sp) => sp.base?.includes('Observation') && sp.expression && parametersOf('Observation').get(sp.code)?.extractor)
    .map((sp) => parseFhirPath(sp.expression!));
  const sample = observations.slice(0, 100);
  const started = performance.now();
  for (const r of sample) for (const expression of expressions) evalFhirPathTyped(expression, [toTypedValue(r)]);
  const full = usPer(performance.now() - started, sample.length);
  const indexBytes = resources.reduce((n, r) => n + JSON.stringify(searchIndexOf(r)).length, 0);
  const resourceBytes = resources.reduce((n, r) => n + JSON.stringify(r).length, 0);
  return {
    resources: resources.length,
    usPerResource: median(all),
    usPerObservation: median(obs),
    usPerObservationFullFhirPath: full,
    indexToResourceBytes: Math.round((indexBytes / resourceBytes) * 100) / 100,
  };
}
