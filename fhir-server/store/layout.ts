/**
 * The partition layout of the resource container (layout version 2; the
 * arithmetic is in docs/storage-layout.md).
 *
 * - Partition key `/pk` = `<resourceType>|<bucket>`, bucket = fnv1a32(id) % 4096,
 *   written with four digits (`Observation|0042`), so a range of buckets of one type
 *   is a range of partition key strings: `pk >= 'Observation|0100' AND pk < 'Observation|0200'`.
 * - Every version of a resource lives in its resource's partition: the current one
 *   under the resource id, earlier ones under `<id>@<versionId>` (`@` is not allowed
 *   in FHIR ids, so the two never collide).
 * - A version is valid from its `lastUpdatedMs` until `endMs` (exclusive): the
 *   instant its successor was written, or {@link openEnd} for the current version.
 *   The state of the store at instant T is every version with
 *   `lastUpdatedMs <= T < endMs`, a pure range condition.
 */
import { fnv1a32 } from './fnv1a.ts';

/** Layout version of the documents this code writes. */
export const layoutVersion = 2;

/** Buckets per resource type. */
export const bucketCount = 4096;

/** `endMs` of a current version: the largest instant a JavaScript Date holds. */
export const openEnd = 8_640_000_000_000_000;

/** Digits of a bucket number in a partition key. */
const bucketDigits = 4;

/** The bucket of an id. */
export function bucketOf(id: string): number {
  return fnv1a32(id) % bucketCount;
}

/** The partition key of bucket `bucket` of `resourceType` (bucket may be {@link bucketCount}: the end bound of a range). */
export function partitionKeyAt(resourceType: string, bucket: number): string {
  return `${resourceType}|${String(bucket).padStart(bucketDigits, '0')}`;
}

/** The partition key of `type/id`. */
export function partitionKeyOf(resourceType: string, id: string): string {
  return partitionKeyAt(resourceType, bucketOf(id));
}

/** A half-open range of buckets `[first, end)`. */
export interface BucketRange {
  /** First bucket in the range. */
  first: number;
  /** First bucket after the range. */
  end: number;
}

/** Every bucket of a type. */
export const allBuckets: Readonly<BucketRange> = Object.freeze({ first: 0, end: bucketCount });

/** True when `range` is a non-empty range within 0..bucketCount. */
export function isBucketRange(range: unknown): range is BucketRange {
  const r = range as BucketRange | undefined;
  return !!r && Number.isInteger(r.first) && Number.isInteger(r.end) && r.first >= 0 && r.end <= bucketCount && r.first < r.end;
}

/** Splits all buckets into `parts` contiguous ranges of (nearly) equal size. */
export function splitBuckets(parts: number): BucketRange[] {
  const n = Math.max(1, Math.min(bucketCount, Math.floor(parts)));
  return Array.from({ length: n }, (_, i) => ({ first: Math.floor((i * bucketCount) / n), end: Math.floor(((i + 1) * bucketCount) / n) }));
}

/** The Cosmos document id of version `versionId` of `id` when it is not the current version. */
export function historyDocumentId(id: string, versionId: number): string {
  return `${id}@${versionId}`;
}
