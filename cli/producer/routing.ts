/**
 * Routing: which record (and send queue) a pump's readings go to.
 *
 * Without a shard map every pump has its own records (partition key = pump). With the stream's open shards, the
 * pumps whose partition keys hash to the same shard share records, the way the Kinesis Producer Library packs: each
 * record goes to its shard by `ExplicitHashKey` (the shard's starting hash key) with the shard id as partition key.
 * Kinesis maps a partition key to a shard by its MD5 hash as a 128-bit integer (see shard-map.ts).
 */
import { ConfigError } from '../../lambdas/core/errors';
import { hashKeyOf, shardOf, type ShardRange } from '../shard-map';

/** Where the readings of a pump go: the record's partition key and, with a shard map, its routing. */
export interface Route {
  /** The record's partition key — the pump, or the shard id — and the key of its open record and send queue. */
  readonly partitionKey: string;
  readonly pkBytes: number;
  readonly explicitHashKey?: string;
  /** The shard the map expects the record on. */
  readonly shardId?: string;
}

/** Routes remembered at most; unvalidated input may have endless distinct first fields. */
const MAX_REMEMBERED_ROUTES = 100_000;

/**
 * Maps pumps to routes, by pump or through a shard map that can be replaced after a reshard.
 *
 * @example
 * const router = new Router(shards);
 * const { partitionKey, explicitHashKey } = router.routeOf('COHUTTA');
 */
export class Router {
  /** Route of each pump seen. */
  private readonly routes = new Map<string, Route>();
  /** With a shard map: the route of each shard. */
  private shardRoutes = new Map<string, Route>();
  private shards: readonly ShardRange[] | undefined;

  constructor(shards?: readonly ShardRange[]) {
    if (shards !== undefined) this.useShards(shards);
  }

  /** Replaces the shard map; later lines route by it, records already made keep their route. */
  useShards(shards: readonly ShardRange[]): void {
    if (shards.length === 0) throw new ConfigError('shards must list at least one open shard');
    this.shards = shards;
    this.shardRoutes = new Map(
      shards.map((shard) => [
        shard.shardId,
        {
          partitionKey: shard.shardId,
          pkBytes: Buffer.byteLength(shard.shardId, 'utf8'),
          explicitHashKey: shard.startingHashKey.toString(10),
          shardId: shard.shardId,
        },
      ]),
    );
    this.routes.clear();
  }

  /** The route of a pump's readings. */
  routeOf(pump: string): Route {
    let route = this.routes.get(pump);
    if (route === undefined) {
      if (this.routes.size >= MAX_REMEMBERED_ROUTES) this.routes.clear();
      route =
        this.shards === undefined
          ? { partitionKey: pump, pkBytes: Buffer.byteLength(pump, 'utf8') }
          : this.shardRoutes.get(shardOf(this.shards, hashKeyOf(pump)).shardId)!;
      this.routes.set(pump, route);
    }
    return route;
  }
}

/**
 * Partition key of a line sent without validation: its first field when usable, else `_invalid`.
 *
 * @example
 * invalidLinePartitionKey('COHUTTA,2/30/14,…'); // → 'COHUTTA'
 */
export function invalidLinePartitionKey(line: string): string {
  const comma = line.indexOf(',');
  const first = (comma < 0 ? line : line.slice(0, comma)).trim();
  return first.length > 0 && first.length <= 64 ? first : '_invalid';
}
