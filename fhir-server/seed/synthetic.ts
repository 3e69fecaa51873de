/**
 * The synthetic data set of a seed: shared organizations and practitioners,
 * one record per patient, and one Group of all patients — the same content
 * (ids included) for the same seed and patient count.
 */
import type { IdentifiedResource } from '../store/resource-store.ts';
import { Random } from './prng.ts';
import { patientIdOf, patientRecord } from './synthetic-patient.ts';
import type { SharedRefs } from './synthetic-patient.ts';
import { cities, familyNames, givenNames } from './vocabulary.ts';

/** What to generate. */
export interface SyntheticOptions {
  /** Number of patients. */
  patients: number;
  /** Seed (any string). */
  seed: string;
}

/** The organizations and practitioners for `options` (1 organization per 100 patients, 1 practitioner per 20; at least 1 and 3). */
export function sharedResources(options: SyntheticOptions): { refs: SharedRefs; resources: IdentifiedResource[] } {
  const rng = new Random(`${options.seed}/shared`);
  const refs: SharedRefs = { organizations: [], practitioners: [] };
  const resources: IdentifiedResource[] = [];
  const orgCount = Math.max(1, Math.ceil(options.patients / 100));
  for (let i = 0; i < orgCount; i++) {
    const id = rng.uuid();
    const place = rng.pick(cities);
    refs.organizations.push(id);
    resources.push({
      resourceType: 'Organization',
      id,
      identifier: [{ system: 'urn:fhirmesh:seed:organization', value: `${options.seed}-org-${i}` }],
      active: true,
      type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov', display: 'Healthcare Provider' }], text: 'Healthcare Provider' }],
      name: `${place.city} ${rng.pick(['General Hospital', 'Family Medicine', 'Health Center', 'Medical Group'])} ${i + 1}`,
      telecom: [{ system: 'phone', value: `555-${rng.int(100, 999)}-${rng.int(1000, 9999)}` }],
      address: [{ line: [`${rng.int(1, 500)} Hospital Rd`], city: place.city, state: place.state, postalCode: `${place.postal}${rng.int(10, 99)}`, country: 'US' }],
    });
  }
  const practitionerCount = Math.max(3, Math.ceil(options.patients / 20));
  for (let i = 0; i < practitionerCount; i++) {
    const id = rng.uuid();
    const gender = rng.chance(0.5) ? 'female' : 'male';
    const given = rng.pick(givenNames[gender]);
    const family = rng.pick(familyNames);
    refs.practitioners.push({ id, name: `Dr. ${given} ${family}` });
    resources.push({
      resourceType: 'Practitioner',
      id,
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: String(9_999_900_000 + i) }],
      active: true,
      name: [{ family, given: [given], prefix: ['Dr.'] }],
      gender,
    });
  }
  return { refs, resources };
}

/** The Group of all patients of `options`. */
export function patientGroup(options: SyntheticOptions): IdentifiedResource {
  return {
    resourceType: 'Group',
    id: new Random(`${options.seed}/group`).uuid(),
    identifier: [{ system: 'urn:fhirmesh:seed:group', value: options.seed }],
    active: true,
    type: 'person',
    actual: true,
    name: `Synthetic patients (seed ${options.seed})`,
    quantity: options.patients,
    member: Array.from({ length: options.patients }, (_, i) => ({ entity: { reference: `Patient/${patientIdOf(options.seed, i)}` } })),
  };
}

/** Every resource of the data set, in batches: shared resources, then one batch per patient, then the Group. */
export function* syntheticResources(options: SyntheticOptions): Generator<IdentifiedResource[]> {
  const shared = sharedResources(options);
  yield shared.resources;
  for (let i = 0; i < options.patients; i++) yield patientRecord(options.seed, i, shared.refs);
  yield [patientGroup(options)];
}
