/**
 * The NDJSON stream against Azurite (real storage SDK; the stream's host is a
 * port, recorded here): blocks staged after a checkpoint never reach the file a
 * resumed stream commits; a resumed stream skips what was durable and its
 * `through` never falls behind the checkpoint it resumed from; a sparse buffer
 * is staged by the second checkpoint it outlives.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { createBlobServiceClient } from '../../common/blob.ts';
import { startAzurite, type RunningAzurite } from '../../dev/azurite/server.ts';
import { ensureLocalTls } from '../../dev/certs.ts';
import { emptyStream, type FileRecord, type StreamCheckpoint, type StreamKind } from '../../fhir-server/export/engine/job-record.ts';
import { NdjsonStream, type StreamHost } from '../../fhir-server/export/engine/ndjson-stream.ts';
import type { ExportPosition } from '../../fhir-server/store/resource-store.ts';
import { loud } from '../support/hooks.ts';
import { it } from './support/fixture.ts';

let azurite: RunningAzurite;
let container: ContainerClient;

test.before(
  loud('before', async () => {
    const tls = await ensureLocalTls();
    azurite = await startAzurite({ tls });
    const service = createBlobServiceClient({ url: azurite.blobUrl, credential: new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey), caPem: tls.caPem });
    container = service.getContainerClient('streams');
    await container.create();
  }),
);
test.after(async () => {
  await azurite?.stop();
});

/** A host that allocates names and records commits, as the job record would. */
class RecordingHost implements StreamHost {
  files: FileRecord[] = [];
  states: StreamCheckpoint[] = [];
  #seq = 0;
  async allocateFile(): Promise<string> {
    return `T-${++this.#seq}.ndjson`;
  }
  async fileCommitted(_kind: StreamKind, file: FileRecord, state: StreamCheckpoint): Promise<void> {
    this.files.push(file);
    this.states.push(state);
  }
}

const at = (n: number): ExportPosition => ({ lastUpdatedMs: 1000 + n, id: `r${String(n).padStart(3, '0')}` });
const line = (n: number) => JSON.stringify({ resourceType: 'T', id: at(n).id, n });

/** Feeds items `from..to` (inclusive) to `stream`, moving the scan position as a runner does. */
async function feed(stream: NdjsonStream, scan: { position?: ExportPosition }, from: number, to: number, only: (n: number) => boolean = () => true): Promise<void> {
  for (let n = from; n <= to; n++) {
    const prev = scan.position;
    scan.position = at(n);
    if (only(n)) await stream.append(line(n), prev);
  }
}

it('a resumed stream commits the checkpoint blocks plus its own: blocks staged after the checkpoint are left out', async () => {
  const host = new RecordingHost();
  const scan: { position?: ExportPosition } = {};
  const sizes = { block: 200, rolling: 1_000_000 };
  const first = new NdjsonStream('resources', 'T', 'job-a', container, emptyStream(), host, sizes, () => scan.position);
  await feed(first, scan, 1, 20);
  const checkpoint = first.snapshot();
  assert.ok(checkpoint.blockIds.length >= 2 && checkpoint.fileName);
  await feed(first, scan, 21, 40); // staged by the "dead" worker, never checkpointed
  const blob = container.getBlockBlobClient(`job-a/${checkpoint.fileName}`);
  const staged = (await blob.getBlockList('uncommitted')).uncommittedBlocks ?? [];
  assert.ok(staged.length > checkpoint.blockIds.length, 'the first stream staged blocks past its checkpoint');

  const resumedScan: { position?: ExportPosition } = { position: checkpoint.through };
  const second = new NdjsonStream('resources', 'T', 'job-a', container, checkpoint, host, sizes, () => resumedScan.position);
  await feed(second, resumedScan, 1, 50); // re-reading from the start: what the checkpoint holds is skipped
  await second.finish();
  const text = (await blob.downloadToBuffer()).toString('utf8');
  assert.equal(text.trimEnd().split('\n').map((l) => JSON.parse(l).n), Array.from({ length: 50 }, (_, i) => i + 1));
  assert.equal(host.files.map((f) => [f.fileName, f.count]), [[checkpoint.fileName, 50]]);
  assert.is((await blob.getBlockList('all')).uncommittedBlocks?.length ?? 0, 0, 'the commit discarded the orphaned blocks');
});

it("a resumed stream's through never falls behind its checkpoint, even before the scan catches up", async () => {
  const host = new RecordingHost();
  const checkpoint = { ...emptyStream(), through: at(30), exported: 30 };
  const scan: { position?: ExportPosition } = { position: at(10) }; // the other stream of the item was further behind
  const stream = new NdjsonStream('resources', 'T', 'job-b', container, checkpoint, host, { block: 10_000, rolling: 1_000_000 }, () => scan.position);
  assert.equal(stream.snapshot().through, at(30));
  await feed(stream, scan, 11, 25);
  assert.equal(stream.snapshot().through, at(30), 'skipped lines do not move it back');
  await feed(stream, scan, 26, 35);
  assert.equal(stream.snapshot().through, at(30), 'buffered lines after it: durable through the checkpoint');
  await stream.stage();
  assert.equal(stream.snapshot().through, at(35));
  assert.is(stream.snapshot().count, 5);
});

it('a sparse buffer is staged at the second checkpoint it outlives, so the resume point follows the scan', async () => {
  const host = new RecordingHost();
  const scan: { position?: ExportPosition } = {};
  const stream = new NdjsonStream('deleted', 'Bundle', 'job-c', container, emptyStream(), host, { block: 1_000_000, rolling: 10_000_000 }, () => scan.position);
  await feed(stream, scan, 1, 100, (n) => n === 5);
  await stream.beforeCheckpoint();
  assert.equal(stream.snapshot().through, at(4), 'one checkpoint: still buffered');
  await feed(stream, scan, 101, 200, () => false);
  await stream.beforeCheckpoint();
  assert.equal(stream.snapshot().through, at(200), 'second checkpoint: staged');
  assert.is(stream.snapshot().blockIds.length, 1);
});

test.run();
