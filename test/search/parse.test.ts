/**
 * Parsing searches: every R4 parameter of every type is either accepted or left
 * out with a reason, and the CapabilityStatement lists exactly the accepted ones;
 * values, prefixes, modifiers and result parameters parse as the specification
 * says; bad values are errors naming the parameter.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { r4Definitions } from '../../fhir-server/fhir/definitions.ts';
import { FhirError } from '../../fhir-server/fhir/errors.ts';
import { searchIncludesOf, searchParamsOf, searchRevIncludesOf } from '../../fhir-server/search/capability.ts';
import { parseSearch } from '../../fhir-server/search/parse.ts';
import { decodeCursor, encodeCursor } from '../../fhir-server/search/cursor.ts';
import { whereOf } from '../../fhir-server/search/sql.ts';
import { parseTypeQuery } from '../../fhir-server/search/type-query.ts';

const base = 'https://fhir.test/r4';
const parse = (type: string, query: string) => parseSearch(type, new URLSearchParams(query), { baseUrl: base, nowMs: Date.UTC(2025, 0, 1) });

/** A value each R4 parameter type accepts. */
const sampleValue: Record<string, string> = { number: '5', date: 'ge2020', string: 'a', token: 'a|b', reference: 'Patient/1', quantity: '5||mg', uri: 'http://x', composite: 'a$b', special: 'x' };

test('the CapabilityStatement lists exactly the parameters the parser accepts, for every R4 type', () => {
  const types = r4Definitions().resourceTypes;
  let listed = 0;
  for (const type of types) {
    const accepted = new Set(searchParamsOf(type).map((p) => p.name));
    const codes = new Set(r4Definitions().searchParameters.filter((sp) => (sp.base as string[] | undefined)?.some((b) => b === type || b === 'Resource' || (b === 'DomainResource' && !['Bundle', 'Binary', 'Parameters'].includes(type)))).map((sp) => sp));
    for (const sp of codes) {
      const search = parse(type, `${sp.code}=${encodeURIComponent(sampleValue[sp.type!]!)}`);
      const ok = search.unsupported.length === 0 && search.conditions.length === 1;
      assert.is(ok, accepted.has(sp.code), `${type}.${sp.code} (${sp.type}): ${JSON.stringify(search.unsupported)}`);
      if (!ok) assert.ok(search.unsupported[0]?.reason, `${type}.${sp.code} has a reason`);
    }
    listed += accepted.size;
    for (const p of searchParamsOf(type)) assert.ok(r4Definitions().searchParameters.some((sp) => sp.url === p.definition && sp.code === p.name), `${type}.${p.name} is an R4 definition`);
  }
  assert.ok(listed > 2400, String(listed));
  assert.ok(searchParamsOf('Patient').some((p) => p.name === 'birthdate' && p.type === 'date'));
  assert.not.ok(searchParamsOf('Patient').some((p) => p.name === '_compartment' || p.name === '_text' || p.name === '_content'));
  assert.ok(searchIncludesOf('Observation').includes('Observation:subject'));
  assert.ok(searchRevIncludesOf('Patient').includes('Observation:subject') && !searchRevIncludesOf('Patient').includes('Observation:code'));
});

test('left out, with the reason: unknown, composite, chained, special, unsupported modifiers, empty values', () => {
  const search = parse('Observation', 'foo=1&code-value-quantity=a$5&subject.name=x&code:in=http://vs&_has:Observation:subject:code=1&status=&_compartment=Patient/1&subject:identifier=a|b&date:missing=true&_sort=status');
  assert.equal(
    search.unsupported.map((u) => u.name),
    ['foo', 'code-value-quantity', 'subject.name', 'code:in', '_has:Observation:subject:code', 'status', '_compartment', 'subject:identifier', '_sort'],
  );
  assert.match(search.unsupported[1]!.reason, /composite/);
  assert.match(search.unsupported[2]!.reason, /chained/);
  assert.match(search.unsupported[5]!.reason, /no value/);
  assert.equal(search.applied, [['date:missing', 'true']]);
  assert.match(parse('Location', 'near=1|2|3').unsupported[0]!.reason, /special/);
});

test('token, reference, string and uri values', () => {
  const { conditions } = parse('Observation', 'code=http://loinc.org|8302-2,|x,sys|,plain&code:text=Body%20Height&status:not=final&subject=Patient/1&subject:Patient=2&performer=https://fhir.test/r4/Practitioner/3&encounter=99');
  assert.equal(conditions[0], { kind: 'token', code: 'code', negated: false, values: [{ system: 'http://loinc.org', code: '8302-2' }, { noSystem: true, code: 'x' }, { system: 'sys' }, { code: 'plain' }] });
  assert.equal(conditions[1], { kind: 'token', code: 'code', negated: false, values: [{ text: 'body height' }] });
  assert.equal(conditions[2], { kind: 'token', code: 'status', negated: true, values: [{ code: 'final' }] });
  assert.equal(conditions[3], { kind: 'reference', code: 'subject', values: ['Patient/1', `${base}/Patient/1`] });
  assert.equal(conditions[4], { kind: 'reference', code: 'subject', values: ['Patient/2', `${base}/Patient/2`] });
  assert.equal(conditions[5], { kind: 'reference', code: 'performer', values: ['Practitioner/3', `${base}/Practitioner/3`] });
  // A bare id stands for every type the parameter may refer to (clinical-encounter: Encounter, EpisodeOfCare).
  assert.equal(conditions[6], { kind: 'reference', code: 'encounter', values: ['Encounter/99', `${base}/Encounter/99`, 'EpisodeOfCare/99', `${base}/EpisodeOfCare/99`] });
  assert.equal(parse('Patient', 'name:exact=M%C3%BCller&family:contains=ll&identifier=a\\|b|c\\,d,e').conditions, [
    { kind: 'string', code: 'name', match: 'exact', values: ['Müller'] },
    { kind: 'string', code: 'family', match: 'contains', values: ['ll'] },
    { kind: 'token', code: 'identifier', negated: false, values: [{ system: 'a|b', code: 'c,d' }, { code: 'e' }] },
  ]);
  assert.equal(parse('Patient', 'general-practitioner=other.example/x').conditions[0], { kind: 'reference', code: 'general-practitioner', values: ['other.example/x', `${base}/other.example/x`] });
  assert.equal(parse('Questionnaire', 'url=http://q|1').conditions[0], { kind: 'uri', code: 'url', values: ['http://q|1'] });
});

test('date, number and quantity prefixes; the implied precision of numbers', () => {
  const dates = parse('Patient', 'birthdate=ge2020-01&birthdate=lt2021&birthdate=2020-01-15T10:00:00Z').conditions;
  assert.equal(dates[0], { kind: 'date', code: 'birthdate', values: [{ prefix: 'ge', start: Date.UTC(2020, 0, 1), end: Date.UTC(2020, 1, 1) - 1 }] });
  assert.equal(dates[1], { kind: 'date', code: 'birthdate', values: [{ prefix: 'lt', start: Date.UTC(2021, 0, 1), end: Date.UTC(2022, 0, 1) - 1 }] });
  assert.equal(dates[2], { kind: 'date', code: 'birthdate', values: [{ prefix: 'eq', start: Date.UTC(2020, 0, 15, 10), end: Date.UTC(2020, 0, 15, 10) + 999 }] });
  const ap = parse('Patient', 'birthdate=ap2015-01-01').conditions[0] as { values: { start: number; end: number }[] };
  const tenth = (Date.UTC(2025, 0, 1) - Date.UTC(2015, 0, 1)) / 10;
  assert.equal(ap.values[0], { prefix: 'ap', start: Date.UTC(2015, 0, 1) - tenth, end: Date.UTC(2015, 0, 2) - 1 + tenth });
  const numbers = parse('RiskAssessment', 'probability=100&probability=gt0.5&probability=1e2').conditions as { values: { low: number; high: number; prefix: string }[] }[];
  assert.equal([numbers[0]!.values[0]!.low, numbers[0]!.values[0]!.high], [99.5, 100.5]);
  assert.equal(numbers[1]!.values[0]!.prefix, 'gt');
  // 1e2 has one significant figure.
  assert.equal([numbers[2]!.values[0]!.low, numbers[2]!.values[0]!.high], [50, 150]);
  const quantity = parse('Observation', 'value-quantity=le5.4|http://unitsofmeasure.org|mg,5||kg').conditions[0];
  assert.equal(quantity, {
    kind: 'quantity',
    code: 'value-quantity',
    values: [
      { prefix: 'le', value: 5.4, low: 5.35, high: 5.45, system: 'http://unitsofmeasure.org', code: 'mg' },
      { prefix: 'eq', value: 5, low: 4.5, high: 5.5, code: 'kg' },
    ],
  });
});

test('result parameters: _count, _sort, _summary, _total, _elements, _include, _revinclude', () => {
  const search = parse('Observation', '_count=5000&_sort=-date&_total=accurate&_elements=status,code&_include=Observation:subject:Patient&_revinclude=Provenance:target&_format=json&_pretty=true');
  assert.is(search.count, 1000, 'lowered to the largest page');
  assert.equal(search.sort, { code: 'date', descending: true });
  assert.is(search.total, 'accurate');
  assert.equal(search.elements, ['status', 'code']);
  assert.equal(search.include, [{ sourceType: 'Observation', code: 'subject', targetType: 'Patient' }]);
  assert.equal(search.revinclude, [{ sourceType: 'Provenance', code: 'target' }]);
  assert.equal(search.applied.map(([n]) => n), ['_count', '_sort', '_total', '_elements', '_include', '_revinclude']);
  assert.is(parse('Patient', '_summary=count').countOnly, true);
  assert.is(parse('Patient', '_count=0').countOnly, true);
  const refused = parse('Patient', '_include=Observation:subject&_include:iterate=Patient:link&_revinclude=Observation:code&_sort=gender&_sort=birthdate,_id&_summary=true&_contained=true');
  assert.equal(refused.unsupported.map((u) => u.name), ['_include', '_include:iterate', '_revinclude', '_sort', '_sort', '_summary', '_contained']);
  assert.equal(parse('Patient', '_sort=_lastUpdated').sort, { code: '_lastUpdated', descending: false });
  const twice = parse('Patient', '_count=5&gender=male&_count=7');
  assert.is(twice.count, 7);
  assert.equal(twice.applied, [['gender', 'male'], ['_count', '7']], 'the last one counts, and only it is shown');
  assert.equal(parse('Provenance', 'target:Patient=1').conditions[0], { kind: 'reference', code: 'target', values: ['Patient/1', `${base}/Patient/1`] });
});

test('values that cannot be read are 400 invalid naming the parameter', () => {
  for (const [type, query, name] of [
    ['Patient', 'birthdate=2020-02-30', 'birthdate'],
    ['Patient', 'birthdate=yesterday', 'birthdate'],
    ['RiskAssessment', 'probability=lots', 'probability'],
    ['Patient', '_count=-1', '_count'],
    ['Patient', '_total=maybe', '_total'],
    ['Patient', 'gender:missing=perhaps', 'gender:missing'],
    ['Patient', 'identifier=|', 'identifier'],
    ['Patient', '_elements=na%20me', '_elements'],
    ['Observation', '_include=Observation', '_include'],
  ] as const) {
    try {
      parse(type, query);
      assert.unreachable(query);
    } catch (error) {
      assert.instance(error, FhirError, query);
      assert.is((error as FhirError).kind, 'invalid', query);
      assert.is((error as FhirError).expression, name, query);
    }
  }
});

test('continuation tokens belong to one sort; anything else is refused', () => {
  const sort = { code: 'date', descending: true };
  const token = encodeCursor(sort, { phase: 1, after: '2020-01-01T00:00:00.000Z|x' }, 1234);
  assert.equal(decodeCursor(token, sort), { asOfMs: 1234, sort: '-date', phase: 1, after: '2020-01-01T00:00:00.000Z|x' });
  for (const bad of [encodeCursor({ code: 'date', descending: false }, { phase: 1 }, 1), 'e30', '%%%', Buffer.from('[1]').toString('base64url')]) {
    assert.throws(() => decodeCursor(bad, sort), (e: unknown) => e instanceof FhirError && e.kind === 'invalid' && e.expression === '_cursor');
  }
});

test('whereOf: one clause per condition over the alias given, parameters under the prefix given', () => {
  const { conditions } = parse('Observation', 'status=final,amended&subject=Patient/1&date=ge2020&_id=a,b');
  const where = whereOf(conditions, 'd', 'f0_');
  assert.is(where.clauses.length, 4);
  assert.ok(where.clauses.every((c) => c.includes('d.')) && !where.clauses.some((c) => /\bc\./.test(c)), where.clauses.join('\n'));
  assert.ok(where.parameters.every((p) => p.name.startsWith('@f0_')));
  assert.is(where.clauses[0], 'EXISTS(SELECT VALUE t FROM t IN d.idx.p["status"] WHERE t.c IN (@f0_0, @f0_1))');
});

test('a Type?query criterion (_typeFilter): conditions to compile, or exactly what is unsupported and why', () => {
  const ok = parseTypeQuery('Observation?status=final&code=http://loinc.org|8302-2&date=ge2020')!;
  assert.is(ok.resourceType, 'Observation');
  assert.equal(ok.conditions.map((c) => c.kind), ['token', 'token', 'date']);
  assert.equal(ok.unsupported, []);
  const refused = parseTypeQuery('Patient?name=x&_count=5&_sort=birthdate&nickname=y&general-practitioner.name=z')!;
  assert.equal(refused.unsupported.map((u) => u.name), ['nickname', 'general-practitioner.name', '_count', '_sort']);
  assert.match(refused.unsupported[2]!.reason, /result parameter/);
  assert.equal(refused.conditions.length, 1);
  assert.is(parseTypeQuery('Patient'), undefined);
  assert.is(parseTypeQuery('Foo?x=1'), undefined);
  assert.is(parseTypeQuery('OperationOutcome?x=1'), undefined);
  assert.throws(() => parseTypeQuery('Patient?birthdate=soon'), (e: unknown) => e instanceof FhirError && e.expression === 'birthdate');
});

test.run();
