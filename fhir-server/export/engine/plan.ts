/**
 * Planning a job: which types it covers, which patients limit it, and its work
 * items — one per type (and per extra kind: earlier versions, deleted resources),
 * a large type split into bucket ranges, a long patient list split into slices —
 * with the store's count as each item's total.
 */
import { patientCompartmentTypes } from '../../fhir/compartments.ts';
import type { ExportFilter, ResourceStore } from '../../store/resource-store.ts';
import { splitBuckets } from '../../store/layout.ts';
import { kickoffBase, typeFilterWhere } from './type-filter.ts';
import { emptyStream, type ExportScope, type JobRecord, type WorkItem, type WorkItemKind } from './job-record.ts';
import type { ExportEngineOptions } from './options.ts';

/** A job that cannot be planned (its Group is gone): the failure to record. */
export class PlanFailure extends Error {
  override readonly name = 'PlanFailure';
}

/** Types in the Patient compartment (what Patient and Group exports cover). */
export const compartmentTypes: ReadonlySet<string> = patientCompartmentTypes;

/** The plan of a job. */
export interface JobPlan {
  scope: ExportScope;
  items: WorkItem[];
  notes: string[];
}

/** The instant whose state `job` exports: its transaction time, or `_until` when earlier. */
export function snapshotMsOf(job: JobRecord): number {
  const { until } = job.request;
  return until ? Math.min(job.transactionTimeMs, Date.parse(until)) : job.transactionTimeMs;
}

/** The scan of `item` (without paging): the versions valid at the job's instant, written after `_since`, that its type's `_typeFilter`s select. */
export function scanFilterOf(job: JobRecord, item: WorkItem): ExportFilter {
  const filter: ExportFilter = { resourceType: item.resourceType, asOfMs: snapshotMsOf(job), versions: item.kind ?? 'state' };
  const { since } = job.request;
  if (since) filter.afterMs = Date.parse(since);
  if (since && !item.kind) filter.includeDeleted = true;
  if (item.buckets) filter.buckets = item.buckets;
  const base = kickoffBase(job.request.requestUrl);
  const where = typeFilterWhere(job.request.typeFilters, item.resourceType, { nowMs: job.transactionTimeMs, ...(base ? { baseUrl: base } : {}) });
  if (where) filter.where = where;
  const { compartments, chunkSize } = job.scope ?? {};
  if (compartments && chunkSize && item.compartmentChunk !== undefined) {
    filter.compartments = compartments.slice(item.compartmentChunk * chunkSize, (item.compartmentChunk + 1) * chunkSize);
  }
  return filter;
}

const asPatientRef = (ref: string): string => (ref.includes('/') ? ref : `Patient/${ref}`);

async function scopeOf(job: JobRecord, store: ResourceStore, options: ExportEngineOptions): Promise<ExportScope> {
  const { level, groupId, patients } = job.request;
  if (level === 'system') return { patientCompartmentOnly: false };
  let list = patients.length > 0 ? [...new Set(patients.map(asPatientRef))] : undefined;
  if (level === 'group') {
    const members = await store.getGroupMembers(groupId ?? '');
    if (!members) throw new PlanFailure(`Group/${groupId ?? ''} does not exist`);
    const groupPatients = members.filter((m) => m.startsWith('Patient/'));
    list = list ? list.filter((p) => groupPatients.includes(p)) : groupPatients;
  }
  return list ? { patientCompartmentOnly: true, compartments: list.sort(), chunkSize: options.compartmentChunkSize } : { patientCompartmentOnly: true };
}

async function typesOf(job: JobRecord, store: ResourceStore, notes: string[]): Promise<string[]> {
  const { level, types } = job.request;
  const wanted = types.length > 0 ? [...new Set(types)] : await store.listResourceTypes();
  if (level === 'system') return wanted;
  const covered = wanted.filter((type) => compartmentTypes.has(type));
  for (const type of wanted) {
    if (types.length > 0 && !compartmentTypes.has(type)) notes.push(`_type ${type}: ${type} is not in the Patient compartment, so this ${level}-level export has no ${type} output`);
  }
  return covered;
}

function newItem(resourceType: string, total: number, extra: Partial<WorkItem> = {}): WorkItem {
  return { index: 0, resourceType, status: 'pending', total, checkpoint: { resources: emptyStream(), deleted: emptyStream(), errors: emptyStream() }, ...extra };
}

/** Live resources an item will read (its progress total; deletions are not counted). */
function countOf(store: ResourceStore, job: JobRecord, item: WorkItem): Promise<number> {
  const { includeDeleted: _, ...filter } = scanFilterOf(job, item);
  return store.count(filter);
}

/** The `includeAssociatedData` values that add work items of their own. */
function extraKindsOf(job: JobRecord): WorkItemKind[] {
  const kinds: WorkItemKind[] = [];
  if (job.request.includeAssociatedData.includes('_history')) kinds.push('history');
  if (job.request.includeAssociatedData.includes('_deleted')) kinds.push('deleted-resources');
  return kinds;
}

/**
 * Most work items of one type and kind. The job record holds every item, and a Cosmos DB document holds
 * at most 2 MB: 256 items (~130 KB) per type keeps a whole-account job far below it, and still lets 256
 * workers share one type (at a billion resources an item then holds a few million).
 */
export const maxItemsPerType = 256;

// One item per type and kind, or, for more than `itemSplitThreshold` resources, bucket ranges of about that many each.
async function itemsOfType(store: ResourceStore, job: JobRecord, type: string, kind: WorkItemKind | undefined, options: ExportEngineOptions): Promise<WorkItem[]> {
  const whole = newItem(type, 0, kind ? { kind } : {});
  whole.total = await countOf(store, job, whole);
  if (whole.total <= options.itemSplitThreshold) return [whole];
  const items: WorkItem[] = [];
  for (const buckets of splitBuckets(Math.min(maxItemsPerType, Math.ceil(whole.total / options.itemSplitThreshold)))) {
    const item = newItem(type, 0, { ...(kind ? { kind } : {}), buckets });
    item.total = await countOf(store, job, item);
    items.push(item);
  }
  return items;
}

/** Plans `job`; `PlanFailure` when its Group is gone. */
export async function planJob(job: JobRecord, store: ResourceStore, options: ExportEngineOptions): Promise<JobPlan> {
  const notes: string[] = [];
  const scope = await scopeOf(job, store, options);
  const planned: JobRecord = { ...job, scope };
  const items: WorkItem[] = [];
  const kinds: Array<WorkItemKind | undefined> = [undefined, ...extraKindsOf(job)];
  for (const type of await typesOf(job, store, notes)) {
    for (const kind of kinds) {
      if (scope.compartments) {
        const slices = Math.ceil(scope.compartments.length / options.compartmentChunkSize);
        for (let slice = 0; slice < slices; slice++) {
          const item = newItem(type, 0, { compartmentChunk: slice, ...(kind ? { kind } : {}) });
          item.total = await countOf(store, planned, item);
          items.push(item);
        }
        continue;
      }
      items.push(...(await itemsOfType(store, planned, type, kind, options)));
    }
  }
  items.forEach((item, index) => (item.index = index));
  return { scope, items, notes };
}
