/**
 * One synthetic patient's record: the Patient and its encounters, each with
 * observations, and some conditions, medication requests and procedures.
 * Everything comes from a generator seeded by (seed, patient number), so a
 * patient's record does not depend on how many others are made or in what order.
 */
import type { IdentifiedResource } from '../store/resource-store.ts';
import { Random } from './prng.ts';
import { bloodPressure, cities, conditions, encounterTypes, familyNames, givenNames, procedures, vitalSigns } from './vocabulary.ts';
import type { Concept } from './vocabulary.ts';

/** The shared resources patient records point at. */
export interface SharedRefs {
  /** Organization ids. */
  organizations: string[];
  /** Practitioner ids with their display names. */
  practitioners: { id: string; name: string }[];
}

/** "Now" of the synthetic world (fixed, so data never depends on the clock). */
export const syntheticNowMs = Date.UTC(2025, 5, 30);
const yearMs = 365.25 * 86_400_000;

const iso = (ms: number): string => new Date(ms).toISOString();
const codeable = (concept: Concept) => ({ coding: [{ ...concept }], text: concept.display });
const category = (code: string, display: string, system = 'http://terminology.hl7.org/CodeSystem/observation-category') => [{ coding: [{ system, code, display }] }];

/** The id of patient number `index` for `seed`. */
export function patientIdOf(seed: string, index: number): string {
  return new Random(`${seed}/patient/${index}`).uuid();
}

/** The resources of patient number `index` (10-35 resources, Patient first). */
export function patientRecord(seed: string, index: number, shared: SharedRefs): IdentifiedResource[] {
  const rng = new Random(`${seed}/patient/${index}`);
  const patientId = rng.uuid();
  const gender = rng.chance(0.5) ? 'female' : 'male';
  const given = rng.pick(givenNames[gender]);
  const family = rng.pick(familyNames);
  const birthMs = syntheticNowMs - rng.decimal(1, 90, 0) * yearMs - rng.int(0, 364) * 86_400_000;
  const place = rng.pick(cities);
  const gp = rng.pick(shared.practitioners);
  const org = rng.pick(shared.organizations);
  const subject = { reference: `Patient/${patientId}`, display: `${given} ${family}` };
  const out: IdentifiedResource[] = [
    {
      resourceType: 'Patient',
      id: patientId,
      text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${given} ${family}, synthetic patient ${index} of seed ${seed}</div>` },
      identifier: [
        { system: 'urn:fhirmesh:seed', value: `${seed}-${index}` },
        { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', display: 'Medical Record Number' }], text: 'Medical Record Number' }, system: 'http://hospital.example.org', value: patientId },
      ],
      name: [{ use: 'official', family, given: [given], prefix: [gender === 'female' ? 'Ms.' : 'Mr.'] }],
      telecom: [{ system: 'phone', value: `555-${rng.int(100, 999)}-${rng.int(1000, 9999)}`, use: 'home' }],
      gender,
      birthDate: iso(birthMs).slice(0, 10),
      address: [{ line: [`${rng.int(1, 999)} ${rng.pick(['Main', 'Elm', 'Oak', 'Pine', 'Maple'])} St`], city: place.city, state: place.state, postalCode: `${place.postal}${rng.int(10, 99)}`, country: 'US' }],
      communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en-US', display: 'English (United States)' }] } }],
      generalPractitioner: [{ reference: `Practitioner/${gp.id}`, display: gp.name }],
      managingOrganization: { reference: `Organization/${org}` },
    },
  ];
  const firstMs = Math.max(birthMs + yearMs, syntheticNowMs - 10 * yearMs);
  const encounterCount = rng.int(2, 6);
  const chronic = rng.chance(0.6) ? rng.pick(conditions) : undefined;
  for (let e = 0; e < encounterCount; e++) {
    const startMs = Math.floor(firstMs + ((syntheticNowMs - firstMs) * (e + rng.next())) / encounterCount);
    const endMs = startMs + rng.int(15, 90) * 60_000;
    const practitioner = rng.pick(shared.practitioners);
    const encounterId = rng.uuid();
    const type = rng.pick(encounterTypes);
    out.push({
      resourceType: 'Encounter',
      id: encounterId,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: type.code === '50849002' ? 'EMER' : 'AMB' },
      type: [codeable(type)],
      subject,
      participant: [{ individual: { reference: `Practitioner/${practitioner.id}`, display: practitioner.name } }],
      period: { start: iso(startMs), end: iso(endMs) },
      serviceProvider: { reference: `Organization/${rng.pick(shared.organizations)}` },
    });
    const context = { rng, subject, encounter: { reference: `Encounter/${encounterId}` }, atMs: startMs + 10 * 60_000, practitioner };
    out.push(bloodPressurePanel(context));
    for (const vital of pickSome(rng, vitalSigns, rng.int(1, 3))) out.push(quantity(context, vital));
    if (e === 0 && chronic) out.push(...diagnosis(context, chronic, false));
    else if (rng.chance(0.25)) out.push(...diagnosis(context, rng.pick(conditions), true));
    if (rng.chance(0.3)) out.push(procedure(context, endMs));
  }
  return out;
}

function pickSome<T>(rng: Random, items: readonly T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]!);
  return out;
}

interface Context {
  rng: Random;
  subject: { reference: string; display: string };
  encounter: { reference: string };
  atMs: number;
  practitioner: { id: string; name: string };
}

function quantity(c: Context, vital: (typeof vitalSigns)[number]): IdentifiedResource {
  return {
    resourceType: 'Observation',
    id: c.rng.uuid(),
    status: 'final',
    category: category(vital.category, vital.category === 'laboratory' ? 'Laboratory' : 'Vital signs'),
    code: codeable(vital.concept),
    subject: c.subject,
    encounter: c.encounter,
    effectiveDateTime: iso(c.atMs),
    issued: iso(c.atMs + 3_600_000),
    performer: [{ reference: `Practitioner/${c.practitioner.id}`, display: c.practitioner.name }],
    valueQuantity: { value: c.rng.decimal(vital.min, vital.max, vital.decimals), unit: vital.unit, system: 'http://unitsofmeasure.org', code: vital.unit },
  };
}

function bloodPressurePanel(c: Context): IdentifiedResource {
  const mmHg = (concept: Concept, min: number, max: number) => ({
    code: codeable(concept),
    valueQuantity: { value: c.rng.int(min, max), unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
  });
  return {
    resourceType: 'Observation',
    id: c.rng.uuid(),
    status: 'final',
    category: category('vital-signs', 'Vital signs'),
    code: codeable(bloodPressure.panel),
    subject: c.subject,
    encounter: c.encounter,
    effectiveDateTime: iso(c.atMs),
    issued: iso(c.atMs),
    component: [mmHg(bloodPressure.systolic, 100, 160), mmHg(bloodPressure.diastolic, 60, 100)],
  };
}

function diagnosis(c: Context, condition: (typeof conditions)[number], acute: boolean): IdentifiedResource[] {
  const conditionId = c.rng.uuid();
  const resolvedMs = c.atMs + c.rng.int(7, 30) * 86_400_000;
  const clinical = acute && resolvedMs < syntheticNowMs ? 'resolved' : 'active';
  const out: IdentifiedResource[] = [
    {
      resourceType: 'Condition',
      id: conditionId,
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: clinical }] },
      verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
      category: category('encounter-diagnosis', 'Encounter Diagnosis', 'http://terminology.hl7.org/CodeSystem/condition-category'),
      code: codeable(condition.concept),
      subject: c.subject,
      encounter: c.encounter,
      onsetDateTime: iso(c.atMs),
      ...(clinical === 'resolved' ? { abatementDateTime: iso(resolvedMs) } : {}),
      recordedDate: iso(c.atMs),
    },
  ];
  if (c.rng.chance(0.8)) {
    out.push({
      resourceType: 'MedicationRequest',
      id: c.rng.uuid(),
      status: clinical === 'resolved' ? 'completed' : 'active',
      intent: 'order',
      medicationCodeableConcept: codeable(condition.medication),
      subject: c.subject,
      encounter: c.encounter,
      authoredOn: iso(c.atMs),
      requester: { reference: `Practitioner/${c.practitioner.id}`, display: c.practitioner.name },
      reasonReference: [{ reference: `Condition/${conditionId}` }],
      dosageInstruction: [{ sequence: 1, text: 'Take as directed', timing: { repeat: { frequency: c.rng.int(1, 3), period: 1, periodUnit: 'd' } }, asNeededBoolean: false }],
    });
  }
  return out;
}

function procedure(c: Context, endMs: number): IdentifiedResource {
  return {
    resourceType: 'Procedure',
    id: c.rng.uuid(),
    status: 'completed',
    code: codeable(c.rng.pick(procedures)),
    subject: c.subject,
    encounter: c.encounter,
    performedPeriod: { start: iso(c.atMs), end: iso(Math.min(endMs, c.atMs + 30 * 60_000)) },
    performer: [{ actor: { reference: `Practitioner/${c.practitioner.id}`, display: c.practitioner.name } }],
  };
}
