/**
 * Which shard a partition key lands on: Kinesis hashes the key with MD5 into a 128-bit unsigned integer and routes
 * the record to the open shard whose hash key range holds it.
 *
 * The producer uses this to pack readings of many pumps into one aggregated record per shard, the way the Kinesis
 * Producer Library does: every user record inside keeps its pump as partition key and belongs to the shard the
 * aggregate is sent to (the aggregate carries that shard's starting hash key as `ExplicitHashKey`), so KCL
 * consumers, which drop user records outside their shard's range, see every one.
 */
import { createHash } from 'node:crypto';
import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { ConfigError, WellwatchError } from '../lambdas/core/errors';

/** One open shard's hash key range (inclusive bounds). */
export interface ShardRange {
  readonly shardId: string;
  readonly startingHashKey: bigint;
  readonly endingHashKey: bigint;
}

/**
 * The 128-bit hash key Kinesis derives from a partition key (MD5 of its UTF-8 bytes, big-endian).
 *
 * @example
 * hashKeyOf('COHUTTA'); // → 0x…n (a bigint below 2^128)
 */
export function hashKeyOf(partitionKey: string): bigint {
  return BigInt('0x' + createHash('md5').update(partitionKey, 'utf8').digest('hex'));
}

/**
 * Turns ListShards output into the sorted ranges of the open shards (closed shards, after a split or merge, have an
 * ending sequence number and take no new records).
 *
 * @throws WellwatchError when the open shards do not cover the hash key space exactly once (a reshard in progress
 *   shows briefly as overlap or gap; try again).
 */
export function openShardRanges(shards: readonly Shard[]): ShardRange[] {
  const open = shards
    .filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined)
    .map((s) => ({
      shardId: s.ShardId!,
      startingHashKey: BigInt(s.HashKeyRange!.StartingHashKey!),
      endingHashKey: BigInt(s.HashKeyRange!.EndingHashKey!),
    }))
    .sort((a, b) => (a.startingHashKey < b.startingHashKey ? -1 : a.startingHashKey > b.startingHashKey ? 1 : 0));
  let next = 0n;
  for (const s of open) {
    if (s.startingHashKey !== next) throw new WellwatchError(`open shards do not cover the hash key space contiguously near ${s.shardId} (resharding?)`);
    next = s.endingHashKey + 1n;
  }
  if (open.length === 0 || next !== 1n << 128n) throw new WellwatchError('open shards do not cover the whole hash key space (resharding?)');
  return open;
}

/**
 * Lists every shard of a stream, open and closed (all pages).
 *
 * @example
 * const shards = await listShards(kinesisClient(cfg), cfg.streamName);
 */
export async function listShards(client: KinesisClient, streamName: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: streamName }));
    shards.push(...(page.Shards ?? []));
    token = page.NextToken;
  } while (token);
  return shards;
}

/**
 * Lists the open shards of a stream as sorted hash key ranges.
 *
 * @example
 * const ranges = await listOpenShards(kinesisClient(cfg), cfg.streamName);
 */
export async function listOpenShards(client: KinesisClient, streamName: string): Promise<ShardRange[]> {
  return openShardRanges(await listShards(client, streamName));
}

/**
 * The shard of a hash key (binary search over sorted, contiguous ranges).
 *
 * @example
 * shardOf(ranges, hashKeyOf('COHUTTA')).shardId; // → 'shardId-000000000001'
 */
export function shardOf(ranges: readonly ShardRange[], hashKey: bigint): ShardRange {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ranges[mid]!.startingHashKey <= hashKey) lo = mid;
    else hi = mid - 1;
  }
  return ranges[lo]!;
}

/**
 * Ranges of `count` equal shards, as Kinesis creates a stream (for planning and benchmarks without a stream).
 *
 * @example
 * uniformShardRanges(2).map((s) => s.shardId); // → ['shardId-000000000000', 'shardId-000000000001']
 */
export function uniformShardRanges(count: number): ShardRange[] {
  if (!Number.isInteger(count) || count < 1) throw new ConfigError(`count must be a positive integer, got ${count}`);
  const space = 1n << 128n;
  return Array.from({ length: count }, (_, i) => ({
    shardId: `shardId-${String(i).padStart(12, '0')}`,
    startingHashKey: (space * BigInt(i)) / BigInt(count),
    endingHashKey: (space * BigInt(i + 1)) / BigInt(count) - 1n,
  }));
}
