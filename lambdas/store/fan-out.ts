/**
 * Fan-out reads of write-sharded keys: one Query per bucket, merged back into one ordered stream.
 *
 * A key that every pump shares is split over FLEET_KEYS.buckets keys (`<day>#<bucket>`, `PUMPS#<bucket>`); each
 * bucket's Query returns its items in sort-key order, so a k-way merge on the sort key restores the order a single
 * key would have given. Sort keys of the sharded indexes are unique across buckets (`<ts>#<pump>`, a pump id), so
 * the merged order is total and "everything from sort key K on, in every bucket" is an exact resume point.
 */
import type { AttributeValue, DynamoDBClient, QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { mergeSorted } from './merge-sorted';
import { queryAll } from './paginate';

type RawItem = Record<string, AttributeValue>;

/**
 * Items of one Query per input (each input one bucket's key condition), merged by the string attribute `sortKey`.
 *
 * Every bucket is paged to its end through `LastEvaluatedKey`, lazily, so memory stays at one page per bucket.
 *
 * @example
 * for await (const item of queryBuckets(ddb, dayBucketKeys(day).map((k) => inputFor(k)), 'ask')) …
 */
export function queryBuckets(client: DynamoDBClient, inputs: readonly QueryCommandInput[], sortKey: string): AsyncGenerator<RawItem> {
  return mergeSorted(
    inputs.map((input) => queryAll(client, input)),
    (item) => (item[sortKey] as { S: string }).S,
  );
}
