/**
 * Clinical vocabulary for synthetic data: real code systems and codes
 * (LOINC, SNOMED CT, RxNorm), with plausible value ranges and units.
 */

/** A coded concept. */
export interface Concept {
  /** Code system URI. */
  system: string;
  /** Code. */
  code: string;
  /** Display text. */
  display: string;
}

const loinc = 'http://loinc.org';
const snomed = 'http://snomed.info/sct';
const rxnorm = 'http://www.nlm.nih.gov/research/umls/rxnorm';

/** A quantitative observation: its code, value range, decimals and UCUM unit. */
export interface VitalSign {
  /** LOINC concept. */
  concept: Concept;
  /** Lowest plausible value. */
  min: number;
  /** Highest plausible value. */
  max: number;
  /** Decimals kept. */
  decimals: number;
  /** UCUM unit. */
  unit: string;
  /** `vital-signs` or `laboratory`. */
  category: 'vital-signs' | 'laboratory';
}

/** Quantitative observations drawn per encounter. */
export const vitalSigns: readonly VitalSign[] = [
  { concept: { system: loinc, code: '8302-2', display: 'Body Height' }, min: 150, max: 195, decimals: 1, unit: 'cm', category: 'vital-signs' },
  { concept: { system: loinc, code: '29463-7', display: 'Body Weight' }, min: 48, max: 120, decimals: 1, unit: 'kg', category: 'vital-signs' },
  { concept: { system: loinc, code: '39156-5', display: 'Body Mass Index' }, min: 18, max: 38, decimals: 1, unit: 'kg/m2', category: 'vital-signs' },
  { concept: { system: loinc, code: '8867-4', display: 'Heart rate' }, min: 52, max: 110, decimals: 0, unit: '/min', category: 'vital-signs' },
  { concept: { system: loinc, code: '9279-1', display: 'Respiratory rate' }, min: 11, max: 22, decimals: 0, unit: '/min', category: 'vital-signs' },
  { concept: { system: loinc, code: '8310-5', display: 'Body temperature' }, min: 36.1, max: 38.4, decimals: 1, unit: 'Cel', category: 'vital-signs' },
  { concept: { system: loinc, code: '2339-0', display: 'Glucose [Mass/volume] in Blood' }, min: 65, max: 180, decimals: 1, unit: 'mg/dL', category: 'laboratory' },
  { concept: { system: loinc, code: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma' }, min: 140, max: 280, decimals: 1, unit: 'mg/dL', category: 'laboratory' },
  { concept: { system: loinc, code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood' }, min: 4.6, max: 9.5, decimals: 1, unit: '%', category: 'laboratory' },
  { concept: { system: loinc, code: '38483-4', display: 'Creatinine [Mass/volume] in Blood' }, min: 0.6, max: 1.6, decimals: 2, unit: 'mg/dL', category: 'laboratory' },
];

/** The blood pressure panel and its two components. */
export const bloodPressure = {
  panel: { system: loinc, code: '85354-9', display: 'Blood pressure panel with all children optional' },
  systolic: { system: loinc, code: '8480-6', display: 'Systolic blood pressure' },
  diastolic: { system: loinc, code: '8462-4', display: 'Diastolic blood pressure' },
} as const;

/** Conditions, with a medication that treats each. */
export const conditions: readonly { concept: Concept; medication: Concept }[] = [
  { concept: { system: snomed, code: '44054006', display: 'Diabetes' }, medication: { system: rxnorm, code: '860975', display: '24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet' } },
  { concept: { system: snomed, code: '59621000', display: 'Hypertension' }, medication: { system: rxnorm, code: '314076', display: 'lisinopril 10 MG Oral Tablet' } },
  { concept: { system: snomed, code: '195662009', display: 'Acute viral pharyngitis (disorder)' }, medication: { system: rxnorm, code: '313782', display: 'Acetaminophen 325 MG Oral Tablet' } },
  { concept: { system: snomed, code: '10509002', display: 'Acute bronchitis (disorder)' }, medication: { system: rxnorm, code: '308182', display: 'Amoxicillin 250 MG Oral Capsule' } },
  { concept: { system: snomed, code: '55822004', display: 'Hyperlipidemia' }, medication: { system: rxnorm, code: '316672', display: 'Simvastatin 10 MG Oral Tablet' } },
  { concept: { system: snomed, code: '195967001', display: 'Asthma' }, medication: { system: rxnorm, code: '895994', display: '120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler' } },
  { concept: { system: snomed, code: '40055000', display: 'Chronic sinusitis (disorder)' }, medication: { system: rxnorm, code: '562251', display: 'Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet' } },
  { concept: { system: snomed, code: '35489007', display: 'Depressive disorder' }, medication: { system: rxnorm, code: '312938', display: 'Sertraline 100 MG Oral Tablet' } },
];

/** Procedures. */
export const procedures: readonly Concept[] = [
  { system: snomed, code: '430193006', display: 'Medication Reconciliation (procedure)' },
  { system: snomed, code: '73761001', display: 'Colonoscopy' },
  { system: snomed, code: '171207006', display: 'Depression screening (procedure)' },
  { system: snomed, code: '180256009', display: 'Subcutaneous immunotherapy' },
  { system: snomed, code: '710824005', display: 'Assessment of health and social care needs (procedure)' },
  { system: snomed, code: '76601001', display: 'Intramuscular injection' },
];

/** Encounter types. */
export const encounterTypes: readonly Concept[] = [
  { system: snomed, code: '162673000', display: 'General examination of patient (procedure)' },
  { system: snomed, code: '185345009', display: 'Encounter for symptom' },
  { system: snomed, code: '185349003', display: "Encounter for 'check-up'" },
  { system: snomed, code: '50849002', display: 'Emergency room admission (procedure)' },
  { system: snomed, code: '390906007', display: 'Follow-up encounter' },
];

/** Given names by administrative gender. */
export const givenNames = {
  female: ['Alice', 'Maria', 'Sofia', 'Emma', 'Olivia', 'Ava', 'Mia', 'Chloe', 'Grace', 'Hana', 'Ines', 'Julia'],
  male: ['James', 'Liam', 'Noah', 'Ethan', 'Lucas', 'Mateo', 'Omar', 'Ravi', 'Samuel', 'Theo', 'Victor', 'Yusuf'],
} as const;

/** Family names. */
export const familyNames: readonly string[] = ['Smith', 'Garcia', 'Chen', 'Okafor', 'Novak', 'Kowalski', 'Haddad', 'Nguyen', 'Schmidt', 'Rossi', 'Dubois', 'Tanaka', 'Silva', 'Ivanova', 'Murphy', 'Larsen'];

/** Cities with their state and postal prefix. */
export const cities: readonly { city: string; state: string; postal: string }[] = [
  { city: 'Boston', state: 'MA', postal: '021' },
  { city: 'Worcester', state: 'MA', postal: '016' },
  { city: 'Springfield', state: 'MA', postal: '011' },
  { city: 'Lowell', state: 'MA', postal: '018' },
  { city: 'Cambridge', state: 'MA', postal: '021' },
  { city: 'Brockton', state: 'MA', postal: '023' },
];
