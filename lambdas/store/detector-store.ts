/**
 * The early-warning detectors' storage: per-pump checkpoints in the alarms table, and the replay of stored readings.
 *
 * A checkpoint is one item `P#<pump>` / `D#detectors` (see EARLY_WARNING in lambdas/config.ts) holding the
 * {@link PumpCheckpoint} as JSON and its `lastTs` as a number. It is written only when the stored one is older
 * (`attribute_not_exists(lt) OR lt < :new`), so a container holding an older state can never regress it. The replay
 * reads a pump's readings between two instants with one Query per pump-day (`pk = PUMP#day`, the sort key limited
 * to the times on the first and last day): no catalog, no index, no Scan.
 */
import { BatchGetItemCommand, ConditionalCheckFailedException, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ALARM_KEYS, EARLY_WARNING, KEYS, type WellwatchConfig } from '../config';
import type { PumpCheckpoint } from '../core/detectors/pump-detectors';
import { isoSeconds } from '../core/detectors/pump-detectors';
import { WellwatchError } from '../core/errors';
import { pumpDayPk, readingFromItem } from '../core/keys';
import type { Reading } from '../core/types';
import { eachDay } from './days';
import { queryAll } from './paginate';

const PK = KEYS.partitionKey;
const SK = KEYS.sortKey;

/** Counts of the requests this store made (the bench prices them). */
export interface DetectorStoreCounters {
  /** Checkpoint items read (BatchGetItem keys). */
  reads: number;
  /** Checkpoint puts (each ~1–3 KB: one to three write units). */
  writes: number;
  /** Bytes of checkpoint items written (to price write units). */
  writtenBytes: number;
  conditionFailures: number;
  /** Readings replayed on cold starts, and the Query requests that read them. */
  replayed: number;
  replayQueries: number;
}

/** Reads and writes detector checkpoints; replays stored readings. */
export interface DetectorStore {
  readonly counters: DetectorStoreCounters;
  /** The stored checkpoints of these pumps (strongly consistent); a pump without one is absent. */
  getCheckpoints(pumps: readonly string[]): Promise<Map<string, PumpCheckpoint>>;
  /** Writes a checkpoint unless the stored one is as new or newer; false when it was (another writer is ahead). */
  putCheckpoint(pump: string, checkpoint: PumpCheckpoint): Promise<boolean>;
  /** The pump's stored readings with `afterMs < time < beforeMs` (epoch ms, whole seconds), oldest first. */
  readingsBetween(pump: string, afterMs: number, beforeMs: number): AsyncGenerator<Reading>;
}

/** Key of a pump's detector checkpoint. */
export function checkpointKey(pump: string): Record<string, AttributeValue> {
  return { [PK]: { S: ALARM_KEYS.statePrefix + pump }, [SK]: { S: EARLY_WARNING.checkpointSort } };
}

function isConditionFailure(e: unknown): boolean {
  return e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';
}

/** The checkpoint in a stored item, or undefined when the item holds an unknown format (it is then rebuilt). */
function checkpointFromItem(item: Record<string, AttributeValue>): PumpCheckpoint | undefined {
  const json = item.cp?.S;
  if (json === undefined) return undefined;
  const cp = JSON.parse(json) as PumpCheckpoint;
  return cp?.v === 1 && typeof cp.lastTs === 'number' ? cp : undefined;
}

/**
 * Creates the detector store on the alarms table (`cfg.alarms.table`) and the readings table.
 *
 * @example
 * const store = createDetectorStore(dynamoClient(cfg), cfg);
 * const checkpoints = await store.getCheckpoints(['COHUTTA']);
 */
export function createDetectorStore(client: DynamoDBClient, cfg: WellwatchConfig): DetectorStore {
  const table = cfg.alarms.table;
  const counters: DetectorStoreCounters = { reads: 0, writes: 0, writtenBytes: 0, conditionFailures: 0, replayed: 0, replayQueries: 0 };
  return {
    counters,

    async getCheckpoints(pumps) {
      const out = new Map<string, PumpCheckpoint>();
      const unique = [...new Set(pumps)];
      for (let i = 0; i < unique.length; i += 100) {
        // "If you request more than 100 items, BatchGetItem returns a ValidationException"; a partial result "returns a
        // value for UnprocessedKeys" to retry (DynamoDB API reference, BatchGetItem): asked again after a short pause.
        let keys = unique.slice(i, i + 100).map(checkpointKey);
        counters.reads += keys.length;
        for (let attempt = 0; keys.length > 0; attempt++) {
          if (attempt > 8) throw new WellwatchError(`detector checkpoints: ${keys.length} keys still unprocessed after ${attempt} attempts`);
          if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
          const res = await client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }));
          for (const item of res.Responses?.[table] ?? []) {
            const cp = checkpointFromItem(item);
            const pk = item[PK]?.S;
            if (cp && pk) out.set(pk.slice(ALARM_KEYS.statePrefix.length), cp);
          }
          keys = (res.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, AttributeValue>[];
        }
      }
      return out;
    },

    async putCheckpoint(pump, checkpoint) {
      const json = JSON.stringify(checkpoint);
      counters.writes++;
      counters.writtenBytes += json.length + pump.length + 40;
      try {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: { ...checkpointKey(pump), cp: { S: json }, lt: { N: String(checkpoint.lastTs) } },
            ConditionExpression: 'attribute_not_exists(#lt) OR #lt < :lt',
            ExpressionAttributeNames: { '#lt': 'lt' },
            ExpressionAttributeValues: { ':lt': { N: String(checkpoint.lastTs) } },
          }),
        );
        return true;
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
        counters.conditionFailures++;
        return false;
      }
    },

    async *readingsBetween(pump, afterMs, beforeMs) {
      const from = afterMs + 1000;
      const to = beforeMs - 1000;
      if (!(from <= to)) return;
      const lo = isoSeconds(from);
      const hi = isoSeconds(to);
      const firstDay = lo.slice(0, 10);
      const lastDay = hi.slice(0, 10);
      for (const day of eachDay(firstDay, lastDay)) {
        const low = day === firstDay ? lo.slice(11, 19) : '00:00:00';
        const high = day === lastDay ? hi.slice(11, 19) : '23:59:59';
        counters.replayQueries++;
        const items = queryAll(client, {
          TableName: cfg.readingsTable,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: { ':pk': { S: pumpDayPk(pump, day) }, ':lo': { S: low }, ':hi': { S: high } },
          ConsistentRead: true,
        });
        for await (const item of items) {
          counters.replayed++;
          yield readingFromItem(item);
        }
      }
    },
  };
}
