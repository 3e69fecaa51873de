/**
 * SQL for export scans over versions. A scan reads the versions of one type in a
 * bucket range that a filter selects (the state at an instant, earlier versions,
 * or deletions), in (lastUpdatedMs, rid) order, resumed with a keyset predicate
 * instead of Cosmos continuation tokens, so a position saved by one process
 * resumes exactly in another. Two versions of one resource never share an
 * instant, so (lastUpdatedMs, rid) is unique. Needs the composite index
 * (lastUpdatedMs ASC, rid ASC) the container is created with.
 */
import type { SqlParameter, SqlQuerySpec } from '@azure/cosmos';
import { FhirError } from '../fhir/errors.ts';
import { allBuckets, bucketCount, isBucketRange, openEnd, partitionKeyAt } from './layout.ts';
import type { BucketRange } from './layout.ts';
import type { ExportFilter, ExportQuery } from './resource-store.ts';

/** WHERE clauses and parameters (joined with AND). */
export interface SqlWhere {
  /** Clauses over the document alias `c`. */
  clauses: string[];
  /** Their parameters. */
  parameters: SqlParameter[];
}

/** Clauses selecting the partitions of `resourceType` in `range` (a range of partition key strings; parameters named `<prefix>First`, `<prefix>End`). */
export function bucketRangeWhere(resourceType: string, range: BucketRange = allBuckets, alias = 'c', prefix = '@pk'): SqlWhere {
  if (!isBucketRange(range)) throw new FhirError('invalid', `bucket range must lie within 0..${bucketCount}`);
  return {
    clauses: [`${alias}.pk >= ${prefix}First`, `${alias}.pk < ${prefix}End`],
    parameters: [
      { name: `${prefix}First`, value: partitionKeyAt(resourceType, range.first) },
      { name: `${prefix}End`, value: partitionKeyAt(resourceType, range.end) },
    ],
  };
}

/** Clauses selecting the versions valid at `instantMs` (the state of the store then). */
export function validAtWhere(instantMs: number, alias = 'c'): SqlWhere {
  return { clauses: [`${alias}.lastUpdatedMs <= @asOf`, `${alias}.endMs > @asOf`], parameters: [{ name: '@asOf', value: instantMs }] };
}

/** WHERE clauses and parameters selecting the documents of `filter`. */
export function exportWhere(filter: ExportFilter): SqlWhere {
  const { clauses, parameters } = bucketRangeWhere(filter.resourceType, filter.buckets);
  const asOf = filter.asOfMs ?? openEnd - 1;
  parameters.push({ name: '@asOf', value: asOf });
  switch (filter.versions ?? 'state') {
    case 'state':
      clauses.push('c.lastUpdatedMs <= @asOf', 'c.endMs > @asOf');
      if (!filter.includeDeleted) clauses.push('c.deleted = false');
      break;
    case 'history':
      clauses.push('c.endMs <= @asOf', 'c.deleted = false');
      break;
    case 'deleted-resources':
      clauses.push('c.lastUpdatedMs <= @asOf', 'c.endMs > @asOf', 'c.deleted = true');
      break;
  }
  if (filter.afterMs !== undefined) {
    clauses.push('c.lastUpdatedMs > @afterMs');
    parameters.push({ name: '@afterMs', value: filter.afterMs });
  }
  if (filter.compartments) {
    clauses.push('EXISTS(SELECT VALUE x FROM x IN c.compartments WHERE ARRAY_CONTAINS(@compartments, x))');
    parameters.push({ name: '@compartments', value: filter.compartments });
  }
  if (filter.where) {
    clauses.push(...filter.where.clauses);
    parameters.push(...filter.where.parameters);
  }
  return { clauses, parameters };
}

/** The page query of an export scan. */
export function exportPageQuery(query: ExportQuery): SqlQuerySpec {
  if (!Number.isInteger(query.pageSize) || query.pageSize < 1) throw new FhirError('invalid', 'pageSize must be a positive integer');
  const { clauses, parameters } = exportWhere(query);
  if (query.continuation) {
    clauses.push('(c.lastUpdatedMs > @afterPosMs OR (c.lastUpdatedMs = @afterPosMs AND c.rid > @afterPosId))');
    parameters.push({ name: '@afterPosMs', value: query.continuation.lastUpdatedMs }, { name: '@afterPosId', value: query.continuation.id });
  }
  parameters.push({ name: '@pageSize', value: query.pageSize });
  return {
    query:
      'SELECT TOP @pageSize c.rid, c.versionId, c.lastUpdated, c.lastUpdatedMs, c.deleted, c.resource, c.deletedResource FROM c ' +
      `WHERE ${clauses.join(' AND ')} ORDER BY c.lastUpdatedMs, c.rid`,
    parameters,
  };
}

/** The count query of an export scan. */
export function exportCountQuery(filter: ExportFilter): SqlQuerySpec {
  const { clauses, parameters } = exportWhere(filter);
  return { query: `SELECT VALUE COUNT(1) FROM c WHERE ${clauses.join(' AND ')}`, parameters };
}
