/**
 * Data written by earlier releases (layout 1: container `resources`, current
 * versions only, 16 buckets per type). The server does not read it: at start-up
 * it refuses a database that holds such data not yet migrated, and says which
 * command migrates it (migrate.ts). A marker in the system container records a
 * finished migration.
 */
import type { Container, CosmosClient } from '@azure/cosmos';
import { cosmosStatus, toFhirError } from './cosmos-errors.ts';

/** The container of layout 1. */
export const legacyContainerId = 'resources';

/** The command that migrates layout 1 data (printed in the refusal). */
export const migrateCommand = 'npm run migrate-store -- --config <the fhir-server config file>';

/** The marker document of a finished migration. */
export interface MigrationMarker {
  id: 'store-layout';
  pk: 'store-layout';
  /** Layout the data is in. */
  layout: number;
  /** Container migrated from, and when the migration finished. */
  migratedFrom?: string;
  migratedAt?: string;
  /** Resources copied. */
  resources?: number;
}

/** The database still holds layout-1 data that was not migrated. */
export class LegacyLayoutError extends Error {
  override readonly name = 'LegacyLayoutError';
}

/** The migration marker, if any. */
export async function readMigrationMarker(system: Container): Promise<MigrationMarker | undefined> {
  try {
    const { resource } = await system.item('store-layout', 'store-layout').read<MigrationMarker>();
    return resource;
  } catch (error) {
    if (cosmosStatus(error) === 404) return undefined;
    throw toFhirError(error, 'reading the store layout marker');
  }
}

/** How many layout-1 documents (no `layout` field) the layout-1 container holds (0 when it does not exist). */
export async function legacyDocumentCount(client: CosmosClient, databaseId: string): Promise<number> {
  const container = client.database(databaseId).container(legacyContainerId);
  try {
    const { resources } = await container.items.query<number>('SELECT VALUE COUNT(1) FROM c WHERE NOT IS_DEFINED(c.layout)').fetchAll();
    return resources.reduce((a, b) => a + b, 0);
  } catch (error) {
    if (cosmosStatus(error) === 404) return 0;
    throw toFhirError(error, 'looking for data in the layout of an earlier release');
  }
}

/** Throws {@link LegacyLayoutError} when layout-1 data exists and no migration has been recorded. */
export async function assertNoLegacyData(client: CosmosClient, databaseId: string, system: Container): Promise<void> {
  const marker = await readMigrationMarker(system);
  if (marker?.migratedFrom) return;
  const count = await legacyDocumentCount(client, databaseId);
  if (count === 0) return;
  throw new LegacyLayoutError(
    `The account database '${databaseId}' holds ${count} documents in the layout of an earlier release (container '${legacyContainerId}', ` +
      `no history). Migrate them before starting this release: ${migrateCommand}`,
  );
}
