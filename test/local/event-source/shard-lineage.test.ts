/**
 * Where each shard starts and which shards may run: the starting position on first start (children included),
 * restarts, shards found while running, and parents before children.
 */
import type { EventSourceSettings } from '../../../lambdas/config';
import { eligibleShards, newShardState, shardStart } from '../../../local/event-source/shard-lineage';
import type { ShardState } from '../../../local/event-source/types';

type Start = Pick<EventSourceSettings, 'startingPosition' | 'startingPositionTimestamp'>;
const latest: Start = { startingPosition: 'LATEST' };
const trim: Start = { startingPosition: 'TRIM_HORIZON' };
const at: Start = { startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: 1_700_000_000 };
const firstStart = { atStart: true, mappingFirstStartedMs: undefined };
const restart = { atStart: true, mappingFirstStartedMs: 1_650_000_000_000 };
const whileRunning = { atStart: false, mappingFirstStartedMs: 1_650_000_000_000 };

describe('shardStart', () => {
  it.each<[string, Start, Parameters<typeof shardStart>[1], ReturnType<typeof shardStart>]>([
    ['LATEST on first start (any shard, children of old splits included)', latest, firstStart, { type: 'LATEST' }],
    ['TRIM_HORIZON on first start', trim, firstStart, { type: 'TRIM_HORIZON' }],
    ['AT_TIMESTAMP on first start, in ms', at, firstStart, { type: 'AT_TIMESTAMP', timestampMs: 1_700_000_000_000 }],
    ['LATEST on a restart resumes from the first start', latest, restart, { type: 'AT_TIMESTAMP', timestampMs: 1_650_000_000_000 }],
    ['AT_TIMESTAMP on a restart keeps its timestamp', at, restart, { type: 'AT_TIMESTAMP', timestampMs: 1_700_000_000_000 }],
    ['a shard found while running (a reshard) is read whole, even with LATEST', latest, whileRunning, { type: 'TRIM_HORIZON' }],
    ['a shard found while running is read whole with AT_TIMESTAMP', at, whileRunning, { type: 'TRIM_HORIZON' }],
  ])('%s', (_, settings, discovery, expected) => {
    expect(shardStart(settings, discovery)).toEqual(expected);
  });
});

describe('eligibleShards', () => {
  const state = (id: string, parents: string[], finished = false): ShardState => {
    const s = newShardState({ ShardId: id, ParentShardId: parents[0], AdjacentParentShardId: parents[1] }, new Set(['p', 'q', 'a', 'b', 'm']), { type: 'TRIM_HORIZON' }, finished);
    return s;
  };

  it('starts a child only when every parent is finished', () => {
    const map = new Map([
      ['p', state('p', [])],
      ['a', state('a', ['p'])],
      ['q', state('q', [], true)],
      ['m', state('m', ['p', 'q'])],
    ]);
    expect(eligibleShards(map).map((s) => s.shardId)).toEqual(['p']);
    map.get('p')!.state = 'finished';
    expect(eligibleShards(map).map((s) => s.shardId)).toEqual(['a', 'm']);
  });

  it('ignores a parent that is no longer in the stream (aged out of retention)', () => {
    const orphan = newShardState({ ShardId: 'c', ParentShardId: 'gone' }, new Set(['c']), { type: 'TRIM_HORIZON' }, false);
    expect(orphan.parents).toEqual([]);
    expect(eligibleShards(new Map([['c', orphan]])).map((s) => s.shardId)).toEqual(['c']);
  });
});
