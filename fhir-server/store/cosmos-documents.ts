/**
 * Writes of resource versions in the Cosmos container. A new current version
 * that replaces an existing one goes in one transactional batch with the history
 * copy of the version it replaces, the replace guarded by the current document's
 * ETag: both land or neither, and a concurrent writer makes the batch fail as a
 * whole (412), never half-applied.
 */
import type { Container, OperationInput, OperationResponse } from '@azure/cosmos';
import { FhirError } from '../fhir/errors.ts';
import { cosmosStatus, toFhirError } from './cosmos-errors.ts';
import { historyCopy, withoutSystemProperties } from './document.ts';
import type { ResourceDocument } from './document.ts';
import { historyDocumentId } from './layout.ts';

/** A Cosmos failure of one operation of a batch, shaped like the SDK's errors (`code` = HTTP status). */
export class BatchOperationFailed extends Error {
  override readonly name = 'BatchOperationFailed';
  /** HTTP status of the failing operation. */
  readonly code: number;

  constructor(code: number, doing: string) {
    super(`${doing}: an operation of the batch answered ${code}`);
    this.code = code;
  }
}

/** Runs `operations` as one transactional batch in partition `pk`; throws the failing operation's status. */
async function runBatch(container: Container, pk: string, operations: OperationInput[], doing: string, abortSignal?: AbortSignal): Promise<OperationResponse[]> {
  let result: OperationResponse[];
  try {
    const response = await container.items.batch(operations, pk, abortSignal ? { abortSignal } : undefined);
    result = response.result ?? [];
  } catch (error) {
    if (cosmosStatus(error) !== undefined) throw error;
    // The SDK wraps transport failures of a batch in a plain Error (status and code lost): the database did not answer.
    throw new FhirError('unavailable', `The database (Cosmos DB) did not complete the write while ${doing}; retry later`, { retryAfterSeconds: 1, cause: error });
  }
  const failed = result.find((r) => r.statusCode >= 400 && r.statusCode !== 424);
  if (failed || result.length !== operations.length) throw new BatchOperationFailed(failed?.statusCode ?? 500, doing);
  return result;
}

/** The resource documents of one container. */
export class ResourceDocuments {
  /** The container holding resource documents. */
  readonly container: Container;
  /** Whether replaced versions are kept (history copies). */
  readonly keepHistory: boolean;

  constructor(container: Container, options: { keepHistory?: boolean } = {}) {
    this.container = container;
    this.keepHistory = options.keepHistory ?? true;
  }

  /** The document at (pk, id), with its `_etag`; undefined when there is none. */
  async get(pk: string, id: string): Promise<ResourceDocument | undefined> {
    try {
      const { resource, statusCode } = await this.container.item(id, pk).read<ResourceDocument>();
      return statusCode === 404 ? undefined : resource;
    } catch (error) {
      if (cosmosStatus(error) === 404) return undefined;
      throw toFhirError(error, `reading ${id}`);
    }
  }

  /**
   * Makes `next` the current version: a create when there is no current document, else the
   * history copy of `current` plus a replace conditional on `current._etag`, atomically. A
   * concurrent writer surfaces as an error with `code` 409/412 (left unmapped so callers can
   * tell a race from a failure).
   */
  async put(next: ResourceDocument, current: ResourceDocument | undefined, abortSignal?: AbortSignal): Promise<void> {
    const body = withoutSystemProperties(next);
    if (!current) {
      await this.container.items.create<ResourceDocument>(body, abortSignal ? { abortSignal } : undefined);
      return;
    }
    const replace: OperationInput = { operationType: 'Replace', id: next.id, resourceBody: body as never, ifMatch: current._etag! };
    if (!this.keepHistory) {
      await this.container.item(next.id, next.pk).replace<ResourceDocument>(body, { accessCondition: { type: 'IfMatch', condition: current._etag! }, ...(abortSignal ? { abortSignal } : {}) });
      return;
    }
    const copy: OperationInput = { operationType: 'Upsert', resourceBody: historyCopy(current, next.lastUpdatedMs) as never };
    await runBatch(this.container, next.pk, [copy, replace], `writing ${next.resourceType}/${next.rid}`, abortSignal);
  }

  /**
   * Undoes a write: puts `before` back as the current version in place of `current` (conditional on
   * `current._etag`) and removes the history copy of `before` that the write made, atomically; with
   * no `before`, deletes `current` (it was new). Race errors are left unmapped, as for {@link put}.
   */
  async restore(before: ResourceDocument | undefined, current: ResourceDocument): Promise<void> {
    if (!before) {
      await this.container.item(current.id, current.pk).delete({ accessCondition: { type: 'IfMatch', condition: current._etag! } });
      return;
    }
    const replace: OperationInput = { operationType: 'Replace', id: current.id, resourceBody: withoutSystemProperties(before) as never, ifMatch: current._etag! };
    if (!this.keepHistory) {
      await runBatch(this.container, current.pk, [replace], `restoring ${current.resourceType}/${current.rid}`);
      return;
    }
    const historyId = historyDocumentId(before.rid, before.versionId);
    const copy = await this.get(current.pk, historyId);
    const operations: OperationInput[] = copy ? [replace, { operationType: 'Delete', id: historyId }] : [replace];
    await runBatch(this.container, current.pk, operations, `restoring ${current.resourceType}/${current.rid}`);
  }
}
