/**
 * SQL for export scans. Pages are ordered by (lastUpdatedMs, id) and resumed with
 * a keyset predicate instead of Cosmos continuation tokens, so a position saved
 * by one process resumes exactly in another. Needs the composite index
 * (lastUpdatedMs ASC, id ASC) the container is created with.
 */
import type { SqlParameter, SqlQuerySpec } from '@azure/cosmos';
import { FhirError } from '../fhir/errors.ts';
import { bucketCount, partitionKeysOf } from './document.ts';
import type { ExportFilter, ExportQuery } from './resource-store.ts';

function checkFilter(filter: ExportFilter): void {
  const bad = filter.buckets?.find((b) => !Number.isInteger(b) || b < 0 || b >= bucketCount);
  if (bad !== undefined) throw new FhirError('invalid', `bucket ${bad} is outside 0..${bucketCount - 1}`);
}

/** WHERE clauses and parameters selecting the documents of `filter`. */
export function exportWhere(filter: ExportFilter): { clauses: string[]; parameters: SqlParameter[] } {
  checkFilter(filter);
  const pks = partitionKeysOf(filter.resourceType, filter.buckets);
  const parameters: SqlParameter[] = pks.map((value, i) => ({ name: `@pk${i}`, value }));
  const clauses = [`c.pk IN (${pks.map((_, i) => `@pk${i}`).join(', ')})`];
  if (!filter.includeDeleted) clauses.push('c.deleted = false');
  if (filter.sinceMs !== undefined) {
    clauses.push('c.lastUpdatedMs >= @sinceMs');
    parameters.push({ name: '@sinceMs', value: filter.sinceMs });
  }
  if (filter.untilMs !== undefined) {
    clauses.push('c.lastUpdatedMs < @untilMs');
    parameters.push({ name: '@untilMs', value: filter.untilMs });
  }
  if (filter.compartments) {
    clauses.push('EXISTS(SELECT VALUE x FROM x IN c.compartments WHERE ARRAY_CONTAINS(@compartments, x))');
    parameters.push({ name: '@compartments', value: filter.compartments });
  }
  return { clauses, parameters };
}

/** The page query of an export scan. */
export function exportPageQuery(query: ExportQuery): SqlQuerySpec {
  if (!Number.isInteger(query.pageSize) || query.pageSize < 1) throw new FhirError('invalid', 'pageSize must be a positive integer');
  const { clauses, parameters } = exportWhere(query);
  if (query.continuation) {
    clauses.push('(c.lastUpdatedMs > @afterMs OR (c.lastUpdatedMs = @afterMs AND c.id > @afterId))');
    parameters.push({ name: '@afterMs', value: query.continuation.lastUpdatedMs }, { name: '@afterId', value: query.continuation.id });
  }
  parameters.push({ name: '@pageSize', value: query.pageSize });
  return {
    query:
      'SELECT TOP @pageSize c.id, c.versionId, c.lastUpdated, c.lastUpdatedMs, c.deleted, c.resource FROM c ' +
      `WHERE ${clauses.join(' AND ')} ORDER BY c.lastUpdatedMs, c.id`,
    parameters,
  };
}

/** The count query of an export scan. */
export function exportCountQuery(filter: ExportFilter): SqlQuerySpec {
  const { clauses, parameters } = exportWhere(filter);
  return { query: `SELECT VALUE COUNT(1) FROM c WHERE ${clauses.join(' AND ')}`, parameters };
}
