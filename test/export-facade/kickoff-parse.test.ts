/**
 * The kick-off validator alone (pure functions): headers, every parameter's
 * malformed forms, strict vs lenient handling, levels, POST bodies and
 * destination parameters.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspect } from 'node:util';
import { FhirError } from '../../fhir-server/fhir/errors.ts';
import { parametersFromBody, parametersFromQuery, type KickoffInput, type RawParameter } from '../../fhir-server/export/facade/kickoff-input.ts';
import { parseKickoff } from '../../fhir-server/export/facade/kickoff-parse.ts';
import { facadeOptions, type FacadeOptionsInput } from '../../fhir-server/export/facade/options.ts';
import type { ExportLevel } from '../../fhir-server/export/ports.ts';

const now = new Date('2024-06-01T12:00:00Z');
const options = (over: FacadeOptionsInput = {}) => facadeOptions({ now: () => now, ...over });
const async = 'respond-async';
const lenient = 'respond-async, handling=lenient';

function get(query: string, extra: Partial<KickoffInput> = {}, over?: FacadeOptionsInput) {
  const input: KickoffInput = { level: 'system', form: 'query', parameters: parametersFromQuery(query), prefer: async, requestUrl: `https://fhir.test/$export?${query}`, ...extra };
  return parseKickoff(input, options(over));
}

function post(parameters: RawParameter[], level: ExportLevel = 'patient', extra: Partial<KickoffInput> = {}) {
  return parseKickoff({ level, form: 'body', parameters, prefer: async, requestUrl: 'https://fhir.test/Patient/$export', ...extra }, options());
}

/** Expects `run` to throw a FhirError of `kind` located at `parameter`, its message naming it and matching `why`. */
function refused(run: () => unknown, kind: string, parameter: string, why?: RegExp): FhirError {
  try {
    run();
  } catch (err) {
    assert.instance(err, FhirError);
    const e = err as FhirError;
    assert.is(e.kind, kind, e.message);
    assert.is(e.expression, parameter, e.message);
    if (!['Accept', 'Prefer', 'Parameters'].includes(parameter) && !parameter.startsWith('Parameters.')) assert.ok(e.message.includes(parameter), e.message);
    if (why) assert.match(e.message, why);
    return e;
  }
  throw new assert.Assertion({ message: `expected ${kind} at ${parameter}; it was accepted`, operator: 'refused', expects: kind, actual: 'accepted' });
}

test('a bare GET kick-off: every type, NDJSON, strict, the default container, the URL as sent', () => {
  const { request, destination } = get('');
  assert.equal(request, {
    level: 'system', types: [], typeFilters: [], elements: [], patients: [], includeAssociatedData: [],
    outputFormat: 'application/fhir+ndjson', handling: 'strict', notes: [], requestUrl: 'https://fhir.test/$export?',
  });
  assert.equal(destination, { kind: 'default', container: 'fhir-export' });
});

test('Accept (REST): FHIR JSON or a wildcard are fine; absent or ruling FHIR JSON out is refused when strict and noted when lenient; gRPC has none', () => {
  for (const accept of [undefined, 'application/fhir+json', 'application/fhir+json; fhirVersion=4.0', 'application/json', '*/*', 'text/html, */*;q=0.1']) assert.equal(get('', { accept }).request.notes, []);
  refused(() => get('', { accept: '' }), 'invalid', 'Accept', /no Accept header.*refused/);
  refused(() => get('', { accept: 'application/xml' }), 'not-supported', 'Accept', /refused/);
  refused(() => get('', { accept: 'text/html, application/fhir+json;q=0' }), 'not-supported', 'Accept');
  for (const accept of ['', 'application/xml']) assert.match(get('', { accept, prefer: lenient }).request.notes[0]!, /went ahead under lenient handling/);
});

test('every refusal says the kick-off was refused and never that something was left out or ignored; every lenient note says what became of the value', () => {
  const off = { features: { elements: false, typeFilter: false, patient: false, until: false } };
  const unsupported: [string, Partial<KickoffInput>, FacadeOptionsInput?][] = [
    ['_count=1', {}],
    ['organizeOutputBy=Patient', {}],
    ['allowPartialManifests=true', {}],
    ['_type=Foo,Patient', {}],
    ['_type=OperationOutcome,Patient', {}],
    [`_typeFilter=${encodeURIComponent('Foo?x=1')}`, {}],
    [`_typeFilter=${encodeURIComponent('OperationOutcome?x=1')}`, {}],
    [`_typeFilter=${encodeURIComponent('Observation?code-value-quantity=8480-6$gt5')}`, {}],
    ['includeAssociatedData=_custom', {}],
    ['_elements=id', {}, off],
    ['_until=2024-01-01T00:00:00Z', {}, off],
    [`_typeFilter=${encodeURIComponent('Observation?status=final')}`, {}, off],
    ['', { accept: '' }],
  ];
  for (const [query, extra, over] of unsupported) {
    let message = '';
    try {
      get(query, extra, over);
    } catch (err) {
      message = (err as Error).message;
    }
    assert.match(message, /refused/, `${query}: ${message}`);
    assert.not.match(message, /left out|ignored|went ahead/, `${query}: ${message}`);
    const notes = get(query, { ...extra, prefer: lenient }, over).request.notes;
    assert.is(notes.length, 1, query);
    assert.match(notes[0]!, /left out|ignored|went ahead/, `${query}: ${notes[0]}`);
    assert.not.match(notes[0]!, /refused/, `${query}: ${notes[0]}`);
  }
  const patientOnly = post([{ name: 'patient', value: 'Patient/1', reference: true }], 'patient', { prefer: lenient });
  assert.equal(patientOnly.request.notes, []);
});

test('Prefer: respond-async is required; handling is strict, lenient, or refused', () => {
  refused(() => get('', { prefer: undefined }), 'invalid', 'Prefer', /respond-async/);
  refused(() => get('', { prefer: 'handling=lenient' }), 'invalid', 'Prefer', /respond-async/);
  assert.is(get('', { prefer: 'respond-async; wait=10, handling=lenient' }).request.handling, 'lenient');
  assert.is(get('', { prefer: 'respond-async,handling=strict' }).request.handling, 'strict');
  refused(() => get('', { prefer: 'respond-async, handling=sloppy' }), 'invalid', 'Prefer');
  refused(() => get('', { prefer: 'respond-async, handling=strict, handling=lenient' }), 'invalid', 'Prefer');
});

test('_outputFormat: the three NDJSON spellings; anything else and repeats are refused', () => {
  for (const format of ['application/fhir+ndjson', 'application/ndjson', 'ndjson', 'application%2Ffhir%2Bndjson', 'Application/FHIR%2BNDJSON']) assert.is(get(`_outputFormat=${format}`).request.outputFormat, 'application/fhir+ndjson');
  for (const format of ['application/fhir+json', 'text/csv', '', 'ndjson2']) refused(() => get(`_outputFormat=${encodeURIComponent(format)}`), 'invalid', '_outputFormat');
  refused(() => get('_outputFormat=ndjson&_outputFormat=ndjson'), 'invalid', '_outputFormat', /only once/);
});

test('_since and _until: FHIR instants, normalised to UTC; dates, impossible days, the future, reversed ranges and repeats are refused', () => {
  assert.is(get('_since=2024-01-02T03:04:05.678%2B02:00').request.since, '2024-01-02T01:04:05.678Z');
  assert.is(get('_since=2020-01-01T00:00:00+02:00').request.since, '2019-12-31T22:00:00.000Z', 'an unencoded + arrives as a space');
  assert.is(get('_since=2024-01-01T00:00:00Z&_until=2024-02-01T00:00:00Z').request.until, '2024-02-01T00:00:00.000Z');
  for (const bad of ['2024-01-01', '2024-01-01T00:00Z', '2024-02-30T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T00:00:00', 'yesterday', '2016-12-31T23:59:60Z']) {
    refused(() => get(`_since=${encodeURIComponent(bad)}`), 'invalid', '_since');
    refused(() => get(`_until=${encodeURIComponent(bad)}`), 'invalid', '_until');
  }
  refused(() => get('_since=2024-06-01T12:00:01Z'), 'invalid', '_since', /future/);
  assert.is(get('_since=2024-06-01T12:00:00Z').request.since, '2024-06-01T12:00:00.000Z', 'now itself is not the future');
  refused(() => get('_since=2024-02-01T00:00:00Z&_until=2024-01-01T00:00:00Z'), 'invalid', '_until', /before _since/);
  refused(() => get('_since=2024-01-01T00:00:00Z&_since=2024-01-02T00:00:00Z'), 'invalid', '_since', /only once/);
  refused(() => get('_until=2024-01-01T00:00:00Z&_until=2024-01-02T00:00:00Z'), 'invalid', '_until', /only once/);
});

test('_type: comma lists and repeats merge without duplicates; empty items and non-names are malformed in any handling', () => {
  assert.equal(get('_type=Patient,Observation&_type=Condition,Patient').request.types, ['Patient', 'Observation', 'Condition']);
  assert.equal(get('_type=%20Patient%20,%20Observation').request.types, ['Patient', 'Observation']);
  for (const bad of ['Patient,,Observation', 'Patient,', '', 'patient', 'Pat ient', 'Patient/1', 'Patient?x=1']) {
    refused(() => get(`_type=${encodeURIComponent(bad)}`, { prefer: lenient }), 'invalid', '_type');
  }
});

test('_type: unknown or unstored types are refused when strict, left out with a note when lenient, never leaving "all types"', () => {
  refused(() => get('_type=Patient,Foo'), 'not-supported', '_type', /Foo/);
  const { request } = get('_type=Patient,Foo', { prefer: lenient });
  assert.equal(request.types, ['Patient']);
  assert.equal(request.notes.length, 1);
  assert.match(request.notes[0]!, /Foo/);
  refused(() => get('_type=Foo', { prefer: lenient }), 'invalid', '_type', /no type/);
  refused(() => get('_type=OperationOutcome'), 'not-supported', '_type');
  assert.equal(get('_type=Practitioner').request.types, ['Practitioner'], 'system level exports any stored type');
});

test('_type at Patient and Group level: types outside the Patient compartment are kept in any handling (no output; the plan notes it), repeated or comma-separated', () => {
  const strict = get('_type=Practitioner,Observation&_type=Organization,Practitioner', { level: 'patient' }).request;
  assert.equal([strict.types, strict.notes], [['Practitioner', 'Observation', 'Organization'], []]);
  assert.equal(get('_type=Location', { level: 'group', groupId: 'g1' }).request.types, ['Location']);
  assert.equal(get('_type=Location', { level: 'group', groupId: 'g1', prefer: lenient }).request.types, ['Location']);
  const filtered = get(`_typeFilter=${encodeURIComponent('Practitioner?active=true')}`, { level: 'patient' }).request;
  assert.equal(filtered.typeFilters, ['Practitioner?active=true']);
  assert.match(filtered.notes[0]!, /Practitioner.*not in the Patient compartment.*no Practitioner output/);
});

test('_typeFilter: Type?query values, repeated or comma-joined; malformed, foreign and result-parameter queries are refused', () => {
  assert.equal(get(`_type=Observation&_typeFilter=${encodeURIComponent('Observation?status=final')}`).request.typeFilters, ['Observation?status=final']);
  const joined = encodeURIComponent('MedicationRequest?status=active,MedicationRequest?status=completed&_id=m1,m2');
  assert.equal(get(`_typeFilter=${joined}`).request.typeFilters, ['MedicationRequest?status=active', 'MedicationRequest?status=completed&_id=m1,m2']);
  assert.equal(get(`_typeFilter=${encodeURIComponent('Observation?status=final,amended')}`).request.typeFilters, ['Observation?status=final,amended'], 'a comma inside a query value stays');
  refused(() => get(`_type=Patient&_typeFilter=${encodeURIComponent('Observation?status=final')}`), 'invalid', '_typeFilter', /_type does not include/);
  for (const bad of ['Observation', 'Observation?', 'observation?x=1', 'Observation?_include=Observation:subject', 'Observation?_sort=date', 'Observation?status=', 'Observation?bad%20name=1', '?status=final']) {
    refused(() => get(`_typeFilter=${encodeURIComponent(bad)}`, { prefer: lenient }), 'invalid', '_typeFilter');
  }
  refused(() => get(`_typeFilter=${encodeURIComponent('Foo?x=1')}`), 'not-supported', '_typeFilter', /Foo/);
  const lenientOne = get(`_type=Observation,Foo&_typeFilter=${encodeURIComponent('Foo?x=1')},${encodeURIComponent('Observation?code=1')}`, { prefer: lenient });
  assert.equal([lenientOne.request.types, lenientOne.request.typeFilters, lenientOne.request.notes.length], [['Observation'], ['Observation?code=1'], 1]);
});

test('_typeFilter the engine cannot evaluate is refused when strict and noted when lenient, never applied silently as no filter', () => {
  for (const text of ['Observation?code-value-quantity=8480-6$gt5', 'Observation?no-such-parameter=1', 'Observation?status:below=final']) {
    const query = encodeURIComponent(text);
    const name = /\?([a-z-]+)/.exec(text)![1]!;
    refused(() => get(`_typeFilter=${query}`), 'not-supported', '_typeFilter', new RegExp(`${name}.*refused`));
    const { request } = get(`_typeFilter=${query},${encodeURIComponent('Observation?status=final')}`, { prefer: lenient });
    assert.equal(request.typeFilters, ['Observation?status=final']);
    assert.match(request.notes[0]!, new RegExp(`${name}.*ignored`));
  }
  // Every search parameter the search engine applies is a filter the export applies too.
  assert.equal(get(`_typeFilter=${encodeURIComponent('Observation?value-quantity=gt5||mg')}`).request.typeFilters, ['Observation?value-quantity=gt5||mg']);
  refused(() => get(`_typeFilter=${encodeURIComponent('Observation?date=notadate')}`), 'invalid', '_typeFilter');
});

test('_elements: [Type.]element with root elements only', () => {
  assert.equal(get('_elements=Patient.id,meta&_elements=Observation.value[x]').request.elements, ['Patient.id', 'meta', 'Observation.value[x]']);
  for (const bad of ['Patient.name.given', 'Foo.id', 'Patient.', '.id', 'Name', 'Patient.id,']) refused(() => get(`_elements=${encodeURIComponent(bad)}`), 'invalid', '_elements');
});

test('patient: POST only, Patient and Group level, Patient/<id> references given as valueReference', () => {
  const ref = (reference: string): RawParameter => ({ name: 'patient', value: reference, reference: true });
  assert.equal(post([ref('Patient/1'), ref('Patient/a-2.b'), ref('Patient/1')]).request.patients, ['Patient/1', 'Patient/a-2.b']);
  assert.equal(post([ref('Patient/1')], 'group', { groupId: 'g1' }).request.patients, ['Patient/1']);
  refused(() => get('patient=Patient/1', { level: 'patient' }), 'invalid', 'patient', /POST/);
  refused(() => post([ref('Patient/1')], 'system'), 'invalid', 'patient', /system-level/);
  for (const bad of ['Practitioner/1', 'Patient/', 'Patient/a/b', 'https://x/Patient/1', 'Patient/' + 'x'.repeat(65)]) refused(() => post([ref(bad)]), 'invalid', 'patient');
  refused(() => post([{ name: 'patient', value: 'Patient/1' }]), 'invalid', 'patient', /valueReference/);
  refused(() => post([{ name: '_type', value: 'Patient', reference: true }]), 'invalid', '_type', /not a Reference/);
});

test('includeAssociatedData: IG codes pass, comma-separated or repeated; unknown values are refused when strict and noted when lenient; non-codes are malformed', () => {
  const both = ['LatestProvenanceResources', 'RelevantProvenanceResources'];
  assert.equal(get('includeAssociatedData=LatestProvenanceResources,RelevantProvenanceResources').request.includeAssociatedData, both);
  assert.equal(get('includeAssociatedData=LatestProvenanceResources&includeAssociatedData=RelevantProvenanceResources,LatestProvenanceResources').request.includeAssociatedData, both);
  for (const unknown of ['_myPreset', 'Everything', 'latestprovenanceresources']) {
    const strict = refused(() => get(`includeAssociatedData=${unknown}`), 'not-supported', 'includeAssociatedData');
    assert.ok(strict.message.includes(unknown) && strict.message.includes('RelevantProvenanceResources'), strict.message);
    const { request } = get(`includeAssociatedData=${unknown},LatestProvenanceResources`, { prefer: lenient });
    assert.equal(request.includeAssociatedData, ['LatestProvenanceResources']);
    assert.equal(request.notes.length, 1);
    assert.match(request.notes[0]!, new RegExp(`includeAssociatedData ${unknown} is not supported.*ignored \\(lenient handling\\)`));
  }
  assert.equal(get('includeAssociatedData=_myPreset', {}, { features: { includeAssociatedData: ['_myPreset'] } }).request.includeAssociatedData, ['_myPreset']);
  for (const bad of ['Every thing', 'a/b', '-x', 'x'.repeat(65)]) refused(() => get(`includeAssociatedData=${encodeURIComponent(bad)}`, { prefer: lenient }), 'invalid', 'includeAssociatedData');
});

test('unknown and unimplemented parameters: refused when strict, noted when lenient', () => {
  refused(() => get('_count=10'), 'not-supported', '_count', /Unknown parameter _count/);
  refused(() => get('organizeOutputBy=Patient'), 'not-supported', 'organizeOutputBy');
  const { request } = get('_count=10&organizeOutputBy=Patient&_type=Patient', { prefer: lenient });
  assert.equal(request.types, ['Patient']);
  assert.equal(request.notes.length, 2);
  refused(() => get('organizeOutputBy=Patient&organizeOutputBy=Group', { prefer: lenient }), 'invalid', 'organizeOutputBy', /only once/);
});

test('features the engine lacks are unsupported: refused when strict, dropped with a note when lenient', () => {
  const off = { features: { elements: false, typeFilter: false, patient: false, until: false } };
  refused(() => get('_elements=id', {}, off), 'not-supported', '_elements');
  refused(() => get('_until=2024-01-01T00:00:00Z', {}, off), 'not-supported', '_until');
  refused(() => get(`_typeFilter=${encodeURIComponent('Observation?status=final')}`, {}, off), 'not-supported', '_typeFilter');
  const { request } = get(`_elements=id&_until=2024-01-01T00:00:00Z&_typeFilter=${encodeURIComponent('Observation?status=final')}`, { prefer: lenient }, off);
  assert.equal([request.elements, request.until, request.typeFilters, request.notes.length], [[], undefined, [], 3]);
});

test('Group level needs a FHIR id', () => {
  assert.is(get('', { level: 'group', groupId: 'g-1.2' }).request.groupId, 'g-1.2');
  for (const groupId of ['', 'a/b', 'x'.repeat(65), 'a b']) refused(() => get('', { level: 'group', groupId }), 'invalid', 'Group id');
});

test('_container: a bare container name; path tricks and bad names are refused', () => {
  assert.equal(get('_container=my-exports-2').destination, { kind: 'default', container: 'my-exports-2' });
  for (const bad of ['ab', 'x'.repeat(64), 'My-Exports', 'a--b', '-abc', 'abc-', '../etc', 'a/b', '%2Fetc', 'a%2Fb', 'a\\b', '..', 'abc.def', '$root']) {
    refused(() => get(`_container=${encodeURIComponent(bad)}`, { prefer: lenient }), 'invalid', '_container');
  }
  refused(() => get('_container=a%252Fb'), 'invalid', '_container', /path separators|escapes/);
  refused(() => get('_container=abc&_container=def'), 'invalid', '_container', /only once/);
});

test('_destination: POST only, https container URL with a SAS; the spec hides the SAS everywhere', () => {
  const sas = 'sv=2024-08-04&sr=c&sp=cw&se=2030-01-01T00:00:00Z&sig=SECRETSIGNATURE';
  const dest = (url: string, extra: RawParameter[] = []) => post([{ name: '_destination', value: url }, ...extra]);
  const { destination } = dest(`https://acct.blob.core.windows.net/exports?${sas}`);
  assert.is(destination.kind, 'client');
  if (destination.kind !== 'client') return;
  assert.is(destination.host, 'acct.blob.core.windows.net');
  assert.is(destination.url.reveal(), `https://acct.blob.core.windows.net/exports?${sas}`);
  assert.equal(destination.expiresOn, new Date('2030-01-01T00:00:00Z'));
  for (const shown of [String(destination.url), JSON.stringify(destination), inspect(destination)]) assert.not.match(shown, /SECRET/);
  assert.is(dest(`https://127.0.0.1:10000/devstoreaccount1/exports?${sas}`).destination.kind, 'client', 'path-style account/container');
  refused(() => get(`_destination=${encodeURIComponent(`https://acct.blob.core.windows.net/exports?${sas}`)}`), 'invalid', '_destination', /POST/);
  const bad: [string, RegExp][] = [
    [`http://acct.blob.core.windows.net/exports?${sas}`, /https/],
    ['https://acct.blob.core.windows.net/exports?sv=1', /SAS/],
    [`https://user:pw@acct.blob.core.windows.net/exports?${sas}`, /user name/],
    [`https://acct.blob.core.windows.net/a/../exports?${sas}`, /dot segments/],
    [`https://acct.blob.core.windows.net/exports%2F..%2Fother?${sas}`, /encoded/],
    [`https://acct.blob.core.windows.net/x/y/exports?${sas}`, /container/],
    [`https://acct.blob.core.windows.net/?${sas}`, /container/],
    [`https://acct.blob.core.windows.net/Exports?${sas}`, /container/],
    [`https://acct.blob.core.windows.net/exports?${sas}#frag`, /fragment/],
    [`https://acct.blob.core.windows.net/exports?${sas.replace('sr=c', 'sr=b')}`, /container SAS/],
    [`https://acct.blob.core.windows.net/exports?${sas.replace('2030', '2020')}`, /expired/],
    ['not a url', /well-formed/],
  ];
  for (const [url, why] of bad) {
    const err = refused(() => dest(url), 'invalid', '_destination', why);
    assert.not.match(err.message, /SECRET/);
  }
  refused(() => dest(`https://acct.blob.core.windows.net/exports?${sas}`, [{ name: '_container', value: 'other' }]), 'invalid', '_destination', /_container/);
});

test('POST bodies: a Parameters resource with one string value per part', () => {
  assert.equal(parametersFromBody({ resourceType: 'Parameters' }), []);
  assert.equal(parametersFromBody({ resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Patient' }, { name: '_since', valueInstant: '2024-01-01T00:00:00Z' }, { name: 'patient', valueReference: { reference: 'Patient/1' } }] }), [
    { name: '_type', value: 'Patient' },
    { name: '_since', value: '2024-01-01T00:00:00Z' },
    { name: 'patient', value: 'Patient/1', reference: true },
  ]);
  refused(() => parametersFromBody({ resourceType: 'Patient' }), 'invalid', 'Parameters');
  refused(() => parametersFromBody(undefined), 'invalid', 'Parameters');
  refused(() => parametersFromBody({ resourceType: 'Parameters', parameter: {} }), 'invalid', 'Parameters.parameter');
  refused(() => parametersFromBody({ resourceType: 'Parameters', parameter: [{ valueString: 'x' }] }), 'invalid', 'Parameters.parameter[0]');
  refused(() => parametersFromBody({ resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'a', valueCode: 'b' }] }), 'invalid', 'Parameters.parameter[0]');
  refused(() => parametersFromBody({ resourceType: 'Parameters', parameter: [{ name: '_type', valueBoolean: true }] }), 'invalid', 'Parameters.parameter[0]');
  refused(() => parametersFromBody({ resourceType: 'Parameters', parameter: [{ name: '_type', part: [] }] }), 'invalid', 'Parameters.parameter[0]');
  refused(() => parametersFromBody({ resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: {} }] }), 'invalid', 'Parameters.parameter[0]');
});

test('a kick-off with absurdly many parameters is refused before any is read', () => {
  const query = Array.from({ length: 501 }, () => '_type=Patient').join('&');
  assert.throws(() => get(query), (err: unknown) => err instanceof FhirError && err.kind === 'invalid' && /at most 500 parameters/.test(err.message));
});

test.run();
