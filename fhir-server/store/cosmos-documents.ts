/**
 * Point operations on resource documents in the Cosmos container, each guarded
 * by the document's ETag so concurrent writers never overwrite each other blindly.
 */
import type { Container } from '@azure/cosmos';
import { cosmosStatus, toFhirError } from './cosmos-errors.ts';
import { withoutSystemProperties } from './document.ts';
import type { ResourceDocument } from './document.ts';

/** The resource documents of one container. */
export class ResourceDocuments {
  /** The container holding resource documents. */
  readonly container: Container;

  constructor(container: Container) {
    this.container = container;
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
   * Writes `next` over `current`: a create when there is no current document, else a replace
   * conditional on the current `_etag`. A concurrent writer surfaces as a Cosmos 409/412 error
   * (left unmapped so callers can tell a race from a failure).
   */
  async put(next: ResourceDocument, current: ResourceDocument | undefined): Promise<ResourceDocument> {
    const body = withoutSystemProperties(next);
    if (!current) {
      const { resource } = await this.container.items.create<ResourceDocument>(body);
      return resource ?? body;
    }
    const { resource } = await this.container.item(next.id, next.pk).replace<ResourceDocument>(body, {
      accessCondition: { type: 'IfMatch', condition: current._etag! },
    });
    return resource ?? body;
  }

  /** Deletes `current` if it is still at its `_etag` (409/412/404 errors left unmapped, as for {@link put}). */
  async remove(current: ResourceDocument): Promise<void> {
    await this.container.item(current.id, current.pk).delete({ accessCondition: { type: 'IfMatch', condition: current._etag! } });
  }
}
