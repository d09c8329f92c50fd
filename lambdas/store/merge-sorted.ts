/**
 * Merges several ascending async streams into one ascending stream (k-way merge).
 *
 * The fan-out readers of write-sharded keys (one Query per bucket, see lambdas/core/buckets.ts) use it to keep the
 * order an unsharded partition gave: every bucket's Query is already sorted by its sort key, so merging them by the
 * same key restores the whole order while holding only one page per bucket in memory.
 */

/**
 * Yields the items of every source in ascending `keyOf` order; each source must itself be ascending.
 *
 * Sources are pulled lazily, one item ahead each. Equal keys come in source order.
 *
 * @example
 * for await (const pump of mergeSorted([bucket0, bucket1], (p) => p)) console.log(pump);
 */
export async function* mergeSorted<T>(sources: readonly AsyncIterable<T>[], keyOf: (item: T) => string): AsyncGenerator<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const heads = await Promise.all(iterators.map((it) => it.next()));
  const keys = heads.map((h) => (h.done ? undefined : keyOf(h.value)));
  try {
    for (;;) {
      let min = -1;
      for (let i = 0; i < heads.length; i++) {
        if (keys[i] === undefined) continue;
        if (min < 0 || keys[i]! < keys[min]!) min = i;
      }
      if (min < 0) return;
      yield heads[min]!.value as T;
      heads[min] = await iterators[min]!.next();
      keys[min] = heads[min]!.done ? undefined : keyOf(heads[min]!.value as T);
    }
  } finally {
    // A consumer that stops early (break) closes every source, like a single Query stream would be closed.
    await Promise.all(iterators.map((it, i) => (keys[i] !== undefined ? it.return?.() : undefined)));
  }
}
