/**
 * After the kick-off, through the REST routes: status polling (202 with
 * X-Progress and Retry-After), the completion manifest exactly as the IG
 * shapes it with Expires, failed jobs, DELETE then 404, file download, other
 * callers seeing nothing, SAS manifest URLs, and poll pacing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { base, call, exportApp, issue, jobIdOf, type ExportApp } from './support/app.ts';
import { MemoryExportJobs } from './support/memory-jobs.ts';

let subject: ExportApp;

test.before(async () => {
  subject = await exportApp();
});
test.after(async () => {
  await subject?.app.close();
});

async function kickOff(app = subject.app, principal = 'alice', url = '/$export?_type=Patient,Observation'): Promise<string> {
  return jobIdOf(await call(app, 'GET', url, principal));
}

const patientLines = ['{"resourceType":"Patient","id":"p1"}', '{"resourceType":"Patient","id":"p2"}'];

test('while a job waits or runs, status is 202 with X-Progress (percentage first) and Retry-After', async () => {
  const id = await kickOff();
  const queued = await call(subject.app, 'GET', `/_export/${id}`);
  assert.is(queued.statusCode, 202);
  assert.is(queued.headers['x-progress'], '0% complete, queued');
  assert.is(queued.headers['retry-after'], '10');
  subject.jobs.run(id, 12000, 26000);
  const running = await call(subject.app, 'GET', `/_export/${id}`);
  assert.is(running.statusCode, 202);
  assert.is(running.headers['x-progress'], '46% complete, 12000 of 26000 resources');
  assert.ok(String(running.headers['x-progress']).length < 100);
  assert.is(running.body, '');
});

test('a completed job answers 200 with the IG manifest (application/json) and Expires', async () => {
  const id = await kickOff();
  const expires = new Date('2031-02-03T04:05:06Z');
  subject.jobs.complete(id, {
    output: [
      { type: 'Patient', fileName: 'Patient-1.ndjson', lines: patientLines },
      { type: 'Observation', fileName: 'Observation-1.ndjson', lines: ['{"resourceType":"Observation","id":"o1"}'] },
    ],
    errors: [{ type: 'OperationOutcome', fileName: 'OperationOutcome-1.ndjson', lines: ['{"resourceType":"OperationOutcome","issue":[]}'] }],
  }, expires);
  const done = await call(subject.app, 'GET', `/_export/${id}`);
  assert.is(done.statusCode, 200);
  assert.match(String(done.headers['content-type']), /^application\/json/);
  assert.is(done.headers.expires, 'Mon, 03 Feb 2031 04:05:06 GMT');
  const job = (await subject.jobs.get(id, { principal: 'alice' }))!;
  const file = (name: string) => `${base}/_export/${id}/files/${name}`;
  assert.equal(done.json(), {
    transactionTime: job.transactionTime,
    request: `${base}/$export?_type=Patient,Observation`,
    requiresAccessToken: true,
    output: [
      { type: 'Patient', url: file('Patient-1.ndjson'), count: 2 },
      { type: 'Observation', url: file('Observation-1.ndjson'), count: 1 },
    ],
    error: [{ type: 'OperationOutcome', url: file('OperationOutcome-1.ndjson'), count: 1 }],
  });
});

test('deleted files appear under "deleted" only when there are some; an empty export has empty output and error arrays', async () => {
  const withDeleted = await kickOff(subject.app, 'alice', '/$export?_since=2024-01-01T00:00:00Z');
  subject.jobs.complete(withDeleted, { output: [], deleted: [{ type: 'Bundle', fileName: 'Deleted-1.ndjson', lines: ['{"resourceType":"Bundle","type":"transaction"}'] }] });
  const manifest = (await call(subject.app, 'GET', `/_export/${withDeleted}`)).json();
  assert.equal(manifest.deleted, [{ type: 'Bundle', url: `${base}/_export/${withDeleted}/files/Deleted-1.ndjson`, count: 1 }]);
  const empty = await kickOff();
  subject.jobs.complete(empty, { output: [] });
  const emptyManifest = (await call(subject.app, 'GET', `/_export/${empty}`)).json();
  assert.equal([emptyManifest.output, emptyManifest.error, 'deleted' in emptyManifest], [[], [], false]);
});

test('a failed job answers with its failure status and an OperationOutcome', async () => {
  const id = await kickOff();
  subject.jobs.fail(id, { code: 'forbidden', message: 'The storage account refused the managed identity (HTTP 403)', httpStatus: 403 });
  const failed = await call(subject.app, 'GET', `/_export/${id}`);
  assert.is(failed.statusCode, 403);
  assert.match(String(failed.headers['content-type']), /^application\/fhir\+json/);
  assert.equal(issue(failed), { severity: 'error', code: 'forbidden', diagnostics: 'The storage account refused the managed identity (HTTP 403)' });
});

test('DELETE cancels (202); later polls, deletes and downloads are 404', async () => {
  const id = await kickOff();
  subject.jobs.complete(id, { output: [{ type: 'Patient', fileName: 'Patient-1.ndjson', lines: patientLines }] });
  const cancelled = await call(subject.app, 'DELETE', `/_export/${id}`);
  assert.is(cancelled.statusCode, 202);
  assert.is(issue(cancelled).severity, 'information');
  for (const [method, url] of [['GET', `/_export/${id}`], ['DELETE', `/_export/${id}`], ['GET', `/_export/${id}/files/Patient-1.ndjson`]] as const) {
    const gone = await call(subject.app, method, url);
    assert.is(gone.statusCode, 404, `${method} ${url}`);
    assert.is(issue(gone).code, 'not-found');
  }
});

test('files stream as application/fhir+ndjson with their exact bytes; unknown or malformed names are 404', async () => {
  const id = await kickOff();
  subject.jobs.complete(id, { output: [{ type: 'Patient', fileName: 'Patient-1.ndjson', lines: patientLines }] });
  const url = (await call(subject.app, 'GET', `/_export/${id}`)).json().output[0].url as string;
  const file = await call(subject.app, 'GET', url.slice(base.length));
  assert.is(file.statusCode, 200);
  assert.is(file.headers['content-type'], 'application/fhir+ndjson');
  assert.is(file.body, `${patientLines.join('\n')}\n`);
  assert.is(file.headers['content-length'], String(Buffer.byteLength(file.body)));
  for (const name of ['Observation-1.ndjson', '..', '.hidden', '%2E%2E%2Fetc', 'a%2Fb']) {
    assert.is((await call(subject.app, 'GET', `/_export/${id}/files/${name}`)).statusCode, 404, name);
  }
  assert.is((await call(subject.app, 'GET', '/_export/not!an!id')).statusCode, 404);
});

test("another caller's job is 404 on every route, and stays untouched", async () => {
  const id = await kickOff(subject.app, 'alice');
  subject.jobs.complete(id, { output: [{ type: 'Patient', fileName: 'Patient-1.ndjson', lines: patientLines }] });
  for (const [method, url] of [['GET', `/_export/${id}`], ['DELETE', `/_export/${id}`], ['GET', `/_export/${id}/files/Patient-1.ndjson`]] as const) {
    const response = await call(subject.app, method, url, 'mallory');
    assert.is(response.statusCode, 404, `${method} ${url}`);
    // Indistinguishable from a job that never existed.
    const unknownId = 'f'.repeat(32);
    const unknown = await call(subject.app, method, url.replace(id, unknownId), 'mallory');
    assert.is(response.body.replace(id, unknownId), unknown.body);
  }
  assert.is((await call(subject.app, 'GET', `/_export/${id}`, 'alice')).statusCode, 200);
});

test('with SAS URLs configured, the manifest lists the engine\'s SAS URLs and requiresAccessToken is false (download routes when it has none)', async () => {
  const jobs = new MemoryExportJobs({ maxActive: 10, sasBase: 'https://acct.blob.core.windows.net/fhir-export' });
  const { app } = await exportApp({ jobs, options: { manifestSasUrls: true } });
  try {
    const id = await kickOff(app);
    jobs.complete(id, { output: [{ type: 'Patient', fileName: 'Patient-1.ndjson', lines: patientLines }] });
    const manifest = (await call(app, 'GET', `/_export/${id}`)).json();
    assert.is(manifest.requiresAccessToken, false);
    assert.is(manifest.output[0].url, `https://acct.blob.core.windows.net/fhir-export/${id}/Patient-1.ndjson?sv=2024-08-04&sp=r&sig=fake`);
  } finally {
    await app.close();
  }
  // An engine that cannot sign URLs: the manifest falls back to download routes that need the token.
  const plain = new MemoryExportJobs();
  const { app: noSas } = await exportApp({ jobs: plain, options: { manifestSasUrls: true } });
  try {
    const id = await kickOff(noSas);
    plain.complete(id, { output: [{ type: 'Patient', fileName: 'Patient-1.ndjson', lines: patientLines }] });
    const manifest = (await call(noSas, 'GET', `/_export/${id}`)).json();
    assert.equal([manifest.requiresAccessToken, manifest.output[0].url], [true, `${base}/_export/${id}/files/Patient-1.ndjson`]);
  } finally {
    await noSas.close();
  }
});

test("with SAS URLs configured, a token that may not read every file's type gets download routes (checked per file), never a SAS", async () => {
  const jobs = new MemoryExportJobs({ maxActive: 10, sasBase: 'https://acct.blob.core.windows.net/fhir-export' });
  const patientsOnly = (type: string) => type === 'Patient';
  const { app } = await exportApp({ jobs, options: { manifestSasUrls: true }, callerOf: (request) => ({ principal: 'alice', correlationId: request.id, mayRead: patientsOnly }) });
  try {
    const id = await kickOff(app);
    jobs.complete(id, { output: [{ type: 'Patient', fileName: 'Patient-1.ndjson', lines: patientLines }, { type: 'Observation', fileName: 'Observation-1.ndjson', lines: ['{}'] }] });
    const manifest = (await call(app, 'GET', `/_export/${id}`)).json();
    assert.is(manifest.requiresAccessToken, true);
    assert.not.match(JSON.stringify(manifest), /sig=/);
    assert.is((await call(app, 'GET', `/_export/${id}/files/Patient-1.ndjson`)).statusCode, 200);
    const refused = await call(app, 'GET', `/_export/${id}/files/Observation-1.ndjson`);
    assert.is(refused.statusCode, 403);
    assert.equal([issue(refused).code, /do not cover Observation/.test(issue(refused).diagnostics ?? '')], ['forbidden', true]);
  } finally {
    await app.close();
  }
});

test('polling one job faster than the configured interval is 429 with Retry-After', async () => {
  let now = new Date('2024-06-01T00:00:00Z');
  const { app } = await exportApp({ options: { minimumPollIntervalSeconds: 5, now: () => now } });
  try {
    const id = await kickOff(app, 'alice', '/$export');
    assert.is((await call(app, 'GET', `/_export/${id}`)).statusCode, 202);
    now = new Date(now.getTime() + 2000);
    const tooSoon = await call(app, 'GET', `/_export/${id}`);
    assert.is(tooSoon.statusCode, 429);
    assert.is(tooSoon.headers['retry-after'], '3');
    assert.is(issue(tooSoon).code, 'throttled');
    now = new Date(now.getTime() + 3000);
    assert.is((await call(app, 'GET', `/_export/${id}`)).statusCode, 202);
  } finally {
    await app.close();
  }
});

test.run();
