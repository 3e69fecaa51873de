/**
 * R4 validation of resources, without a store: what a write refuses and how it
 * names each problem (FHIRPath expressions), required bindings from the R4
 * value sets, contained resources, extensions, choice types and `_element`
 * extensions, the Synthea data and the synthetic generator's output (all
 * valid), `@medplum/core`'s own validator as a second opinion, what keeps a
 * stored resource out of an export, and the list of checked bindings in
 * docs/validation.md.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from '../../dev/certs.ts';
import { answerTo } from '../../fhir-server/fhir/error-table.ts';
import { FhirError } from '../../fhir-server/fhir/errors.ts';
import { validateResource } from '../../fhir-server/fhir/validate.ts';
import { requiredBindingRows } from '../../fhir-server/fhir/validation/binding-report.ts';
import { datatypeIssues, resourceIssues } from '../../fhir-server/fhir/validation/resource-check.ts';
import { exportBlockers, storedResourceIssues } from '../../fhir-server/fhir/validation/stored-resource.ts';
import { requiredBinding } from '../../fhir-server/fhir/validation/value-sets.ts';
import { syntheticResources } from '../../fhir-server/seed/synthetic.ts';
import { VALIDATION_DOC, withRequiredBindings } from '../../scripts/validation-docs.ts';
import { structureIssues } from './support/medplum-validator.ts';

const dataDir = join(repoRoot, '..', 'shared', 'data', 'synthea-r4');
const haveData = existsSync(dataDir);
if (!haveData) process.stdout.write(`SKIPPING the Synthea data tests: ${dataDir} is absent\n`);
const dataTest = haveData ? test : test.skip;

type Json = Record<string, unknown>;

/** The issues a write answers for `body` as `[expression, code]` pairs (none when it is accepted). */
function refused(body: unknown): [string, string][] {
  try {
    validateResource(body);
    return [];
  } catch (error) {
    assert.instance(error, FhirError);
    const outcome = answerTo(error).outcome;
    assert.is(answerTo(error).status, 400, (error as Error).message);
    return outcome.issue.map((i) => [i.expression?.[0] ?? '', i.code]);
  }
}

function synthea(): Json[] {
  const out: Json[] = [];
  for (const name of readdirSync(dataDir).filter((n) => n.endsWith('.json'))) {
    const body = JSON.parse(readFileSync(join(dataDir, name), 'utf8')) as Json & { entry?: { resource: Json }[] };
    if (body.resourceType === 'Bundle') out.push(...(body.entry ?? []).map((e) => e.resource));
    else out.push(body);
  }
  return out;
}

test('a write is refused with one issue per problem, each at the FHIRPath of its element', () => {
  assert.equal(refused({ resourceType: 'Patient', birthDate: 'not-a-date', gender: 12 }), [
    ['Patient.birthDate', 'value'],
    ['Patient.gender', 'structure'],
  ]);
  assert.equal(refused({ resourceType: 'Patient', name: { family: 'F' }, nickname: 'x', active: 'yes', multipleBirthInteger: 2.5 }), [
    ['Patient.name', 'structure'],
    ['Patient.nickname', 'structure'],
    ['Patient.active', 'structure'],
    ['Patient.multipleBirth.ofType(integer)', 'value'],
  ]);
  assert.equal(refused({ resourceType: 'Observation' }), [
    ['Observation.status', 'required'],
    ['Observation.code', 'required'],
  ]);
  // Formats of the primitive types, with @medplum/core's patterns.
  const formats: [string, Json][] = [
    ['Observation.issued', { issued: '2020-01-01' }], // instant needs a time and zone
    ['Observation.effective.ofType(dateTime)', { effectiveDateTime: '2020-13-01' }],
    ['Observation.identifier[0].system', { identifier: [{ system: 'has space' }] }], // uri
    ['Observation.meta.versionId', { meta: { versionId: 'a b' } }], // id
    ['Observation.value.ofType(Quantity).value', { valueQuantity: { value: '1.0' } }], // decimal is a JSON number
    ['Observation.value.ofType(Quantity).code', { valueQuantity: { value: 1, code: 'a  b' } }], // code
  ];
  for (const [expression, extra] of formats) {
    assert.equal(refused({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...extra }).map(([e]) => e), [expression], expression);
  }
  assert.equal(refused({ resourceType: 'Patient', id: 'bad_id' }), [['Patient.id', 'value']]);
  assert.equal(refused({ resourceType: 'Patient', name: [], gender: null, birthDate: '' }).map(([e]) => e), ['Patient.name', 'Patient.gender', 'Patient.birthDate']);
  assert.equal(refused({ resourceType: 'Patient', gender: 'female', name: [{ family: 'F' }], birthDate: '1970-01-01' }), []);
});

test('required bindings come from the R4 value sets, on code, Coding and CodeableConcept elements at any depth', () => {
  assert.equal(refused({ resourceType: 'Patient', gender: 'weird' }), [['Patient.gender', 'code-invalid']]);
  assert.equal(refused({ resourceType: 'Observation', status: 'bogus', code: { text: 'x' } }), [['Observation.status', 'code-invalid']]);
  assert.equal(refused({ resourceType: 'Patient', name: [{ use: 'nick', family: 'F' }] }), [['Patient.name[0].use', 'code-invalid']]); // HumanName.use
  assert.equal(refused({ resourceType: 'Patient', text: { status: 'weird', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' } }), [['Patient.text.status', 'code-invalid']]);
  assert.equal(refused({ resourceType: 'Patient', contact: [{ gender: 'x', name: { family: 'F' } }] }), [['Patient.contact[0].gender', 'code-invalid']]);
  const condition = (coding: Json[]) => ({ resourceType: 'Condition', subject: { reference: 'Patient/p' }, clinicalStatus: { coding } });
  assert.equal(refused(condition([{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }])), []);
  assert.equal(refused(condition([{ system: 'http://example.org', code: 'active' }])), [['Condition.clinicalStatus', 'code-invalid']]);
  assert.equal(refused(condition([{ code: 'active' }])), [['Condition.clinicalStatus', 'code-invalid']], 'a coding needs its system');
  const gender = requiredBinding('http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1');
  assert.ok(gender.checked && [...gender.codes].sort().join() === 'female,male,other,unknown');
  const mime = requiredBinding('http://hl7.org/fhir/ValueSet/mimetypes');
  assert.ok(!mime.checked && /urn:ietf:bcp:13/.test(mime.reason), 'media types are an external code system');
  // Composition.confidentiality's value set lives in the v3 file, read when first needed.
  const confidentiality = requiredBinding('http://terminology.hl7.org/ValueSet/v3-ConfidentialityClassification');
  assert.ok(confidentiality.checked && confidentiality.codes.has('N'));
});

test('contained resources, extensions, choice types and _element extensions are validated where they are', () => {
  const patient = {
    resourceType: 'Patient',
    contained: [{ resourceType: 'Organization', id: 'o', active: 'yes' }, { resourceType: 'Nope' }],
    extension: [
      { url: 'http://example.org/a', valueBoolean: 'true' },
      { url: 'http://example.org/b', extension: [{ url: 'inner', valueDate: '2020-02-30x' }] },
      { url: 'http://example.org/c', valueString: 'a', valueBoolean: true },
      { valueString: 'no url' },
    ],
    birthDate: '2000-01-01',
    _birthDate: { extension: [{ url: 'http://example.org/time', valueDateTime: 'noon' }] },
    name: [{ given: ['A', null], _given: [null, { extension: [{ url: 'http://example.org/n', valueString: 5 }] }] }],
    _gender: { unknown: true },
    deceasedBoolean: 'no',
  };
  assert.equal(refused(patient), [
    ['Patient.contained[1]', 'structure'],
    ['Patient.contained[0].active', 'structure'],
    ['Patient.extension[0].value.ofType(boolean)', 'structure'],
    ['Patient.extension[1].extension[0].value.ofType(date)', 'value'],
    ['Patient.extension[2].value', 'structure'],
    ['Patient.extension[3].url', 'required'],
    ['Patient.birthDate.extension[0].value.ofType(dateTime)', 'value'],
    ['Patient.name[0].given[1].extension[0].value.ofType(string)', 'structure'],
    ['Patient.gender.unknown', 'structure'],
    ['Patient.deceased.ofType(boolean)', 'structure'],
  ]);
  // Valid forms of the same: a primitive with only an extension, a null placeholder in a primitive array, nested extensions.
  assert.equal(
    refused({
      resourceType: 'Patient',
      contained: [{ resourceType: 'Organization', id: 'o', name: 'Org' }],
      managingOrganization: { reference: '#o' },
      extension: [{ url: 'http://example.org/b', extension: [{ url: 'inner', valueDate: '2020-02' }] }],
      _gender: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] },
      name: [{ given: ['A', null], _given: [null, { extension: [{ url: 'http://example.org/n', valueString: 'B' }] }] }],
    }),
    [],
  );
  // Invariants of resources and elements, once the datatypes are right.
  assert.equal(refused({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'a', dataAbsentReason: { text: 'n' } }), [['Observation', 'invariant']]);
  assert.equal(refused({ resourceType: 'Patient', extension: [{ url: 'http://example.org/empty' }] }), [['Patient.extension[0]', 'invariant']]);
  // Inside a Bundle stored as a resource (a document), entries are resources too.
  assert.equal(refused({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', gender: 12 } }] }), [['Bundle.entry[0].resource.gender', 'structure']]);
});

dataTest('every Synthea resource is valid, and @medplum/core agrees; mutated copies are refused by both', () => {
  const resources = synthea();
  assert.ok(resources.length > 1900, `${resources.length} resources`);
  for (const resource of resources) {
    const key = `${String(resource.resourceType)}/${String(resource.id)}`;
    assert.equal(storedResourceIssues(resource), [], key);
    assert.equal(structureIssues(resource), [], `${key} (medplum)`);
  }
  // Mutations of real resources, one per kind: ours and @medplum/core's validator both refuse each.
  const mutations: [string, (r: Json) => void][] = [
    ['unknown element', (r) => (r.favouriteColour = 'blue')],
    ['number for a string', (r) => (r.id = 12)],
    ['array for a single value', (r) => (r.meta = [{}])],
    ['required element gone', (r) => delete r[r.resourceType === 'Observation' ? 'status' : 'resourceType']],
    ['bad instant', (r) => (r.meta = { lastUpdated: 'yesterday' })],
  ];
  let compared = 0;
  for (const resource of resources.filter((r) => r.resourceType === 'Observation').slice(0, 40)) {
    for (const [name, mutate] of mutations) {
      const copy = structuredClone(resource);
      mutate(copy);
      if (copy.resourceType === undefined) continue;
      assert.ok(resourceIssues(copy).length > 0 || storedResourceIssues(copy).length > 0, `ours accepts ${name}`);
      assert.ok((structureIssues(copy) ?? ['refused']).length > 0, `medplum accepts ${name}`);
      compared += 1;
    }
  }
  assert.ok(compared >= 160, `${compared} mutations compared`);
});

test('the synthetic generator (npm run seed, fhirmesh seed) writes only valid resources', () => {
  let count = 0;
  for (const batch of syntheticResources({ patients: 40, seed: 'validation' })) {
    for (const resource of batch) {
      assert.equal(storedResourceIssues(resource), [], `${resource.resourceType}/${resource.id}`);
      count += 1;
    }
  }
  assert.ok(count > 700, `${count} resources`);
});

test('a stored resource is kept out of an export only for values that break their datatypes', () => {
  const breaking = [
    { resourceType: 'Patient', id: 'p1', birthDate: 'not-a-date' },
    { resourceType: 'Patient', id: 'p2', gender: 12 },
    { resourceType: 'Patient', id: 'p3', gender: 'weird' },
    { resourceType: 'Patient', id: 'p4', nickname: 'x' },
    { resourceType: 'Patient', id: 'p5', name: { family: 'F' } },
    { resourceType: 'Patient', id: 'bad id' },
    { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, valueQuantity: { value: '7' } },
  ];
  for (const resource of breaking) {
    assert.ok(exportBlockers(resource).length > 0, JSON.stringify(resource));
    assert.ok(datatypeIssues(resource).every((i) => i.breaksDatatype));
  }
  // Problems that are not about datatypes: reported by storedResourceIssues, exported as they are.
  const notBreaking = [
    { resourceType: 'Observation', id: 'o2' }, // cardinality
    { resourceType: 'Observation', id: 'o3', status: 'final', code: { text: 'x' }, valueString: 'a', dataAbsentReason: { text: 'n' } }, // invariant
    { resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p' }, clinicalStatus: { text: 'active' } }, // CodeableConcept binding
    { resourceType: 'Patient', id: 'p6', name: [] }, // empty array
  ];
  for (const resource of notBreaking) {
    assert.equal(exportBlockers(resource), [], JSON.stringify(resource));
    assert.ok(storedResourceIssues(resource).length > 0, JSON.stringify(resource));
  }
  assert.equal(storedResourceIssues('not an object').map((i) => i.expression), ['Resource']);
  assert.equal(storedResourceIssues({ resourceType: 'Nope', id: 'x' }).map((i) => i.expression), ['Resource.resourceType']);
});

test('docs/validation.md lists the required bindings as checked (npm run docs:validation regenerates it)', () => {
  const rows = requiredBindingRows();
  const gender = rows.find((r) => r.valueSet === 'http://hl7.org/fhir/ValueSet/administrative-gender');
  assert.ok(gender?.elements.includes('Patient.gender') && gender.codes === 4);
  assert.ok(rows.filter((r) => r.reason).length <= 10 && rows.length > 200, `${rows.length} value sets`);
  const page = readFileSync(VALIDATION_DOC, 'utf8');
  assert.ok(page === withRequiredBindings(page), 'docs/validation.md is out of date: run npm run docs:validation');
});

test.run();
