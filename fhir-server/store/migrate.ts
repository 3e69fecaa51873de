/**
 * Migration of data written by earlier releases (layout 1: container
 * `resources`, partition key `<type>|<fnv1a32(id) % 16>`, current versions and
 * deletions only) into layout 2 (layout.ts). Cosmos DB cannot change a
 * document's partition key in place, so every document is copied into the new
 * container under its new key, keeping its version number, its instant and its
 * resource byte for byte; its derived fields (compartments, identifiers, Group
 * members, search index) are computed anew. The copy is idempotent (upserts),
 * so a run that stopped half way is simply run again. Layout 1 kept no earlier
 * versions, so history starts with the migrated versions; deletions are copied
 * as deletions (layout 1 kept no body for them, so a `_deleted` export cannot
 * return their last version). When every document is copied and counted, a
 * marker records the migration and the server starts again.
 */
import type { Container, CosmosClient } from '@azure/cosmos';
import { ensureContainer } from '../../common/cosmos.ts';
import type { FhirResource } from '../fhir/types.ts';
import { toFhirError } from './cosmos-errors.ts';
import { resourceIndexingPolicy, storeDefaults } from './cosmos-resource-store.ts';
import { liveDocument, withoutSystemProperties } from './document.ts';
import type { ResourceDocument } from './document.ts';
import { layoutVersion, openEnd, partitionKeyOf, bucketOf } from './layout.ts';
import { legacyContainerId, readMigrationMarker } from './legacy.ts';
import type { MigrationMarker } from './legacy.ts';
import { mapBounded } from './pool.ts';

/** A layout-1 document as earlier releases wrote it. */
interface LegacyDocument {
  id: string;
  resourceType: string;
  versionId: number;
  lastUpdated: string;
  lastUpdatedMs: number;
  deleted: boolean;
  compartments?: string[];
  resource?: FhirResource & { id: string };
  layout?: number;
}

/** Options of {@link migrateLegacyStore}. */
export interface MigrateOptions {
  /** The account's database. */
  databaseId: string;
  /** Container migrated from (default `resources`). */
  from?: string;
  /** Container migrated to (default: the store's, `resource-versions`). */
  to?: string;
  /** The system container (default `system`). */
  systemContainerId?: string;
  /** Container of export job records: the migration refuses to run while jobs are queued or running (default `exportJobs`). */
  jobsContainerId?: string;
  /** Documents read per page (default 500). */
  pageSize?: number;
  /** Writes in flight (default 16). */
  concurrency?: number;
  /** Called after each page with the running count. */
  onProgress?: (copied: number, total: number) => void;
}

/** What a migration did. */
export interface MigrateReport {
  /** `migrated`, or `nothing-to-migrate` (no layout-1 data), or `already-migrated` (the marker was there). */
  outcome: 'migrated' | 'nothing-to-migrate' | 'already-migrated';
  /** Layout-1 documents found. */
  found: number;
  /** Live resources and deletions copied. */
  live: number;
  deletions: number;
}

/** Why a migration did not run or did not finish. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

async function count(container: Container, where = ''): Promise<number> {
  const { resources } = await container.items.query<number>(`SELECT VALUE COUNT(1) FROM c ${where}`).fetchAll();
  return resources.reduce((a, b) => a + b, 0);
}

async function exists(container: Container): Promise<boolean> {
  try {
    await container.read();
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return false;
    throw toFhirError(error, `reading container ${container.id}`);
  }
}

/** The layout-2 document of a layout-1 one. */
export function migratedDocument(legacy: LegacyDocument): ResourceDocument {
  if (!legacy.deleted && legacy.resource) {
    const doc = liveDocument(legacy.resource, legacy.versionId, legacy.lastUpdatedMs);
    // Keep the resource exactly as stored before (its meta included), not as re-stamped.
    return { ...doc, lastUpdated: legacy.lastUpdated, resource: legacy.resource };
  }
  return {
    id: legacy.id,
    rid: legacy.id,
    pk: partitionKeyOf(legacy.resourceType, legacy.id),
    resourceType: legacy.resourceType,
    bucket: bucketOf(legacy.id),
    versionId: legacy.versionId,
    lastUpdated: legacy.lastUpdated,
    lastUpdatedMs: legacy.lastUpdatedMs,
    endMs: openEnd,
    deleted: true,
    compartments: legacy.compartments ?? [],
    identifiers: [],
    layout: layoutVersion,
  };
}

async function activeJobs(client: CosmosClient, databaseId: string, jobsContainerId: string): Promise<number> {
  const jobs = client.database(databaseId).container(jobsContainerId);
  if (!(await exists(jobs))) return 0;
  return count(jobs, "WHERE c.docType = 'export-job' AND (c.status = 'queued' OR c.status = 'running')");
}

/** Copies layout-1 data into layout 2 and records the migration (see the module comment). */
export async function migrateLegacyStore(client: CosmosClient, options: MigrateOptions): Promise<MigrateReport> {
  const fromId = options.from ?? legacyContainerId;
  const toId = options.to ?? storeDefaults.containerId;
  if (fromId === toId) throw new MigrationError(`the source and target container are both '${fromId}'; layout 2 needs a container of its own`);
  const database = client.database(options.databaseId);
  const system = await ensureContainer(client, options.databaseId, options.systemContainerId ?? storeDefaults.systemContainerId, '/pk');
  const marker = await readMigrationMarker(system);
  const source = database.container(fromId);
  if (!(await exists(source))) return { outcome: 'nothing-to-migrate', found: 0, live: 0, deletions: 0 };
  const found = await count(source, 'WHERE NOT IS_DEFINED(c.layout)');
  if (marker?.migratedFrom === fromId) return { outcome: 'already-migrated', found, live: 0, deletions: 0 };
  if (found === 0) return { outcome: 'nothing-to-migrate', found, live: 0, deletions: 0 };
  const running = await activeJobs(client, options.databaseId, options.jobsContainerId ?? 'exportJobs');
  if (running > 0) throw new MigrationError(`${running} export jobs are queued or running; let them finish (or cancel them) before migrating`);

  const target = await ensureContainer(client, options.databaseId, toId, '/pk', { indexingPolicy: resourceIndexingPolicy });
  const report: MigrateReport = { outcome: 'migrated', found, live: 0, deletions: 0 };
  const iterator = source.items.query<LegacyDocument>('SELECT * FROM c WHERE NOT IS_DEFINED(c.layout)', { maxItemCount: options.pageSize ?? 500 });
  while (iterator.hasMoreResults()) {
    const { resources: page } = await iterator.fetchNext();
    await mapBounded(page, options.concurrency ?? 16, async (legacy) => {
      const doc = withoutSystemProperties(migratedDocument(legacy));
      try {
        await target.items.upsert(doc);
      } catch (error) {
        throw toFhirError(error, `copying ${legacy.resourceType}/${legacy.id}`);
      }
      if (doc.deleted) report.deletions += 1;
      else report.live += 1;
    });
    options.onProgress?.(report.live + report.deletions, found);
  }
  const copied = await count(target, 'WHERE c.endMs = 8640000000000000');
  if (copied < found) throw new MigrationError(`copied ${copied} of ${found} documents; run the migration again`);
  const done: MigrationMarker = { id: 'store-layout', pk: 'store-layout', layout: layoutVersion, migratedFrom: fromId, migratedAt: new Date().toISOString(), resources: found };
  await system.items.upsert(done);
  return report;
}
