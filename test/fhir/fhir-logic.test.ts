/**
 * Pure FHIR logic: ids, ETags, entry URLs, references, Patient compartments,
 * Group members, the error table.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { groupMembersOf, patientCompartmentsOf } from '../../fhir-server/fhir/compartments.ts';
import { parseEntryUrl } from '../../fhir-server/fhir/entry-url.ts';
import { answerTo, errorTable } from '../../fhir-server/fhir/error-table.ts';
import { FhirError } from '../../fhir-server/fhir/errors.ts';
import { formatETag, parseIfMatch } from '../../fhir-server/fhir/etag.ts';
import { identifierQueryOf } from '../../fhir-server/fhir/identifier-search.ts';
import { isValidId, uuidOfUrn } from '../../fhir-server/fhir/ids.ts';
import { listReferences, mapReferences, parseConditionalReference, parseReference } from '../../fhir-server/fhir/references.ts';
import { stampMeta } from '../../fhir-server/store/document.ts';

test('ids follow the R4 rule', () => {
  for (const ok of ['a', 'A-1.b', '0'.repeat(64), 'f0e1d2c3-b4a5-4968-8776-655443322110']) assert.ok(isValidId(ok), ok);
  for (const bad of ['', 'a_b', 'a b', 'a/b', '0'.repeat(65), 'é', 7, undefined]) assert.not.ok(isValidId(bad), String(bad));
  assert.is(uuidOfUrn('urn:uuid:F0E1D2C3-B4A5-4968-8776-655443322110'), 'f0e1d2c3-b4a5-4968-8776-655443322110');
  assert.is(uuidOfUrn('urn:oid:1.2.3'), undefined);
});

test('ETags round-trip and malformed If-Match is invalid', () => {
  assert.is(formatETag(3), 'W/"3"');
  assert.is(parseIfMatch('W/"3"'), 3);
  assert.is(parseIfMatch('"12"'), 12);
  assert.is(parseIfMatch('7'), 7);
  assert.is(parseIfMatch(undefined), undefined);
  assert.throws(() => parseIfMatch('W/"abc"'), (e: unknown) => e instanceof FhirError && e.kind === 'invalid');
});

test('entry URLs: Type, Type/id, Type?search; absolute and deeper URLs are refused', () => {
  assert.equal(parseEntryUrl('Patient'), { type: 'Patient' });
  assert.equal(parseEntryUrl('/Patient/abc'), { type: 'Patient', id: 'abc' });
  assert.is(parseEntryUrl('Patient?identifier=x|y').search?.get('identifier'), 'x|y');
  assert.throws(() => parseEntryUrl('http://other/fhir/Patient/1'), (e: unknown) => e instanceof FhirError && e.kind === 'not-supported');
  assert.throws(() => parseEntryUrl('Patient/1/_history/2'), (e: unknown) => e instanceof FhirError && e.kind === 'not-supported');
  assert.throws(() => parseEntryUrl('Nope/1'), (e: unknown) => e instanceof FhirError && e.kind === 'not-found');
  assert.throws(() => parseEntryUrl(''), (e: unknown) => e instanceof FhirError && e.kind === 'invalid');
});

test('references: found at any depth, rewritten in place, parsed', () => {
  const resource = { resourceType: 'Claim', patient: { reference: 'urn:uuid:1' }, item: [{ encounter: [{ reference: 'urn:uuid:2' }] }], contained: [{ resourceType: 'Coverage', beneficiary: { reference: 'urn:uuid:1' } }], referral: { reference: '#referral' } };
  assert.equal(listReferences(resource), ['urn:uuid:1', 'urn:uuid:2', 'urn:uuid:1', '#referral']);
  mapReferences(resource, (r) => ({ 'urn:uuid:1': 'Patient/1', 'urn:uuid:2': 'Encounter/2' })[r]);
  assert.equal(listReferences(resource), ['Patient/1', 'Encounter/2', 'Patient/1', '#referral']);
  assert.equal(parseReference('Patient/abc/_history/2'), { type: 'Patient', id: 'abc', versionId: '2' });
  assert.is(parseReference('http://x/Patient/1'), undefined);
  assert.is(parseReference('Unknown/1'), undefined);
  assert.is(parseConditionalReference('Organization?identifier=a|b')?.type, 'Organization');
  assert.equal(identifierQueryOf(new URLSearchParams('identifier=a|b'), 'x'), { system: 'a', value: 'b' });
  assert.equal(identifierQueryOf(new URLSearchParams('identifier=b'), 'x'), { value: 'b' });
  assert.throws(() => identifierQueryOf(new URLSearchParams('name=b'), 'x'), (e: unknown) => e instanceof FhirError && e.kind === 'not-supported');
});

test('Patient compartments follow the R4 definition for the common types', () => {
  const cases: [Record<string, unknown>, string[]][] = [
    [{ resourceType: 'Patient', id: 'p1' }, ['Patient/p1']],
    [{ resourceType: 'Observation', subject: { reference: 'Patient/p1' }, performer: [{ reference: 'Practitioner/d' }, { reference: 'Patient/p2' }] }, ['Patient/p1', 'Patient/p2']],
    [{ resourceType: 'Observation', subject: { reference: 'Group/g1' } }, []],
    [{ resourceType: 'Encounter', subject: { reference: 'Patient/p1' }, participant: [{ individual: { reference: 'Practitioner/d' } }] }, ['Patient/p1']],
    [{ resourceType: 'Condition', subject: { reference: 'Patient/p1' }, asserter: { reference: 'Patient/p1' } }, ['Patient/p1']],
    [{ resourceType: 'MedicationRequest', subject: { reference: 'Patient/p1' }, requester: { reference: 'Practitioner/d' } }, ['Patient/p1']],
    [{ resourceType: 'Procedure', subject: { reference: 'Patient/p1' }, performer: [{ actor: { reference: 'Patient/p3' } }] }, ['Patient/p1', 'Patient/p3']],
    [{ resourceType: 'Claim', patient: { reference: 'Patient/p1' }, provider: { reference: 'Organization/o' } }, ['Patient/p1']],
    [{ resourceType: 'ExplanationOfBenefit', patient: { reference: 'Patient/p1' } }, ['Patient/p1']],
    [{ resourceType: 'Immunization', patient: { reference: 'Patient/p1' } }, ['Patient/p1']],
    [{ resourceType: 'CareTeam', subject: { reference: 'Patient/p1' }, participant: [{ member: { reference: 'Patient/p1' } }, { member: { reference: 'Practitioner/d' } }] }, ['Patient/p1']],
    [{ resourceType: 'Coverage', beneficiary: { reference: 'Patient/p4' }, payor: [{ reference: 'Organization/o' }] }, ['Patient/p4']],
    [{ resourceType: 'Organization', id: 'o' }, []],
    [{ resourceType: 'Practitioner', id: 'd' }, []],
  ];
  for (const [resource, expected] of cases) assert.equal(patientCompartmentsOf(resource as never), expected, String(resource.resourceType));
});

test('Group members: active entity references only', () => {
  const group = { resourceType: 'Group', member: [{ entity: { reference: 'Patient/a' } }, { entity: { reference: 'Patient/b' }, inactive: true }, { entity: { reference: 'urn:uuid:x' } }, { entity: { reference: 'Patient/a' } }] };
  assert.equal(groupMembersOf(group), ['Patient/a']);
  assert.is(groupMembersOf({ resourceType: 'Patient' }), undefined);
});

test('server meta replaces client meta versionId and lastUpdated, keeps the rest', () => {
  const stamped = stampMeta({ resourceType: 'Patient', id: 'x', meta: { versionId: '9', lastUpdated: '2000-01-01T00:00:00Z', tag: [{ code: 't' }] }, active: true }, 2, '2024-01-01T00:00:00.000Z');
  assert.equal(stamped, { resourceType: 'Patient', id: 'x', meta: { versionId: '2', lastUpdated: '2024-01-01T00:00:00.000Z', tag: [{ code: 't' }] }, active: true });
});

test('every error kind has one answer; internal errors hide their message', () => {
  for (const [kind, answer] of Object.entries(errorTable)) {
    const answered = answerTo(new FhirError(kind as never, 'detail'));
    assert.is(answered.status, answer.status);
    assert.is(answered.outcome.issue[0]!.code, answer.issueCode);
  }
  const internal = answerTo(new Error('secret connection string'));
  assert.is(internal.status, 500);
  assert.is(internal.outcome.issue[0]!.diagnostics, 'Internal server error');
  assert.is(answerTo(new FhirError('throttled', 'busy')).statusLine, '429 Too Many Requests');
});

test.run();
