/**
 * Unit tests of the engine's pure rules: `_typeFilter` support and matching,
 * `_elements` subsetting, lease claims and takeovers with the restart limit,
 * failure classification and redaction, and option validation.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { RestError } from '@azure/core-rest-pipeline';
import { FhirError } from '../../fhir-server/fhir/errors.ts';
import { elementsFor, subsetResource } from '../../fhir-server/export/engine/elements.ts';
import { classify, CredentialError, ExportFailure, jobFailure, redact, ServiceError } from '../../fhir-server/export/engine/failures.ts';
import { emptyStream, type JobRecord } from '../../fhir-server/export/engine/job-record.ts';
import { claimItem, heldItem, LeaseLost, releaseItem } from '../../fhir-server/export/engine/lease.ts';
import { resolveExportOptions, rollingBytes } from '../../fhir-server/export/engine/options.ts';
import { typeFilterProblem, typeFilterWhere } from '../../fhir-server/export/engine/type-filter.ts';
import { ExportError } from '../../fhir-server/export/ports.ts';

test('_typeFilter: any R4 search parameter the search engine applies is accepted, with its modifiers and prefixes', () => {
  for (const text of [
    'Observation?status=final',
    'Observation?code=http://loinc.org|8867-4&category=vital-signs',
    'Observation?value-quantity=gt5',
    'Observation?status:not=final',
    'Observation?date=ge2020-01-01&subject=Patient/p1',
    'MedicationRequest?code=123',
    'Patient?name:contains=ann&birthdate=lt1990',
    'Condition?_lastUpdated=gt2024-01-01T00:00:00Z',
  ]) {
    assert.is(typeFilterProblem(text), undefined, text);
  }
});

test('_typeFilter: unknown or unsupported parameters, result parameters and filters without criteria are named', () => {
  for (const [text, named] of [
    ['Observation?nonsense=1', 'nonsense'],
    ['Observation?combo-code-value-quantity=x$gt5', 'combo-code-value-quantity'],
    ['Observation?_count=10', '_count'],
    ['Observation?_sort=date', '_sort'],
    ['Nope?status=x', 'Nope'],
    ['Observation', 'Observation'],
  ] as const) {
    const problem = typeFilterProblem(text);
    assert.ok(problem?.includes(named), `${text}: ${problem}`);
  }
});

test('_typeFilter: the filters of a type become one scan clause, alternatives ORed, parameters kept apart', () => {
  assert.is(typeFilterWhere(['Patient?gender=female'], 'Observation'), undefined);
  const one = typeFilterWhere(['Observation?status=final', 'Patient?gender=female'], 'Observation')!;
  assert.is(one.clauses.length, 1);
  const two = typeFilterWhere(['Observation?status=final', 'Observation?code=8867-4&status=amended'], 'Observation')!;
  assert.is(two.clauses.length, 1);
  assert.match(two.clauses[0]!, / OR /);
  const names = two.parameters.map((p) => p.name);
  assert.is(new Set(names).size, names.length, 'parameter names never collide');
  assert.ok(names.some((n) => n.startsWith('@tf0')) && names.some((n) => n.startsWith('@tf1')));
});

test('_elements: typed and untyped elements apply to their types; mandatory elements stay; SUBSETTED is tagged once', () => {
  assert.equal([...elementsFor(['Patient.name', 'status'], 'Patient')!].sort(), ['name', 'status']);
  assert.equal([...elementsFor(['Patient.name'], 'Observation') ?? []], []);
  const patient = { resourceType: 'Patient', id: 'p', meta: { versionId: '2', tag: [{ code: 'x' }] }, name: [{ family: 'F' }], gender: 'male', birthDate: '2000-01-01' };
  const out = subsetResource(patient, new Set(['name']));
  assert.equal(Object.keys(out), ['resourceType', 'id', 'meta', 'name']);
  assert.equal((out.meta!.tag as { code: string }[]).map((t) => t.code), ['x', 'SUBSETTED']);
  assert.equal((subsetResource(out, new Set(['name'])).meta!.tag as unknown[]).length, 2);
  // The tag in its plain form: system and code, nothing else.
  assert.equal((out.meta!.tag as unknown[])[1], { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' });
  assert.equal(Object.keys(subsetResource({ resourceType: 'Patient', id: 'q', gender: 'f' }, new Set(['gender']))), ['resourceType', 'id', 'meta', 'gender']);
});

function job(): JobRecord {
  const item = (index: number) => ({ index, resourceType: 'Patient', status: 'pending' as const, total: 1, checkpoint: { resources: emptyStream(), deleted: emptyStream() } });
  return {
    id: 'j', docType: 'export-job', status: 'running', request: {} as JobRecord['request'], owner: { principal: 'a' }, createTime: '', transactionTime: '', transactionTimeMs: 0,
    restartCount: 0, planned: true, items: [item(0), item(1)], nextFileSeq: {}, output: [], deleted: [], errors: [], notes: [], destinationReleased: true,
  };
}
const rules = { thresholdMs: 1000, maxRestarts: 1 };

test('leases: a fresh lease holds; a stale one is taken over as a restart; past the limit the job fails', () => {
  const first = claimItem(job(), 0, 'w1', 10_000, rules)!;
  assert.ok(first.leaseId);
  assert.is(claimItem(structuredClone(first.job), 0, 'w2', 10_500, rules), undefined, 'a live lease is not taken');
  const takeover = claimItem(structuredClone(first.job), 0, 'w2', 11_001, rules)!;
  assert.is(takeover.job.restartCount, 1);
  assert.is(takeover.job.items[0]!.lease!.owner, 'w2');
  assert.throws(() => heldItem(takeover.job, 0, first.leaseId!), (e: unknown) => e instanceof LeaseLost);
  const exhausted = claimItem(structuredClone(takeover.job), 0, 'w3', 20_000, rules)!;
  assert.is(exhausted.leaseId, undefined);
  assert.is(exhausted.job.status, 'failed');
  assert.is(exhausted.job.failure?.code, 'exception');
  assert.match(exhausted.job.failure!.message, /restarted 2 times/);
});

test('leases: giving back without failure keeps the restart count; a failure delays the next claim', () => {
  const claimed = claimItem(job(), 1, 'w1', 0, { ...rules, maxRestarts: 5 })!;
  const back = releaseItem(structuredClone(claimed.job), 1, claimed.leaseId!, 100, rules);
  assert.is(back.restartCount, 0);
  assert.is(back.items[1]!.status, 'pending');
  const failed = releaseItem(structuredClone(claimed.job), 1, claimed.leaseId!, 100, { ...rules, maxRestarts: 5 }, { retryAfterMs: 5000, reason: 'x' });
  assert.is(failed.restartCount, 1);
  assert.is(claimItem(structuredClone(failed), 1, 'w2', 1000, rules), undefined, 'not before the backoff');
  assert.ok(claimItem(structuredClone(failed), 1, 'w2', 5200, { ...rules, maxRestarts: 5 }));
});

test('failures: storage refusals and missing destinations are permanent; outages and throttling are transient', () => {
  const rest = (statusCode: number) => new RestError('x', { statusCode });
  const permanent = (error: unknown) => {
    const verdict = classify(error);
    if (verdict.transient) throw new Error('expected permanent');
    return jobFailure(verdict.failure);
  };
  assert.equal(permanent(new ServiceError('Blob Storage', rest(403))).httpStatus, 403);
  assert.equal(permanent(new ServiceError('Key Vault', rest(404))).code, 'not-found');
  assert.equal(permanent(new CredentialError(new Error('revoked'), false)).code, 'forbidden');
  assert.equal(permanent(new ExportFailure('group-missing', 'gone')).httpStatus, 404);
  for (const transient of [new ServiceError('Blob Storage', rest(503)), new ServiceError('Blob Storage', rest(429)), new CredentialError(new Error('x'), true), new ServiceError('the resource store', new FhirError('unavailable', 'down')), new ServiceError('the job store', { code: 503 })]) {
    assert.ok(classify(transient).transient, String(transient));
  }
});

test('redaction: tokens, SAS signatures and URL queries never reach a message', () => {
  const text = redact('failed https://acct.blob.core.windows.net/c?sv=1&sig=abc%2F token eyJhbGciOi.eyJzdWIiOi.sig and sig=zzz');
  assert.not.match(text, /abc|eyJ|zzz|sv=1/);
  assert.match(text, /https:\/\/acct\.blob\.core\.windows\.net\/c/);
});

test('options: defaults, overrides, sub-MiB rolling for tests, and invalid values refused', () => {
  const options = resolveExportOptions({ rollingFileSizeInMb: 2, maximumNumberOfConcurrentJobsAllowed: undefined });
  assert.is(rollingBytes(options), 2 * 1024 * 1024);
  assert.is(options.maximumNumberOfConcurrentJobsAllowed, 4, 'the documented default');
  assert.is(rollingBytes(resolveExportOptions({ rollingFileSizeBytes: 1000 })), 1000);
  assert.ok(Object.isFrozen(options));
  assert.throws(() => resolveExportOptions({ numberOfPagesPerCommit: 0 }), (e: unknown) => e instanceof ExportError && /numberOfPagesPerCommit/.test(e.message));
  assert.throws(() => resolveExportOptions({ itemSplitThreshold: 0 }), (e: unknown) => e instanceof ExportError && /itemSplitThreshold/.test(e.message));
});

test.run();
