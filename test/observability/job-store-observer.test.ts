/**
 * What the observed job store reports, against an in-memory `JobStore` (a fake
 * at the port): transitions and committed files of each successful write, once;
 * nothing for a lost race; and the backlog summary of `listWork`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { JobRecord } from '../../fhir-server/export/engine/job-record.ts';
import { JobConflict, mutateJob, type JobStore } from '../../fhir-server/export/engine/job-store.ts';
import { backlogOf } from '../../fhir-server/observability/export-backlog.ts';
import { observeJobStore, type FileKind } from '../../fhir-server/observability/observed-job-store.ts';

function memoryStore(): JobStore {
  const docs = new Map<string, JobRecord>();
  let etag = 0;
  const stamp = (r: JobRecord) => {
    const stored = { ...structuredClone(r), _etag: String(++etag) };
    docs.set(r.id, stored);
    return structuredClone(stored);
  };
  return {
    create: async (r) => stamp(r),
    read: async (id) => (docs.has(id) ? structuredClone(docs.get(id)!) : undefined),
    replace: async (r) => {
      if (docs.get(r.id)?._etag !== r._etag) throw new JobConflict('changed');
      return stamp(r);
    },
    countActive: async () => 0,
    listWork: async () => [...docs.values()],
  } as JobStore;
}

function job(id: string, createTime = new Date().toISOString()): JobRecord {
  return {
    id, docType: 'export-job', status: 'queued', request: {} as JobRecord['request'], owner: { principal: 'p' }, createTime,
    transactionTime: createTime, transactionTimeMs: Date.parse(createTime), restartCount: 0, planned: false, items: [],
    nextFileSeq: {}, output: [], deleted: [], errors: [], notes: [], destinationReleased: true,
  };
}

function observed() {
  const events: string[] = [];
  const inner = memoryStore();
  const store = observeJobStore(inner, {
    jobEntered: (state) => events.push(`state ${state}`),
    fileCommitted: (kind: FileKind, file) => events.push(`${kind} ${file.type} ${file.count} ${file.sizeBytes}`),
  });
  return { events, inner, store };
}

test('each transition and each newly committed file is reported once', async () => {
  const { events, store } = observed();
  await store.create(job('j1'));
  await mutateJob(store, 'j1', (j) => ((j.status = 'running'), j));
  await mutateJob(store, 'j1', (j) => (j.output.push({ type: 'Patient', fileName: 'Patient-1.ndjson', count: 3, sizeBytes: 300 }), j));
  await mutateJob(store, 'j1', (j) => ((j.output[0] = { ...j.output[0]!, count: 3 }), j.notes.push('n'), j));
  await mutateJob(store, 'j1', (j) => {
    j.status = 'completed';
    j.deleted.push({ type: 'Bundle', fileName: 'Patient-deleted-1.ndjson', count: 1, sizeBytes: 90 });
    j.errors = [{ type: 'OperationOutcome', fileName: 'OperationOutcome-1.ndjson', count: 1, sizeBytes: 120 }];
    return j;
  });
  assert.equal(events, ['state queued', 'state running', 'output Patient 3 300', 'state completed', 'deleted Bundle 1 90', 'error OperationOutcome 1 120']);
});

test('a replace that lost its race reports nothing; one never read here reports nothing', async () => {
  const { events, inner, store } = observed();
  await store.create(job('j2'));
  const read = (await store.read('j2'))!;
  await inner.replace({ ...(await inner.read('j2'))!, status: 'running' });
  await store.replace({ ...read, status: 'cancelled' }).catch((e: unknown) => assert.instance(e, JobConflict));
  const fresh = (await inner.read('j2'))!;
  await store.replace({ ...fresh, status: 'failed' });
  assert.equal(events, ['state queued']);
  assert.is(typeof (store as JobStore).countActive, 'function', 'other methods pass through');
});

test('the backlog: queued and running jobs, items by state, oldest waiting work and heartbeat ages', () => {
  const now = Date.parse('2025-01-01T00:10:00Z');
  const queued = job('q', '2025-01-01T00:09:00Z');
  const running = { ...job('r', '2025-01-01T00:05:00Z'), status: 'running' as const };
  const item = (status: 'pending' | 'leased' | 'done', heartbeatMs?: number) => ({
    index: 0, resourceType: 'Patient', status, total: 1, checkpoint: {} as never, ...(heartbeatMs ? { lease: { owner: 'w', leaseId: 'l', heartbeatMs } } : {}),
  });
  running.items = [item('pending'), item('leased', now - 42_000), item('done')];
  const ended = { ...job('c', '2025-01-01T00:00:00Z'), status: 'completed' as const, destinationReleased: false };
  const snapshot = backlogOf([queued, running, ended], now);
  assert.equal(snapshot.jobs, { queued: 1, running: 1 });
  assert.equal(snapshot.items, { pending: 1, leased: 1, done: 1 });
  assert.is(snapshot.backlogAgeSeconds, 300);
  assert.is(snapshot.heartbeatAgeSeconds, 42);
});

test.run();
