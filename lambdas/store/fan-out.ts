/**
 * Fan-out reads of write-sharded keys: one Query per bucket, merged back into one ordered stream.
 *
 * A key that every pump shares is split over FLEET_KEYS.buckets keys (`<day>#<bucket>`, `PUMPS#<bucket>`); each
 * bucket's Query returns its items in sort-key order, so a k-way merge on the sort key restores the order a single
 * key would have given. Sort keys of the sharded indexes are unique across buckets (`<ts>#<pump>`, a pump id), so
 * the merged order is total and "everything from sort key K on, in every bucket" is an exact resume point.
 */
import type { AttributeValue, DynamoDBClient, QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { queryAll } from './paginate';

type RawItem = Record<string, AttributeValue>;

/**
 * Merges streams that are each sorted by `key` into one sorted stream (ties keep the stream order).
 *
 * Pulls lazily: a stream's next item is requested only after its previous one was yielded, and the first items of
 * all streams are requested at once (so N Queries run in parallel, not one after another).
 *
 * @example
 * for await (const item of mergeSorted([a, b], (x) => x.sk.S)) …
 */
export async function* mergeSorted<T>(sources: readonly AsyncIterator<T>[], key: (item: T) => string): AsyncGenerator<T> {
  const heads: (IteratorResult<T> | undefined)[] = await Promise.all(sources.map((s) => s.next()));
  try {
    for (;;) {
      let at = -1;
      let best: string | undefined;
      heads.forEach((h, i) => {
        if (h === undefined || h.done) return;
        const k = key(h.value);
        if (best === undefined || k < best) {
          best = k;
          at = i;
        }
      });
      if (at < 0) return;
      yield (heads[at] as IteratorYieldResult<T>).value;
      heads[at] = await sources[at]!.next();
    }
  } finally {
    // A consumer that stops early (break) closes the generators it did not drain.
    await Promise.all(sources.map((s, i) => (heads[i]?.done ? undefined : s.return?.(undefined))));
  }
}

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
