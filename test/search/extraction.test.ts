/**
 * Index extraction: the compiled per-type walks give what `@medplum/core`'s
 * FHIRPath evaluator gives for the full R4 expressions, on every Synthea
 * resource and every parameter of its type; value conversion by hand-made cases;
 * Patient compartments from the R4 CompartmentDefinition.
 */
import { evalFhirPathTyped, parseFhirPath, toTypedValue } from '@medplum/core';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from '../../dev/certs.ts';
import { patientCompartmentsOf, patientCompartmentTypes } from '../../fhir-server/fhir/compartments.ts';
import { r4Definitions } from '../../fhir-server/fhir/definitions.ts';
import type { FhirResource } from '../../fhir-server/fhir/types.ts';
import { dateRange } from '../../fhir-server/search/dates.ts';
import { indexEntries } from '../../fhir-server/search/index-values.ts';
import { parametersOf } from '../../fhir-server/search/parameters.ts';
import { searchIndexOf, setSearchIndexing } from '../../fhir-server/search/search-index.ts';
import { liveDocument } from '../../fhir-server/store/document.ts';
import { expectedResources, readInLoadOrder } from '../fhir/support/synthea.ts';

const dataDir = join(repoRoot, '..', 'shared', 'data', 'synthea-r4');
const dataTest = existsSync(dataDir) ? test : test.skip;

const sorted = (entries: unknown[]): string[] => entries.map((e) => JSON.stringify(e)).sort();

dataTest('compiled extraction equals FHIRPath evaluation of the R4 expressions on Synthea resources of every type', async () => {
  const files = await readInLoadOrder((await readdir(dataDir)).filter((n) => n.endsWith('.json')).map((n) => join(dataDir, n)));
  const all = [...expectedResources(files).values()].map((r) => ({ ...r, meta: { lastUpdated: '2025-01-02T03:04:05.678Z' } }));
  // Up to 30 of each type (the full expressions cost milliseconds per resource to evaluate).
  const perType = new Map<string, number>();
  const resources = all.filter((r) => (perType.set(r.resourceType, (perType.get(r.resourceType) ?? 0) + 1).get(r.resourceType)! <= 30));
  const parsed = new Map<string, ReturnType<typeof parseFhirPath>>();
  const definitions = new Map(r4Definitions().searchParameters.map((sp) => [sp.url, sp]));
  let compared = 0;
  let nonEmpty = 0;
  for (const resource of resources) {
    for (const parameter of parametersOf(resource.resourceType).values()) {
      if (!parameter.extractor) continue;
      const expression = definitions.get(parameter.url)!.expression!;
      const mine = sorted(indexEntries(parameter.type, parameter.extractor.extract(resource)));
      if (!parsed.has(expression)) parsed.set(expression, parseFhirPath(expression));
      const fhirpath = sorted(indexEntries(parameter.type, evalFhirPathTyped(parsed.get(expression)!, [toTypedValue(resource)])));
      const what = `${resource.resourceType}/${resource.id} ${parameter.code} (${expression.slice(0, 80)})`;
      if (/\.as\(/.test(expression)) {
        // medplum's as() function returns its input unchanged; FHIRPath's keeps only the type named: ours is a subset.
        for (const entry of mine) assert.ok(fhirpath.includes(entry), what);
      } else assert.equal(mine, fhirpath, what);
      compared += 1;
      if (mine.length > 0) nonEmpty += 1;
    }
  }
  assert.is(perType.size, 16, [...perType.keys()].join());
  assert.ok(compared > 7_000 && nonEmpty > 2_000, `${compared} comparisons, ${nonEmpty} with values`);
});

test('every indexable R4 parameter compiles to a JSON walk, except expressions that are not paths', () => {
  const fhirpath: string[] = [];
  let paths = 0;
  for (const type of r4Definitions().resourceTypes) {
    for (const p of parametersOf(type).values()) {
      if (p.extractor?.kind === 'path') paths += 1;
      if (p.extractor?.kind === 'fhirpath') fhirpath.push(`${type}.${p.code}`);
    }
  }
  assert.equal(fhirpath, ['Patient.deceased']);
  assert.ok(paths > 2000, String(paths));
  const patient = parametersOf('Patient');
  assert.equal(patient.get('deceased')!.extractor!.extract({ resourceType: 'Patient', deceasedDateTime: '2020-01-01' }).map((v) => v.value), [true]);
  assert.match(parametersOf('Observation').get('code-value-quantity')!.unsupported!, /composite/);
  assert.match(parametersOf('Location').get('near')!.unsupported!, /special/);
  assert.is(parametersOf('Patient').get('_compartment'), undefined, "@medplum/core's own parameters are not R4");
});

test('index values: dates as ranges, names and addresses by part, tokens, quantities, references', () => {
  const index = searchIndexOf({
    resourceType: 'Patient',
    id: 'p',
    meta: { lastUpdated: '2024-05-06T07:08:09.010Z' },
    name: [{ family: 'Müller', given: ['Anna', 'Lena'], text: 'Anna Lena Müller' }],
    address: [{ line: ['1 Main St'], city: 'Zürich', postalCode: '8000' }],
    birthDate: '1980-02',
    gender: 'female',
    identifier: [{ system: 'urn:s', value: 'v1' }, { value: 'v2' }],
    telecom: [{ system: 'email', value: 'a@b.c' }],
    generalPractitioner: [{ reference: 'Practitioner/d/_history/2' }, { reference: '#contained' }, { reference: 'https://other.example/fhir/Practitioner/x' }],
  })!;
  assert.equal(index.p.birthdate, [{ s: Date.UTC(1980, 1, 1), e: Date.UTC(1980, 2, 1) - 1 }]);
  assert.equal(sorted(index.p.family!), sorted([{ n: 'muller', e: 'Müller' }]));
  assert.equal(index.p.name!.map((e) => (e as { n: string }).n).sort(), ['anna', 'anna lena muller', 'lena', 'muller']);
  assert.equal(index.p['address-city'], [{ n: 'zurich', e: 'Zürich' }]);
  assert.equal(index.p.gender, [{ c: 'female' }]);
  assert.equal(index.p.identifier, [{ s: 'urn:s', c: 'v1' }, { c: 'v2' }]);
  assert.equal(index.p.email, [{ s: 'email', c: 'a@b.c' }]);
  assert.equal(index.p['general-practitioner'], ['Practitioner/d', 'https://other.example/fhir/Practitioner/x']);
  assert.equal(index.p.deceased, [{ c: 'false' }], "FHIRPath: 'false and {}' is false");
  assert.is(index.o.birthdate, '1980-02-01T00:00:00.000Z|p');
  assert.is(index.o['-birthdate'], '1980-02-29T23:59:59.999Z|p');
  assert.is(index.o._lastUpdated, '2024-05-06T07:08:09.010Z|p');
  assert.is(index.o['death-date'], undefined, 'no value, no sort key');

  const observation = searchIndexOf({
    resourceType: 'Observation',
    id: 'o',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body Height' }], text: 'Height' },
    effectivePeriod: { start: '2020-01-01T10:00:00+02:00' },
    valueQuantity: { value: 180.5, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
  })!;
  assert.equal(observation.p.code, [{ s: 'http://loinc.org', c: '8302-2' }, { x: 'body height' }, { x: 'height' }]);
  assert.equal(observation.p.date, [{ s: Date.UTC(2020, 0, 1, 8), e: 8.64e15 }]);
  assert.equal(observation.p['value-quantity'], [{ v: 180.5, s: 'http://unitsofmeasure.org', c: 'cm', u: 'cm' }]);
  const claim = searchIndexOf({ resourceType: 'ExplanationOfBenefit', id: 'e', created: '2020', total: [{ amount: { value: 12.5, currency: 'USD' } }] })!;
  assert.equal(claim.p.created, [{ s: Date.UTC(2020, 0, 1), e: Date.UTC(2021, 0, 1) - 1 }]);
});

test('date ranges follow the precision written, time zones shift, impossible dates are refused', () => {
  assert.equal(dateRange('2020'), { start: Date.UTC(2020, 0, 1), end: Date.UTC(2021, 0, 1) - 1 });
  assert.equal(dateRange('2020-02-29'), { start: Date.UTC(2020, 1, 29), end: Date.UTC(2020, 2, 1) - 1 });
  assert.equal(dateRange('2020-01-01T10:00:00-05:00'), { start: Date.UTC(2020, 0, 1, 15), end: Date.UTC(2020, 0, 1, 15) + 999 });
  assert.equal(dateRange('2020-01-01T10:00:00.5Z'), { start: Date.UTC(2020, 0, 1, 10, 0, 0, 500), end: Date.UTC(2020, 0, 1, 10, 0, 0, 599) });
  assert.equal(dateRange('2020-01-01T10:00Z'), { start: Date.UTC(2020, 0, 1, 10), end: Date.UTC(2020, 0, 1, 10, 0, 59, 999) });
  assert.equal(dateRange('0050-06'), { start: Date.parse('0050-06-01T00:00:00Z'), end: Date.parse('0050-07-01T00:00:00Z') - 1 });
  for (const bad of ['2021-02-29', '2020-13', '20200101', '2020-01-01T25:00:00Z', 'x']) assert.is(dateRange(bad), undefined, bad);
});

test('Patient compartments come from the R4 CompartmentDefinition through the parameters it names', () => {
  const cases: [FhirResource, string[]][] = [
    [{ resourceType: 'Task', for: { reference: 'Patient/p9' }, focus: { reference: 'Patient/p8' } }, ['Patient/p8', 'Patient/p9']],
    [{ resourceType: 'Person', link: [{ target: { reference: 'Patient/p7' } }] }, ['Patient/p7']],
    [{ resourceType: 'Patient', id: 'p1', link: [{ other: { reference: 'Patient/p2' }, type: 'seealso' }] }, ['Patient/p1', 'Patient/p2']],
    [{ resourceType: 'Encounter', subject: { reference: 'Group/g' } }, []],
    [{ resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/a' }, recorder: { reference: 'Patient/b' }, asserter: { reference: 'Practitioner/c' } }, ['Patient/a', 'Patient/b']],
    [{ resourceType: 'Organization', id: 'o' }, []],
  ];
  for (const [resource, expected] of cases) assert.equal(patientCompartmentsOf(resource), expected, resource.resourceType);
  // Every parameter the definition names is one this server indexes (none silently ignored).
  for (const [type, codes] of r4Definitions().patientCompartment) {
    for (const code of codes) {
      const parameter = parametersOf(type).get(code);
      if (parameter) assert.ok(parameter.extractor && parameter.type === 'reference', `${type}.${code}`);
    }
  }
  assert.ok(patientCompartmentTypes.has('Observation') && patientCompartmentTypes.has('Patient') && !patientCompartmentTypes.has('Organization'));
  assert.is(patientCompartmentTypes.size, r4Definitions().patientCompartment.size);
});

test('indexing can be switched off: documents are written without idx', () => {
  const resource = { resourceType: 'Patient', id: 'x', gender: 'male' };
  assert.ok(liveDocument(resource, 1, 0).idx);
  setSearchIndexing(false);
  try {
    assert.is(liveDocument(resource, 1, 0).idx, undefined);
  } finally {
    setSearchIndexing(true);
  }
});

test.run();
