/**
 * The set of resource types ever written, kept as one small marker document per
 * type in the system container: listing distinct types of the resource container
 * would need DISTINCT or GROUP BY, which not every Cosmos-compatible engine offers.
 */
import type { Container } from '@azure/cosmos';
import { toFhirError } from './cosmos-errors.ts';

const typesPk = 'resource-types';

/** Marker documents of the resource types in use. */
export class TypeRegistry {
  readonly #container: Container;
  readonly #known = new Set<string>();

  constructor(container: Container) {
    this.#container = container;
  }

  /** Records `types` (idempotent; cached per process) before resources of them are written. */
  async ensure(types: Iterable<string>): Promise<void> {
    const missing = [...new Set(types)].filter((type) => !this.#known.has(type));
    await Promise.all(
      missing.map(async (type) => {
        try {
          await this.#container.items.upsert({ id: type, pk: typesPk, kind: 'resource-type' });
          this.#known.add(type);
        } catch (error) {
          throw toFhirError(error, `registering resource type ${type}`);
        }
      }),
    );
  }

  /** Every recorded type, sorted. */
  async list(): Promise<string[]> {
    try {
      const { resources } = await this.#container.items
        .query<string>({ query: 'SELECT VALUE c.id FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: typesPk }] }, { partitionKey: typesPk })
        .fetchAll();
      return resources.sort();
    } catch (error) {
      throw toFhirError(error, 'listing resource types');
    }
  }
}
