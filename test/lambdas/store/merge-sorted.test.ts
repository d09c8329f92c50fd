/**
 * mergeSorted: the k-way merge behind the fan-out readers. Pure (no DynamoDB): the sources are hand-made async
 * iterators that record how often they are pulled and closed, so laziness and closing are observable.
 */
import { mergeSorted } from '../../../lambdas/store/merge-sorted';
import { collect } from '../../helpers/intercept';

interface Item {
  readonly key: string;
  readonly src: number;
}

/** An async iterator over `keys` that counts `next()` and `return()` calls (no generator: return() is visible). */
class Source implements AsyncIterableIterator<Item> {
  pulls = 0;
  returns = 0;
  private at = 0;
  constructor(
    readonly id: number,
    private readonly keys: readonly string[],
  ) {}
  async next(): Promise<IteratorResult<Item>> {
    this.pulls++;
    if (this.at >= this.keys.length) return { done: true, value: undefined };
    return { done: false, value: { key: this.keys[this.at++]!, src: this.id } };
  }
  async return(): Promise<IteratorResult<Item>> {
    this.returns++;
    this.at = this.keys.length;
    return { done: true, value: undefined };
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<Item> {
    return this;
  }
}

const sources = (...lists: string[][]) => lists.map((keys, i) => new Source(i, keys));
const keyOf = (x: Item) => x.key;
const show = (x: Item) => `${x.key}/${x.src}`;

describe('mergeSorted', () => {
  it('yields the items of all sources in ascending key order', async () => {
    const got = await collect(mergeSorted(sources(['b', 'e', 'h'], ['a', 'f'], ['c', 'd', 'g', 'i']), keyOf));
    expect(got.map(keyOf)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
  });

  it('compares keys as strings, not by length or number', async () => {
    const got = await collect(mergeSorted(sources(['10', '9'], ['2', 'A', 'a']), keyOf));
    expect(got.map(keyOf)).toEqual(['10', '2', '9', 'A', 'a']);
  });

  it('yields equal keys in source order, whichever source holds the smaller key first', async () => {
    const got = await collect(mergeSorted(sources(['b', 'c'], ['a', 'b', 'c'], ['b']), keyOf));
    expect(got.map(show)).toEqual(['a/1', 'b/0', 'b/1', 'b/2', 'c/0', 'c/1']);
  });

  it('keeps equal keys of one source in their order', async () => {
    const got = await collect(mergeSorted(sources(['a', 'a', 'b']), keyOf));
    expect(got.map(show)).toEqual(['a/0', 'a/0', 'b/0']);
  });

  it('yields nothing for no sources or only empty sources, and skips empty sources among others', async () => {
    expect(await collect(mergeSorted<Item>([], keyOf))).toEqual([]);
    expect(await collect(mergeSorted(sources([], [], []), keyOf))).toEqual([]);
    const got = await collect(mergeSorted(sources([], ['b'], [], ['a', 'c'], []), keyOf));
    expect(got.map(keyOf)).toEqual(['a', 'b', 'c']);
  });

  it('never yields from a source that has run out (bounded read: a wrong merge cannot hang this test)', async () => {
    const merged = mergeSorted(sources([], ['b'], [], ['a']), keyOf);
    const got: (Item | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await merged.next();
      if (r.done) break;
      got.push(r.value);
    }
    expect(got.map((x) => x?.key)).toEqual(['a', 'b']);
  });

  it('yields a single source unchanged', async () => {
    expect((await collect(mergeSorted(sources(['x', 'y', 'z']), keyOf))).map(keyOf)).toEqual(['x', 'y', 'z']);
  });

  it('pulls lazily: nothing before the first item is asked for, then one item ahead per source', async () => {
    const src = sources(['a', 'd', 'e'], ['b', 'c', 'f'], ['g']);
    const merged = mergeSorted(src, keyOf);
    expect(src.map((s) => s.pulls)).toEqual([0, 0, 0]);
    expect((await merged.next()).value).toEqual({ key: 'a', src: 0 });
    // Every head read once; the source that gave 'a' not pulled again until the next item is asked for.
    expect(src.map((s) => s.pulls)).toEqual([1, 1, 1]);
    expect((await merged.next()).value).toEqual({ key: 'b', src: 1 });
    expect(src.map((s) => s.pulls)).toEqual([2, 1, 1]);
    expect((await merged.next()).value).toEqual({ key: 'c', src: 1 });
    expect(src.map((s) => s.pulls)).toEqual([2, 2, 1]);
    await merged.return(undefined);
  });

  it('closes every unfinished source, and no finished one, when the consumer stops early', async () => {
    const src = sources(['a'], ['b', 'c', 'd'], ['e', 'f'], []);
    for await (const x of mergeSorted(src, keyOf)) if (x.key === 'c') break;
    // Source 0 ran out after 'a', source 3 was empty: neither is closed; 1 and 2 still had items.
    expect(src.map((s) => s.returns)).toEqual([0, 1, 1, 0]);
  });

  it('closes the unfinished sources when the consumer throws', async () => {
    const src = sources(['a', 'b'], ['c']);
    await expect(
      (async () => {
        for await (const x of mergeSorted(src, keyOf)) if (x.key === 'a') throw new Error('consumer failed');
      })(),
    ).rejects.toThrow('consumer failed');
    expect(src.map((s) => s.returns)).toEqual([1, 1]);
  });

  it('closes no source when every one was drained', async () => {
    const src = sources(['a', 'c'], ['b'], []);
    expect((await collect(mergeSorted(src, keyOf))).map(keyOf)).toEqual(['a', 'b', 'c']);
    expect(src.map((s) => s.returns)).toEqual([0, 0, 0]);
  });

  it('closes the sources when the consumer stops before the last source is pulled past its head', async () => {
    const src = sources(['b', 'c'], ['a', 'd']);
    const merged = mergeSorted(src, keyOf);
    await merged.next();
    await merged.return(undefined);
    expect(src.map((s) => s.returns)).toEqual([1, 1]);
  });

  it('works with sources that have no return()', async () => {
    const bare = (keys: string[]): AsyncIterable<Item> => {
      const s = new Source(9, keys);
      return { [Symbol.asyncIterator]: () => ({ next: () => s.next() }) };
    };
    const got: string[] = [];
    for await (const x of mergeSorted([bare(['a', 'c']), bare(['b'])], keyOf)) {
      got.push(x.key);
      if (x.key === 'a') break;
    }
    expect(got).toEqual(['a']);
  });
});
