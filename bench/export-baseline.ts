/**
 * The export bench's baseline: the same store pages written as the same NDJSON
 * bytes to Blob Storage, with nothing of FHIR export around them — no job
 * record, lease, checkpoint or worker pool. Each type is scanned page by page,
 * buffered into blocks of at least `blockBytes`, staged, and committed as one
 * blob per type; `concurrency` types are in flight at once.
 */
import type { ContainerClient } from '@azure/storage-blob';
import type { ExportPosition, ResourceStore } from '../fhir-server/store/resource-store.ts';

/** What {@link writeBaseline} needs. */
export interface BaselineOptions {
  store: ResourceStore;
  /** Types to write (one blob each). */
  types: string[];
  /** Page size of the scans (the export's `maximumNumberOfResourcesPerQuery`). */
  pageSize: number;
  /** Container to write into (created if missing). */
  container: ContainerClient;
  /** Bytes at which a buffer is staged as a block (the export's block size). */
  blockBytes: number;
  /** Types written at once (the export's concurrent work items). */
  concurrency: number;
}

/** Lines and bytes written for one type. */
export interface TypeTotals {
  count: number;
  bytes: number;
}

async function writeType(o: BaselineOptions, resourceType: string): Promise<TypeTotals> {
  const blob = o.container.getBlockBlobClient(`${resourceType}.ndjson`);
  const blockIds: string[] = [];
  const totals: TypeTotals = { count: 0, bytes: 0 };
  let chunks: string[] = [];
  let buffered = 0;
  const stage = async (): Promise<void> => {
    if (chunks.length === 0) return;
    const body = Buffer.from(chunks.join(''), 'utf8');
    const blockId = Buffer.from(String(blockIds.length).padStart(8, '0')).toString('base64');
    await blob.stageBlock(blockId, body, body.length);
    blockIds.push(blockId);
    totals.bytes += body.length;
    chunks = [];
    buffered = 0;
  };
  let continuation: ExportPosition | undefined;
  do {
    const page = await o.store.queryForExport({ resourceType, pageSize: o.pageSize, ...(continuation ? { continuation } : {}) });
    for (const json of page.resources) {
      const line = `${json}\n`;
      chunks.push(line);
      buffered += Buffer.byteLength(line);
      if (buffered >= o.blockBytes) await stage();
    }
    totals.count += page.resources.length;
    continuation = page.continuation;
  } while (continuation);
  await stage();
  if (blockIds.length > 0) await blob.commitBlockList(blockIds, { blobHTTPHeaders: { blobContentType: 'application/fhir+ndjson' } });
  return totals;
}

/** Writes every type of `o.types` as one blob each; returns the totals per type. */
export async function writeBaseline(o: BaselineOptions): Promise<Map<string, TypeTotals>> {
  await o.container.createIfNotExists();
  const result = new Map<string, TypeTotals>();
  const queue = [...o.types];
  const lane = async (): Promise<void> => {
    for (let type = queue.shift(); type !== undefined; type = queue.shift()) result.set(type, await writeType(o, type));
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, lane));
  return result;
}
