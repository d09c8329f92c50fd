/**
 * Shard coordination: which shards exist, who their parents are, where each one starts, and which may run.
 *
 * After a split or merge a child shard is read only when every parent that still exists in the stream is finished
 * (read to its end and fully processed), so records of one partition key stay in order across a reshard. The Kinesis
 * Data Streams developer guide ("Data routing, data persistence, and shard state after a reshard"): "it is
 * recommended that you read data from the parent shards until they are exhausted before reading data from the child
 * shards." Lambda's mapping does the same.
 */
import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import type { EventSourceSettings } from '../../lambdas/config';
import { Wake } from './wake';
import type { ShardStart, ShardState } from './types';

/**
 * Every shard of a stream (open and closed, still within the retention period), all pages.
 *
 * @example
 * const shards = await listShards(kinesis, 'wellwatch-readings');
 */
export async function listShards(kinesis: KinesisClient, streamName: string): Promise<Shard[]> {
  const listed: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const page = await kinesis.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: streamName }));
    listed.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return listed;
}

/** When a shard became known to the mapping. */
export interface ShardDiscovery {
  /** Listed when the runner started (as opposed to found later by a refresh: a reshard while running). */
  readonly atStart: boolean;
  /** Epoch ms of the mapping's first start ever, when this start is a restart (checkpoints remember it). */
  readonly mappingFirstStartedMs: number | undefined;
}

/**
 * Where a shard without a checkpoint starts reading.
 *
 * - A shard that appears while the mapping runs (the child of a split or merge) is read whole: TRIM_HORIZON.
 *   Starting it at LATEST would lose every record written to it before the refresh noticed it.
 * - On the mapping's first start, every shard — children of closed parents included — starts at the configured
 *   position. [KIN] "Latest – Process new records that are added to the stream. Trim horizon – Process all records
 *   in the stream. At timestamp – Process records starting from a specific time." The position applies to the
 *   stream, so a child shard of an old split starts at LATEST like any other.
 * - On a restart, a shard with no checkpoint yet with LATEST resumes from the first start's time (AT_TIMESTAMP), so
 *   the records written while the runner was down are read — as Lambda's mapping, which keeps its position, does.
 *
 * @example
 * shardStart(settings, { atStart: true, mappingFirstStartedMs: undefined }); // → { type: 'LATEST' } with LATEST
 */
export function shardStart(settings: Pick<EventSourceSettings, 'startingPosition' | 'startingPositionTimestamp'>, discovery: ShardDiscovery): ShardStart {
  if (!discovery.atStart) return { type: 'TRIM_HORIZON' };
  switch (settings.startingPosition) {
    case 'TRIM_HORIZON':
      return { type: 'TRIM_HORIZON' };
    case 'AT_TIMESTAMP':
      return { type: 'AT_TIMESTAMP', timestampMs: (settings.startingPositionTimestamp ?? 0) * 1000 };
    case 'LATEST':
      return discovery.mappingFirstStartedMs === undefined ? { type: 'LATEST' } : { type: 'AT_TIMESTAMP', timestampMs: discovery.mappingFirstStartedMs };
  }
}

/**
 * Fresh state of a newly listed shard.
 *
 * @example
 * const state = newShardState(shard, listedIds, start, false);
 */
export function newShardState(shard: Pick<Shard, 'ShardId' | 'ParentShardId' | 'AdjacentParentShardId'>, listedIds: ReadonlySet<string>, start: ShardStart, finished: boolean): ShardState {
  // A parent that aged out of the stream (retention) cannot hold anything back.
  const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p && listedIds.has(p));
  return {
    shardId: shard.ShardId!,
    parents,
    start,
    state: finished ? 'finished' : 'waiting',
    iterator: undefined,
    skipBeforeMs: start.type === 'AT_TIMESTAMP' ? start.timestampMs : undefined,
    buffer: [],
    bufferedBytes: 0,
    avgRecordBytes: 64 * 1024, // the producer's default record size, until records are seen
    lastFetchedSeq: undefined,
    ended: false,
    inFlight: false,
    attempts: 0,
    lastError: undefined,
    pending: [],
    wakeInvoke: new Wake(),
    wakeFetch: new Wake(),
    ready: undefined,
    loops: undefined,
  };
}

/**
 * Waiting shards whose parents are all finished: they may start now.
 *
 * @example
 * for (const s of eligibleShards(shardMap)) start(s);
 */
export function eligibleShards(shards: ReadonlyMap<string, ShardState>): ShardState[] {
  return [...shards.values()].filter((s) => s.state === 'waiting' && s.parents.every((p) => shards.get(p)?.state === 'finished'));
}
