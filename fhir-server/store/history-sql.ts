/**
 * SQL for history listings, newest first: one resource's versions (one
 * partition, ordered by versionId), a type's (its partition-key range) or the
 * whole store's, ordered by (lastUpdatedMs, resourceType, rid) descending and
 * resumed with a keyset predicate.
 */
import type { SqlQuerySpec } from '@azure/cosmos';
import { bucketRangeWhere } from './export-sql.ts';
import type { SqlWhere } from './export-sql.ts';
import { partitionKeyOf } from './layout.ts';
import type { HistoryQuery } from './resource-store.ts';

const columns = 'c.rid, c.resourceType, c.versionId, c.lastUpdated, c.lastUpdatedMs, c.deleted, c.resource';

function windowWhere(query: HistoryQuery, where: SqlWhere): void {
  if (query.sinceMs !== undefined) {
    where.clauses.push('c.lastUpdatedMs >= @sinceMs');
    where.parameters.push({ name: '@sinceMs', value: query.sinceMs });
  }
  if (query.at) {
    where.clauses.push('c.lastUpdatedMs <= @atLast', 'c.endMs > @atFirst');
    where.parameters.push({ name: '@atLast', value: query.at.lastMs }, { name: '@atFirst', value: query.at.firstMs });
  }
}

/** The page query of a history listing (one more row than `count`, to tell whether a next page exists). */
export function historyPageQuery(query: HistoryQuery): SqlQuerySpec {
  const top = { name: '@top', value: query.count + 1 };
  if (query.resourceType !== undefined && query.id !== undefined) {
    const where: SqlWhere = {
      clauses: ['c.pk = @pk', 'c.rid = @rid'],
      parameters: [
        { name: '@pk', value: partitionKeyOf(query.resourceType, query.id) },
        { name: '@rid', value: query.id },
      ],
    };
    windowWhere(query, where);
    if (query.after) {
      where.clauses.push('c.lastUpdatedMs < @afterMs');
      where.parameters.push({ name: '@afterMs', value: query.after.lastUpdatedMs });
    }
    return { query: `SELECT TOP @top ${columns} FROM c WHERE ${where.clauses.join(' AND ')} ORDER BY c.lastUpdatedMs DESC`, parameters: [...where.parameters, top] };
  }
  const where: SqlWhere = query.resourceType !== undefined ? bucketRangeWhere(query.resourceType) : { clauses: [], parameters: [] };
  windowWhere(query, where);
  if (query.after) {
    where.clauses.push(
      '(c.lastUpdatedMs < @afterMs OR (c.lastUpdatedMs = @afterMs AND (c.resourceType < @afterType OR (c.resourceType = @afterType AND c.rid < @afterId))))',
    );
    where.parameters.push(
      { name: '@afterMs', value: query.after.lastUpdatedMs },
      { name: '@afterType', value: query.after.resourceType },
      { name: '@afterId', value: query.after.id },
    );
  }
  const whereText = where.clauses.length > 0 ? `WHERE ${where.clauses.join(' AND ')} ` : '';
  return {
    query: `SELECT TOP @top ${columns} FROM c ${whereText}ORDER BY c.lastUpdatedMs DESC, c.resourceType DESC, c.rid DESC`,
    parameters: [...where.parameters, top],
  };
}
