/**
 * The Cosmos DB adapter of `JobStore`: container `jobs` (partition key `/id`)
 * in the account's database; replaces carry `IfMatch` with the record's etag.
 * The same container holds the one admission record (`docType: export-admission`).
 */
import type { Container, CosmosClient } from '@azure/cosmos';
import { ensureContainer } from '../../../common/cosmos.ts';
import { admissionRecordId, type AdmissionRecord } from './admission.ts';
import type { JobRecord } from './job-record.ts';
import { JobConflict, type JobStore } from './job-store.ts';

/** Where the jobs live. */
export interface CosmosJobStoreOptions {
  /** The account's database. */
  databaseId: string;
  /** Container (default `jobs`). */
  containerId?: string;
}

/** Creates the container if needed and returns the store. */
export async function openCosmosJobStore(client: CosmosClient, options: CosmosJobStoreOptions): Promise<CosmosJobStore> {
  return new CosmosJobStore(await ensureContainer(client, options.databaseId, options.containerId ?? 'jobs', '/id'));
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** See the module comment. */
export class CosmosJobStore implements JobStore {
  /** Uses `container`. */
  constructor(readonly container: Container) {}

  async create(record: JobRecord): Promise<JobRecord> {
    const { resource } = await this.container.items.create<JobRecord>(record);
    return resource as JobRecord;
  }

  async read(id: string): Promise<JobRecord | undefined> {
    const { resource } = await this.container.item(id, id).read<JobRecord>();
    return resource ?? undefined;
  }

  async replace(record: JobRecord): Promise<JobRecord> {
    const etag = record._etag;
    if (!etag) throw new Error(`job ${record.id} has no etag to replace against`);
    try {
      const { resource } = await this.container
        .item(record.id, record.id)
        .replace<JobRecord>(record, { accessCondition: { type: 'IfMatch', condition: etag } });
      return resource as JobRecord;
    } catch (error) {
      if (statusOf(error) === 412) throw new JobConflict(`job ${record.id} changed since it was read`);
      throw error;
    }
  }

  async countActive(): Promise<number> {
    const { resources } = await this.container.items
      .query<number>("SELECT VALUE COUNT(1) FROM c WHERE c.docType = 'export-job' AND (c.status = 'queued' OR c.status = 'running')")
      .fetchAll();
    return resources.reduce((sum, n) => sum + n, 0);
  }

  async listWork(): Promise<JobRecord[]> {
    const { resources } = await this.container.items
      .query<JobRecord>(
        "SELECT * FROM c WHERE c.docType = 'export-job' AND (c.status = 'queued' OR c.status = 'running' OR c.destinationReleased = false) ORDER BY c.createTime",
      )
      .fetchAll();
    return resources;
  }

  async readAdmission(): Promise<AdmissionRecord | undefined> {
    const { resource } = await this.container.item(admissionRecordId, admissionRecordId).read<AdmissionRecord>();
    return resource ?? undefined;
  }

  async writeAdmission(record: AdmissionRecord): Promise<AdmissionRecord> {
    try {
      if (!record._etag) return (await this.container.items.create<AdmissionRecord>(record)).resource as AdmissionRecord;
      const { resource } = await this.container
        .item(record.id, record.id)
        .replace<AdmissionRecord>(record, { accessCondition: { type: 'IfMatch', condition: record._etag } });
      return resource as AdmissionRecord;
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412) throw new JobConflict('the admission record changed since it was read');
      throw error;
    }
  }
}
