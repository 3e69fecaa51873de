/**
 * `includeAssociatedData=RelevantProvenanceResources` / `LatestProvenanceResources`:
 * the Provenance resources whose `target` names a resource this export writes.
 *
 * A resource item, page by page, asks for the Provenance of the resources the page
 * exported: one store query per {@link targetsPerQuery} targets over the search
 * index (`idx.p.target`, references as written without their version suffix, so
 * `Patient/1/_history/2` targets `Patient/1`), reading the versions valid at the
 * job's instant. Relevant keeps every one; Latest, per exported resource, the one
 * with the latest `recorded` (ties: the later version, then the larger id).
 *
 * Each Provenance is written once in the job, by the item and at the scan position
 * of its owner: the first (by `Type/id` text) of its targets that the export writes
 * (for Latest: of those it is the latest Provenance of). When a Provenance also names
 * a target before the page's one, the store is asked whether the export writes that
 * target — the export's own scan filter (snapshot, `_since`, `_typeFilter`, patients)
 * plus the id, and the line rules (patient compartment, withheld invalid resources) —
 * so no job-wide set of ids is ever held. A Provenance the export writes anyway
 * (`_type` includes Provenance) is not written again. Memory: the Provenance of one
 * page of resources.
 */
import type { JSONValue } from '@azure/cosmos';
import { patientCompartmentsOf } from '../../fhir/compartments.ts';
import type { FhirResource } from '../../fhir/types.ts';
import { indexEntries } from '../../search/index-values.ts';
import { parametersOf } from '../../search/parameters.ts';
import { indexPath } from '../../search/sql.ts';
import type { ExportFilter, ExportPosition, ResourceStore } from '../../store/resource-store.ts';
import { elementsFor } from './elements.ts';
import type { JobRecord } from './job-record.ts';
import { resourceLine, type Line, type LineRules } from './lines.ts';
import { snapshotMsOf } from './plan.ts';
import { kickoffBase, typeFilterWhere } from './type-filter.ts';

/** Which Provenance an export adds: all that target its resources, or the latest per resource. */
export type ProvenanceMode = 'relevant' | 'latest';

/** Targets (or ids) per store query: keeps the query text far below Cosmos DB's limit. */
export const targetsPerQuery = 1000;

/** The mode `job` asks for (Relevant wins when both are given: it is the superset); undefined: none. */
export function provenanceModeOf(job: Pick<JobRecord, 'request'>): ProvenanceMode | undefined {
  const asked = job.request.includeAssociatedData;
  if (asked.includes('RelevantProvenanceResources')) return 'relevant';
  if (asked.includes('LatestProvenanceResources')) return 'latest';
  return undefined;
}

const relativeReference = /^[A-Z][A-Za-z]{1,63}\/[A-Za-z0-9\-.]{1,64}$/;

/** One Provenance found. */
interface Found {
  id: string;
  json: string;
  versionId: number;
  lastUpdatedMs: number;
  recordedMs: number;
  /** Its targets on this server, as `Type/id`, sorted, without duplicates. */
  targets: string[];
}

/** True when `a` is the later Provenance: later `recorded`, then later version, then larger id. */
function later(a: Found, b: Found): boolean {
  if (a.recordedMs !== b.recordedMs) return a.recordedMs > b.recordedMs;
  if (a.lastUpdatedMs !== b.lastUpdatedMs) return a.lastUpdatedMs > b.lastUpdatedMs;
  return a.id > b.id;
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < list.length; at += size) out.push(list.slice(at, at + size));
  return out;
}

/** See the module comment. One per resource work item. */
export class AssociatedProvenance {
  readonly #asOfMs: number;
  readonly #base: string | undefined;
  readonly #exportedTypes: ReadonlySet<string>;
  readonly #rules: LineRules;
  readonly #memberRules: LineRules;
  readonly #listed: ReadonlySet<string> | undefined;

  /** For the resource items of `job` (planned: its items name the types it exports); `pageSize` bounds each store page. */
  constructor(
    private readonly store: ResourceStore,
    private readonly job: JobRecord,
    readonly mode: ProvenanceMode,
    private readonly pageSize: number,
  ) {
    this.#asOfMs = snapshotMsOf(job);
    this.#base = kickoffBase(job.request.requestUrl);
    this.#exportedTypes = new Set(job.items.filter((item) => !item.kind).map((item) => item.resourceType));
    const elements = elementsFor(job.request.elements, 'Provenance');
    this.#rules = { anyPatient: false, ...(elements ? { elements } : {}) };
    this.#memberRules = { anyPatient: job.scope?.patientCompartmentOnly === true && !job.scope.compartments };
    this.#listed = job.scope?.compartments ? new Set(job.scope.compartments) : undefined;
  }

  /**
   * The Provenance lines owned by each resource of `ids` (resources of `resourceType` the
   * calling item writes on this page), keyed by id; each id's lines ordered by Provenance id.
   */
  async forPage(resourceType: string, ids: readonly string[]): Promise<Map<string, Line[]>> {
    const out = new Map<string, Line[]>();
    if (ids.length === 0) return out;
    const page = new Set(ids.map((id) => `${resourceType}/${id}`));
    const found = await this.#targeting([...page]);
    // For each Provenance: the page resources it may be written for (Latest: those it is the latest of).
    const claims = new Map<string, { provenance: Found; targets: string[] }>();
    if (this.mode === 'relevant') {
      for (const provenance of found.values()) claims.set(provenance.id, { provenance, targets: provenance.targets.filter((t) => page.has(t)) });
    } else {
      for (const [target, provenance] of this.#latestOf(found.values(), page)) {
        const claim = claims.get(provenance.id) ?? { provenance, targets: [] };
        claim.targets.push(target);
        claims.set(provenance.id, claim);
      }
    }
    // Targets named before a Provenance's first page target: it belongs to one of them if the export writes it.
    const owners = new Map<string, string>();
    const earlier = new Set<string>();
    for (const { provenance, targets } of claims.values()) {
      const owner = targets.sort()[0]!;
      owners.set(provenance.id, owner);
      for (const target of provenance.targets) if (target < owner && !page.has(target) && this.#exportedTypes.has(target.slice(0, target.indexOf('/')))) earlier.add(target);
    }
    const exportedEarlier = await this.#exportedAmong([...earlier]);
    const latestEarlier = this.mode === 'latest' && exportedEarlier.size > 0 ? this.#latestOf((await this.#targeting([...exportedEarlier])).values(), exportedEarlier) : undefined;
    const alsoExported = this.#exportedTypes.has('Provenance') ? await this.#exportedAmong([...claims.keys()].map((id) => `Provenance/${id}`)) : new Set<string>();
    for (const { provenance } of [...claims.values()].sort((a, b) => (a.provenance.id < b.provenance.id ? -1 : 1))) {
      if (alsoExported.has(`Provenance/${provenance.id}`)) continue;
      const owner = owners.get(provenance.id)!;
      const ownedElsewhere = provenance.targets.some((t) => t < owner && exportedEarlier.has(t) && (!latestEarlier || latestEarlier.get(t)?.id === provenance.id));
      if (ownedElsewhere) continue;
      const line = resourceLine(provenance.json, this.#rules, provenance.versionId);
      if (!line) continue;
      const id = owner.slice(owner.indexOf('/') + 1);
      const lines = out.get(id) ?? [];
      lines.push(line);
      out.set(id, lines);
    }
    return out;
  }

  /** The latest Provenance of each of `targets` among `found`. */
  #latestOf(found: Iterable<Found>, targets: ReadonlySet<string>): Map<string, Found> {
    const best = new Map<string, Found>();
    for (const provenance of found) {
      for (const target of provenance.targets) {
        if (!targets.has(target)) continue;
        const current = best.get(target);
        if (!current || later(provenance, current)) best.set(target, provenance);
      }
    }
    return best;
  }

  /** The Provenance (versions valid at the job's instant) whose `target` names one of `targets` (`Type/id`), by id. */
  async #targeting(targets: readonly string[]): Promise<Map<string, Found>> {
    const found = new Map<string, Found>();
    for (const batch of chunks(targets, targetsPerQuery)) {
      const written = this.#base ? batch.flatMap((t) => [t, `${this.#base}/${t}`]) : batch;
      const filter: ExportFilter = {
        resourceType: 'Provenance',
        asOfMs: this.#asOfMs,
        versions: 'state',
        where: { clauses: [`EXISTS(SELECT VALUE r FROM r IN ${indexPath('c', 'target')} WHERE ARRAY_CONTAINS(@provenanceTargets, r))`], parameters: [{ name: '@provenanceTargets', value: written }] },
      };
      for await (const item of this.#scan(filter)) {
        if (found.has(item.id)) continue;
        const resource = JSON.parse(item.json) as FhirResource;
        const recordedMs = typeof resource.recorded === 'string' ? Date.parse(resource.recorded) : NaN;
        found.set(item.id, { ...item, recordedMs: Number.isNaN(recordedMs) ? -Infinity : recordedMs, targets: this.#targetsOf(resource) });
      }
    }
    return found;
  }

  /** Which of `references` (`Type/id`) the export writes as resources: its scan filter of their type plus their ids, and its line rules. */
  async #exportedAmong(references: readonly string[]): Promise<Set<string>> {
    const exported = new Set<string>();
    const byType = new Map<string, string[]>();
    for (const reference of references) {
      const slash = reference.indexOf('/');
      const type = reference.slice(0, slash);
      const ids = byType.get(type) ?? [];
      ids.push(reference.slice(slash + 1));
      byType.set(type, ids);
    }
    for (const [type, ids] of byType) {
      for (const batch of chunks(ids, targetsPerQuery)) {
        for await (const item of this.#scan(this.#memberFilter(type, batch))) {
          if (resourceLine(item.json, this.#memberRules)?.stream !== 'resources') continue;
          // A patient list: in the compartment of a listed patient (checked here: the list may be far longer than a query takes).
          if (this.#listed && !patientCompartmentsOf(JSON.parse(item.json) as FhirResource).some((c) => this.#listed!.has(c))) continue;
          exported.add(`${type}/${item.id}`);
        }
      }
    }
    return exported;
  }

  /** The resources among `ids` that the job's resource items of `resourceType` scan, all buckets at once (the patient list is checked by the caller). */
  #memberFilter(resourceType: string, ids: string[]): ExportFilter {
    const { since, typeFilters } = this.job.request;
    const base = this.#base;
    const typeFilter = typeFilterWhere(typeFilters, resourceType, { nowMs: this.job.transactionTimeMs, ...(base ? { baseUrl: base } : {}) });
    const filter: ExportFilter = {
      resourceType,
      asOfMs: this.#asOfMs,
      versions: 'state',
      where: {
        clauses: [...(typeFilter?.clauses ?? []), 'ARRAY_CONTAINS(@provenanceMembers, c.rid)'],
        parameters: [...(typeFilter?.parameters ?? []), { name: '@provenanceMembers', value: ids as JSONValue }],
      },
    };
    if (since) filter.afterMs = Date.parse(since);
    return filter;
  }

  async *#scan(filter: ExportFilter): AsyncGenerator<{ id: string; json: string; versionId: number; lastUpdatedMs: number }> {
    let continuation: ExportPosition | undefined;
    do {
      const page = await this.store.queryForExport({ ...filter, pageSize: this.pageSize, ...(continuation ? { continuation } : {}) });
      for (const item of page.items) if (item.json !== undefined && !item.deleted) yield { id: item.id, json: item.json, versionId: item.versionId, lastUpdatedMs: item.lastUpdatedMs };
      continuation = page.continuation;
    } while (continuation);
  }

  /** The targets of `provenance` on this server, as the search index holds them (relative; absolute ones at the kick-off base made relative). */
  #targetsOf(provenance: FhirResource): string[] {
    const parameter = parametersOf('Provenance').get('target');
    const values = parameter?.extractor ? (indexEntries('reference', parameter.extractor.extract(provenance)) as string[]) : [];
    const out = new Set<string>();
    for (const value of values) {
      const relative = this.#base && value.startsWith(`${this.#base}/`) ? value.slice(this.#base.length + 1) : value;
      if (relativeReference.test(relative)) out.add(relative);
    }
    return [...out].sort();
  }
}
