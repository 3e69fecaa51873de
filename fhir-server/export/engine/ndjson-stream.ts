/**
 * One output stream of a work item: NDJSON lines buffered into one block,
 * staged (`stageBlock`) once the block reaches its size, and committed
 * (`commitBlockList`) as a file once the file reaches the rolling size.
 *
 * Durable state is what has been staged or committed; the buffer is not. Its
 * `through` is the scan position up to which every line of this stream is
 * durable: with an empty buffer the scan's current position, otherwise the
 * position just before the first buffered line. A worker resuming from a
 * checkpoint re-reads from there and skips lines at or before `through`, so a
 * line is never written twice and never lost; blocks staged after the
 * checkpoint are left out of the block list and never become part of a file.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import type { ExportPosition } from '../../store/resource-store.ts';
import { calling } from './failures.ts';
import { blobNameOf, comparePositions, type FileRecord, type StreamCheckpoint, type StreamKind } from './job-record.ts';

/** What a stream asks of its work item to make its progress durable. */
export interface StreamHost {
  /** Allocates the stream's next file name and records it as the stream's open file. */
  allocateFile(kind: StreamKind): Promise<string>;
  /** Records a committed file and the stream's state after it. */
  fileCommitted(kind: StreamKind, file: FileRecord, state: StreamCheckpoint): Promise<void>;
}

/** Sizes in bytes. */
export interface StreamSizes {
  block: number;
  rolling: number;
}

/** See the module comment. */
export class NdjsonStream {
  readonly #durable: StreamCheckpoint;
  readonly #resumeAfter: ExportPosition | undefined;
  readonly #nonce = randomBytes(4).toString('hex');
  #chunks: string[] = [];
  #bufferBytes = 0;
  #bufferCount = 0;
  #bufferStartPrev: ExportPosition | undefined;
  #blocks = 0;
  #bufferAge = 0;

  /** A stream resuming from `checkpoint`; `position()` is the scan's current position. */
  constructor(
    readonly kind: StreamKind,
    readonly fileType: string,
    private readonly jobId: string,
    private readonly container: ContainerClient,
    checkpoint: StreamCheckpoint,
    private readonly host: StreamHost,
    private readonly sizes: StreamSizes,
    private readonly position: () => ExportPosition | undefined,
  ) {
    this.#durable = structuredClone(checkpoint);
    this.#resumeAfter = checkpoint.through;
  }

  /** Lines durable or buffered, for progress. */
  get exported(): number {
    return this.#durable.exported + this.#bufferCount;
  }

  /** The durable state to checkpoint now. */
  snapshot(): StreamCheckpoint {
    const state = structuredClone(this.#durable);
    // Never behind the checkpoint resumed from: what was durable then still is.
    const through = this.#atLeastResumed(this.#bufferCount > 0 ? this.#bufferStartPrev : this.position());
    if (through) state.through = through;
    else delete state.through;
    return state;
  }

  #atLeastResumed(position: ExportPosition | undefined): ExportPosition | undefined {
    if (!this.#resumeAfter) return position;
    return position && comparePositions(position, this.#resumeAfter) > 0 ? position : this.#resumeAfter;
  }

  /**
   * Called before each checkpoint: a buffer that already existed at the previous checkpoint
   * is staged now, so a sparse stream (deletions, a narrow `_typeFilter`) never holds its
   * `through` — and so a resumed scan's start — far behind the scan.
   */
  async beforeCheckpoint(): Promise<void> {
    if (this.#bufferCount > 0 && this.#bufferAge++ >= 1) await this.stage();
  }

  /** Adds `line` of the item just scanned (`prev`: the scan position before it). */
  async append(line: string, prev: ExportPosition | undefined): Promise<void> {
    const here = this.position();
    if (this.#resumeAfter && here && comparePositions(here, this.#resumeAfter) <= 0) return;
    if (this.#bufferCount === 0) this.#bufferStartPrev = prev;
    const text = `${line}\n`;
    this.#chunks.push(text);
    this.#bufferBytes += Buffer.byteLength(text);
    this.#bufferCount += 1;
    if (this.#bufferBytes >= this.sizes.block) await this.stage();
    if (this.#durable.bytes + this.#bufferBytes >= this.sizes.rolling) await this.#roll();
  }

  /** Stages the buffer as a block (no-op when empty). */
  async stage(): Promise<void> {
    if (this.#bufferCount === 0) return;
    this.#durable.fileName ??= await this.host.allocateFile(this.kind);
    const body = Buffer.from(this.#chunks.join(''), 'utf8');
    const blockId = Buffer.from(`${this.#nonce}-${String(this.#blocks++).padStart(6, '0')}`).toString('base64');
    const blob = this.container.getBlockBlobClient(blobNameOf(this.jobId, this.#durable.fileName));
    await calling('Blob Storage', (abortSignal) => blob.stageBlock(blockId, body, body.length, { abortSignal }));
    this.#durable.blockIds.push(blockId);
    this.#durable.bytes += body.length;
    this.#durable.count += this.#bufferCount;
    this.#durable.exported += this.#bufferCount;
    this.#chunks = [];
    this.#bufferBytes = 0;
    this.#bufferCount = 0;
    this.#bufferAge = 0;
  }

  /** Commits the open file and records it (nothing when the stream wrote nothing since the last file). */
  async #roll(): Promise<void> {
    await this.stage();
    const { fileName, blockIds, bytes, count } = this.#durable;
    if (!fileName || blockIds.length === 0) return;
    const blob = this.container.getBlockBlobClient(blobNameOf(this.jobId, fileName));
    await calling('Blob Storage', (abortSignal) => blob.commitBlockList(blockIds, { blobHTTPHeaders: { blobContentType: 'application/fhir+ndjson' }, abortSignal }));
    delete this.#durable.fileName;
    this.#durable.blockIds = [];
    this.#durable.bytes = 0;
    this.#durable.count = 0;
    await this.host.fileCommitted(this.kind, { type: this.fileType, fileName, count, sizeBytes: bytes }, this.snapshot());
  }

  /** Commits whatever is left: the end of the item's scan. */
  async finish(): Promise<void> {
    await this.#roll();
  }
}
