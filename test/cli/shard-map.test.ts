import type { Shard } from '@aws-sdk/client-kinesis';
import { hashKeyOf, openShardRanges, shardOf, uniformShardRanges } from '../../cli/shard-map';

const TOP = (1n << 128n) - 1n;

function shard(id: number, start: bigint, end: bigint, closed = false): Shard {
  return {
    ShardId: `shardId-${String(id).padStart(12, '0')}`,
    HashKeyRange: { StartingHashKey: start.toString(), EndingHashKey: end.toString() },
    SequenceNumberRange: { StartingSequenceNumber: '1', ...(closed ? { EndingSequenceNumber: '9' } : {}) },
  };
}

describe('hashKeyOf', () => {
  it('is the MD5 of the partition key as a big-endian 128-bit integer', () => {
    // md5('') = d41d8cd98f00b204e9800998ecf8427e (RFC 1321 test suite).
    expect(hashKeyOf('')).toBe(0xd41d8cd98f00b204e9800998ecf8427en);
    expect(hashKeyOf('COHUTTA')).toBeLessThanOrEqual(TOP);
    expect(hashKeyOf('COHUTTA')).toBe(hashKeyOf('COHUTTA'));
    expect(hashKeyOf('COHUTTA')).not.toBe(hashKeyOf('ELLIJAY'));
  });
});

describe('openShardRanges and shardOf', () => {
  it('keeps open shards in hash order and finds the shard of any key, bounds included', () => {
    const half = 1n << 127n;
    const ranges = openShardRanges([shard(2, half, TOP), shard(0, 0n, TOP, true), shard(1, 0n, half - 1n)]);
    expect(ranges.map((r) => r.shardId)).toEqual(['shardId-000000000001', 'shardId-000000000002']);
    expect(shardOf(ranges, 0n).shardId).toBe('shardId-000000000001');
    expect(shardOf(ranges, half - 1n).shardId).toBe('shardId-000000000001');
    expect(shardOf(ranges, half).shardId).toBe('shardId-000000000002');
    expect(shardOf(ranges, TOP).shardId).toBe('shardId-000000000002');
  });

  it('refuses a map with a gap, an overlap or nothing open (a reshard in progress)', () => {
    const third = TOP / 3n;
    expect(() => openShardRanges([shard(0, 0n, third), shard(1, third + 2n, TOP)])).toThrow(/contiguously near shardId-000000000001/);
    expect(() => openShardRanges([shard(0, 0n, third), shard(1, third, TOP)])).toThrow(/contiguously/);
    expect(() => openShardRanges([shard(0, 0n, third)])).toThrow(/whole hash key space/);
    expect(() => openShardRanges([shard(0, 0n, TOP, true)])).toThrow(/whole hash key space/);
  });
});

describe('uniformShardRanges', () => {
  it.each([1, 2, 3, 7])('splits the hash key space into %i contiguous equal shards', (n) => {
    const ranges = uniformShardRanges(n);
    expect(openShardRanges(ranges.map((r, i) => shard(i, r.startingHashKey, r.endingHashKey)))).toEqual(ranges);
    const sizes = ranges.map((r) => r.endingHashKey - r.startingHashKey);
    expect(sizes[sizes.length - 1]! - sizes[0]!).toBeLessThanOrEqual(1n);
  });

  it('rejects a count that is not a positive integer', () => {
    expect(() => uniformShardRanges(0)).toThrow(/positive integer, got 0/);
  });
});
