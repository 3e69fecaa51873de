/**
 * The transaction journal: Cosmos has no multi-partition atomic write (and the
 * local stand-in no atomic batch at all), so a transaction records what it is
 * about to overwrite before it writes anything.
 *
 * Layout (system container, partition `tx|<txId>`):
 * - header `{ id: txId, kind: 'transaction', state, startedMs, deadlineMs, targets[] }`,
 *   state `applying` -> `committed` | `rolling-back` -> `rolled-back`;
 * - one `before-image` document per target that existed, holding the document as it was.
 */
import type { Container } from '@azure/cosmos';
import { cosmosStatus, toFhirError } from './cosmos-errors.ts';
import { withoutSystemProperties } from './document.ts';
import type { ResourceDocument } from './document.ts';
import { mapBounded } from './pool.ts';

/** Where a transaction writes. */
export interface JournalTarget {
  /** Partition key of the resource document. */
  pk: string;
  /** Resource id. */
  id: string;
  /** Version of the document before the transaction (then a before-image holds it); absent when there was none. */
  beforeVersion?: number;
}

/** Journal header states. */
export type JournalState = 'applying' | 'committed' | 'rolling-back' | 'rolled-back';

/** The journal header document. */
export interface JournalHeader {
  /** Transaction id. */
  id: string;
  /** `tx|<id>`. */
  pk: string;
  /** Always `transaction`. */
  kind: 'transaction';
  /** Where the transaction is. */
  state: JournalState;
  /** When it started (epoch ms). */
  startedMs: number;
  /** After this instant (epoch ms) an unfinished transaction is presumed dead and may be rolled back. */
  deadlineMs: number;
  /** When it was committed or rolled back. */
  finishedMs?: number;
  /** The documents it writes. */
  targets: JournalTarget[];
  /** Cosmos ETag. */
  _etag?: string;
}

interface BeforeImage {
  id: string;
  pk: string;
  kind: 'before-image';
  before: ResourceDocument;
}

const journalPk = (txId: string): string => `tx|${txId}`;
const imageId = (txId: string, index: number): string => `${txId}.${index}`;

/** The journal documents in the system container. */
export class TransactionJournal {
  readonly #container: Container;

  constructor(container: Container) {
    this.#container = container;
  }

  /** Records the before-images, then the header in state `applying`; only then may the transaction write. */
  async begin(txId: string, befores: (ResourceDocument | undefined)[], targets: JournalTarget[], deadlineMs: number, concurrency: number): Promise<JournalHeader> {
    const pk = journalPk(txId);
    try {
      await mapBounded(befores, concurrency, async (before, index) => {
        if (!before) return;
        const image: BeforeImage = { id: imageId(txId, index), pk, kind: 'before-image', before: withoutSystemProperties(before) };
        await this.#container.items.create(image);
      });
      const header: JournalHeader = { id: txId, pk, kind: 'transaction', state: 'applying', startedMs: Date.now(), deadlineMs, targets };
      const { resource } = await this.#container.items.create<JournalHeader>(header);
      return resource ?? header;
    } catch (error) {
      throw toFhirError(error, 'recording the transaction journal');
    }
  }

  /** The before-image of target `index` (undefined if none was recorded). */
  async before(txId: string, index: number): Promise<ResourceDocument | undefined> {
    try {
      const { resource, statusCode } = await this.#container.item(imageId(txId, index), journalPk(txId)).read<BeforeImage>();
      return statusCode === 404 ? undefined : resource?.before;
    } catch (error) {
      if (cosmosStatus(error) === 404) return undefined;
      throw toFhirError(error, 'reading the transaction journal');
    }
  }

  /** Moves the header to `state` if it is still at its ETag; false when someone else moved it first. */
  async transition(header: JournalHeader, state: JournalState): Promise<JournalHeader | undefined> {
    const next: JournalHeader = { ...header, state, ...(state === 'committed' || state === 'rolled-back' ? { finishedMs: Date.now() } : {}) };
    delete next._etag;
    try {
      const { resource } = await this.#container.item(header.id, header.pk).replace<JournalHeader>(next, {
        accessCondition: { type: 'IfMatch', condition: header._etag! },
      });
      return resource ?? next;
    } catch (error) {
      if (cosmosStatus(error) === 412 || cosmosStatus(error) === 404) return undefined;
      throw toFhirError(error, 'updating the transaction journal');
    }
  }

  /** Deletes the before-images of a finished transaction (best effort; a later recovery pass retries). */
  async dropImages(header: JournalHeader, concurrency: number): Promise<void> {
    await mapBounded(header.targets, concurrency, async (target, index) => {
      if (target.beforeVersion === undefined) return;
      await this.#container
        .item(imageId(header.id, index), header.pk)
        .delete()
        .catch((error: unknown) => {
          if (cosmosStatus(error) !== 404) throw error;
        });
    }).catch(() => undefined);
  }

  /** Headers not yet finished (`applying` or `rolling-back`). */
  async unfinished(): Promise<JournalHeader[]> {
    try {
      const { resources } = await this.#container.items
        .query<JournalHeader>({ query: "SELECT * FROM c WHERE c.kind = 'transaction' AND (c.state = 'applying' OR c.state = 'rolling-back')" })
        .fetchAll();
      return resources;
    } catch (error) {
      throw toFhirError(error, 'listing unfinished transactions');
    }
  }
}
