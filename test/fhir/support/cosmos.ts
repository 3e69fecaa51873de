/**
 * Test support: the Cosmos DB stand-in, a real `CosmosClient` against it, and a
 * resource store in a fresh database per call.
 */
import type { CosmosClient } from '@azure/cosmos';
import { createCosmosClient } from '../../../common/cosmos.ts';
import { ensureLocalTls } from '../../../dev/certs.ts';
import { startCosmos } from '../../../dev/cosmos/server.ts';
import type { RunningCosmos } from '../../../dev/cosmos/server.ts';
import { openCosmosResourceStore } from '../../../fhir-server/store/cosmos-resource-store.ts';
import type { CosmosResourceStore, CosmosResourceStoreOptions } from '../../../fhir-server/store/cosmos-resource-store.ts';
import { withoutSystemProperties } from '../../../fhir-server/store/document.ts';
import type { ResourceDocument } from '../../../fhir-server/store/document.ts';

/** A running stand-in and a client for it. */
export interface CosmosFixture {
  /** The stand-in. */
  cosmos: RunningCosmos;
  /** A client as the services build it. */
  client: CosmosClient;
  /** PEM of the local CA. */
  caPem: string;
  /** File holding that PEM. */
  caFile: string;
  /** Stops the stand-in. */
  stop(): Promise<void>;
}

/** Starts the stand-in over HTTPS with the local CA. */
export async function startCosmosFixture(): Promise<CosmosFixture> {
  const tls = await ensureLocalTls();
  const cosmos = await startCosmos({ tls });
  const client = createCosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, caPem: tls.caPem });
  return {
    cosmos,
    client,
    caPem: tls.caPem,
    caFile: tls.caFile,
    async stop() {
      client.dispose();
      await cosmos.stop();
    },
  };
}

let databases = 0;

/** A store in a database of its own. */
export async function freshStore(fixture: CosmosFixture, options: Partial<CosmosResourceStoreOptions> = {}): Promise<CosmosResourceStore> {
  databases += 1;
  return openCosmosResourceStore(fixture.client, { databaseId: `fhir-test-${process.pid}-${databases}`, ...options });
}

/** Every resource document of the store without system properties, sorted by pk and id: a snapshot to compare. */
export async function snapshot(store: CosmosResourceStore): Promise<ResourceDocument[]> {
  const { resources } = await store.container.items.query<ResourceDocument>('SELECT * FROM c').fetchAll();
  return resources.map(withoutSystemProperties).sort((a, b) => (a.pk + a.id < b.pk + b.id ? -1 : 1));
}

/** Number of resource documents in the store. */
export async function countDocuments(store: CosmosResourceStore): Promise<number> {
  const { resources } = await store.container.items.query<number>('SELECT VALUE COUNT(1) FROM c').fetchAll();
  return resources[0] ?? 0;
}
