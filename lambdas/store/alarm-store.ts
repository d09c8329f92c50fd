/**
 * The alarms table: versioned (pump, rule) states, archived alarms, per-pump items, notification markers, leases.
 *
 * Every write is a single-item conditional write (dynalite, like the design, has no transactions):
 * - a state is written only if its version is still the one read (`v = :expected`, or absent for version 0), so
 *   of two writers racing, one wins and the other re-reads and re-evaluates ({@link AlarmStore.update});
 * - a transition's side effects run after its state write, from the state's outbox: the archive put is idempotent
 *   (same key, same item), the notification is claimed with a conditional marker put before it is published, so it
 *   is published at most once; the outbox entry is removed afterwards. A crash anywhere in between leaves the entry
 *   in the outbox, and the next evaluation of that (pump, rule) or the scheduled sweep finishes it.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ALARM_DEFAULTS, ALARM_KEYS, KEYS, type WellwatchConfig } from '../config';
import {
  alarmStateFromItem,
  alarmStateItem,
  alarmStateKey,
  archiveFromItem,
  archiveItem,
  leaseKey,
  markerKey,
  pumpInfoFromItem,
  pumpItemKey,
  type OutOfService,
  type PumpInfo,
} from '../core/alarm-keys';
import type { AlarmKind } from '../core/alarm-rules';
import { emptyAlarmState, withoutOutbox, type AlarmEpisode, type AlarmState, type Evaluated, type Transition } from '../core/alarm-state';
import { WellwatchError } from '../core/errors';
import type { Notifier } from './notifier';
import { queryAll } from './paginate';
import { runPool } from './retry';

const PK = KEYS.partitionKey;
const SK = KEYS.sortKey;

/** A (pump, rule) whose state is wanted, with the kind used when it does not exist yet. */
export interface StateRef {
  readonly pump: string;
  readonly rule: string;
  readonly kind: AlarmKind;
}

/** Result of delivering a state's outbox. */
export interface Delivery {
  /** Transitions whose side effects are done (removed from the outbox). */
  readonly done: number;
  /** Notifications published by this call. */
  readonly published: number;
  /** Transitions left in the outbox (a publish failed, or another worker is publishing them right now). */
  readonly pending: number;
  readonly lastError?: string;
}

/** Outcome of {@link AlarmStore.update}. */
export interface UpdateOutcome {
  readonly state: AlarmState;
  readonly transitions: readonly Transition[];
  /** A state item was written. */
  readonly written: boolean;
  /** Conditional writes lost to another writer before this one won. */
  readonly conflicts: number;
}

/** Counts of the requests this store made (the bench prices them). */
export interface AlarmStoreCounters {
  reads: number;
  writes: number;
  conditionFailures: number;
  publishes: number;
}

/** Reads and writes the alarms table. */
export interface AlarmStore {
  readonly table: string;
  readonly buckets: number;
  readonly counters: AlarmStoreCounters;
  /** States by `pump\u0000rule`, strongly consistent; a missing state is an empty one (version 0). */
  getStates(refs: readonly StateRef[]): Promise<Map<string, AlarmState>>;
  getState(ref: StateRef): Promise<AlarmState>;
  /**
   * Read-modify-write of one state: applies `change` to `state` (or to a fresh read when `state` is absent) and writes
   * the result conditionally; on a lost race re-reads and applies `change` again, up to `maxAttempts`.
   * `force` writes even when `change` reports no change (to persist `seen`).
   */
  update(ref: StateRef, change: (s: AlarmState) => Evaluated, options?: { state?: AlarmState; maxAttempts?: number; force?: boolean }): Promise<UpdateOutcome>;
  /** Archives closed alarms, publishes claimed notifications, removes done transitions from the outbox. */
  deliver(state: AlarmState, notifier: Notifier): Promise<Delivery>;
  getPumps(pumps: readonly string[]): Promise<Map<string, PumpInfo>>;
  getPump(pump: string): Promise<PumpInfo | undefined>;
  /**
   * Persists `ts` as the pump's newest reading time if it is newer than the stored one; returns the pump item as
   * it is afterwards (with the open no-data alarm and out-of-service mark the consumer must act on).
   */
  refreshLastSeen(pump: string, ts: string): Promise<PumpInfo>;
  /** Marks (or, with `undefined`, unmarks only if it still names `expected`) the pump's open no-data alarm. */
  setNoDataAlarm(pump: string, id: string | undefined, expected?: string): Promise<void>;
  setOutOfService(pump: string, oos: OutOfService | undefined): Promise<PumpInfo>;
  /** Pump items of one bucket (the no-data check). */
  listPumps(bucket: number): AsyncGenerator<PumpInfo>;
  /** States with an open alarm or pending side effects, of one bucket. */
  listOpenStates(bucket: number): AsyncGenerator<AlarmState>;
  /** Every state of one pump (out-of-service notes). */
  listPumpStates(pump: string): AsyncGenerator<AlarmState>;
  /** Archived alarms of one bucket raised within `[from, to]` (ISO prefixes). */
  listArchive(bucket: number, range?: { from?: string; to?: string }): AsyncGenerator<AlarmEpisode>;
  /** Archived alarms of one pump. */
  listPumpArchive(pump: string): AsyncGenerator<AlarmEpisode>;
  /** The archived alarm of (pump, rule) raised at `raisedTime` (whole seconds). */
  getArchived(pump: string, rule: string, raisedTime: string): Promise<AlarmEpisode | undefined>;
  /**
   * Records that `owner` processes `shardId` now; true when `owner` was also the last one to (so what it cached
   * about that shard's pumps is still current).
   */
  takeLease(shardId: string, owner: string): Promise<boolean>;
}

/** How long a claimed but unconfirmed notification blocks others before the sweep may publish it again. */
export const STALE_CLAIM_MS = 5 * 60_000;

function isConditionFailure(e: unknown): boolean {
  return e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';
}

function stateKey(pump: string, rule: string): string {
  return `${pump}\u0000${rule}`;
}

/**
 * Creates the alarm store for `cfg.alarms.table`.
 *
 * @example
 * const alarms = createAlarmStore(dynamoClient(cfg), cfg);
 * const states = await alarms.getStates([{ pump: 'COHUTTA', rule: 'low-psi', kind: 'threshold' }]);
 */
export function createAlarmStore(client: DynamoDBClient, cfg: WellwatchConfig, options: { clock?: () => Date } = {}): AlarmStore {
  const table = cfg.alarms.table;
  const buckets = cfg.alarms.buckets;
  const clock = options.clock ?? (() => new Date());
  const counters: AlarmStoreCounters = { reads: 0, writes: 0, conditionFailures: 0, publishes: 0 };

  const getItem = async (key: Record<string, AttributeValue>): Promise<Record<string, AttributeValue> | undefined> => {
    counters.reads++;
    const out = await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
    return out.Item;
  };

  /** BatchGetItem in chunks of 100 keys (up to 8 in flight: a cold container reads a whole batch's states at once), re-requesting unprocessed keys. */
  const batchGet = async (keys: Record<string, AttributeValue>[]): Promise<Record<string, AttributeValue>[]> => {
    const items: Record<string, AttributeValue>[] = [];
    const chunks: Record<string, AttributeValue>[][] = [];
    for (let i = 0; i < keys.length; i += 100) chunks.push(keys.slice(i, i + 100));
    await runPool(chunks, 8, async (chunk) => {
      let pending: Record<string, AttributeValue>[] | undefined = chunk;
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt > 8) throw new WellwatchError(`alarms table ${table}: ${pending.length} keys unread after 8 retries`);
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt) * Math.random()));
        counters.reads++;
        const out = await client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
        items.push(...(out.Responses?.[table] ?? []));
        pending = out.UnprocessedKeys?.[table]?.Keys as Record<string, AttributeValue>[] | undefined;
      }
    });
    return items;
  };

  const putState = async (state: AlarmState, expected: number): Promise<boolean> => {
    counters.writes++;
    try {
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: alarmStateItem(state, expected + 1, buckets) as Record<string, AttributeValue>,
          ConditionExpression: expected === 0 ? 'attribute_not_exists(#pk)' : '#v = :v',
          ExpressionAttributeNames: expected === 0 ? { '#pk': PK } : { '#v': 'v' },
          ...(expected === 0 ? {} : { ExpressionAttributeValues: { ':v': { N: String(expected) } } }),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) {
        counters.conditionFailures++;
        return false;
      }
      throw e;
    }
  };

  const store: AlarmStore = {
    table,
    buckets,
    counters,

    async getStates(refs) {
      const out = new Map<string, AlarmState>();
      const unique = new Map<string, StateRef>();
      for (const r of refs) unique.set(stateKey(r.pump, r.rule), r);
      const items = await batchGet([...unique.values()].map((r) => alarmStateKey(r.pump, r.rule) as Record<string, AttributeValue>));
      for (const item of items) {
        const s = alarmStateFromItem(item);
        out.set(stateKey(s.pump, s.rule), s);
      }
      for (const [key, r] of unique) if (!out.has(key)) out.set(key, emptyAlarmState(r.pump, r.rule, r.kind));
      return out;
    },

    async getState(ref) {
      const item = await getItem(alarmStateKey(ref.pump, ref.rule) as Record<string, AttributeValue>);
      return item ? alarmStateFromItem(item) : emptyAlarmState(ref.pump, ref.rule, ref.kind);
    },

    async update(ref, change, opts = {}) {
      const maxAttempts = opts.maxAttempts ?? 8;
      let current = opts.state ?? (await store.getState(ref));
      let conflicts = 0;
      for (let attempt = 1; ; attempt++) {
        const result = change(current);
        if (!result.changed && !opts.force) return { state: result.state, transitions: result.transitions, written: false, conflicts };
        if (await putState(result.state, current.version)) {
          return { state: { ...result.state, version: current.version + 1 }, transitions: result.transitions, written: true, conflicts };
        }
        conflicts++;
        if (attempt >= maxAttempts) {
          throw new WellwatchError(`alarm state ${ref.pump}/${ref.rule}: still conflicting after ${maxAttempts} attempts`);
        }
        current = await store.getState(ref);
      }
    },

    async deliver(state, notifier) {
      if (state.outbox.length === 0) return { done: 0, published: 0, pending: 0 };
      const done: string[] = [];
      let published = 0;
      let lastError: string | undefined;
      for (const t of state.outbox) {
        try {
          if (t.alarm.closed) {
            counters.writes++;
            await client.send(new PutItemCommand({ TableName: table, Item: archiveItem(t.alarm, buckets) as Record<string, AttributeValue> }));
          }
          if (t.notify) {
            const outcome = await notifyOnce(t, notifier);
            if (outcome === 'busy') continue;
            if (outcome === 'published') published++;
          }
          done.push(t.id);
        } catch (e) {
          lastError = (e as Error)?.message ?? String(e);
        }
      }
      if (done.length > 0) {
        // Remove the done entries from whatever the state is now (it may have moved on meanwhile).
        const ref = { pump: state.pump, rule: state.rule, kind: state.kind };
        const doneSet = new Set(done);
        await store.update(
          ref,
          (s) => {
            const next = withoutOutbox(s, done);
            return { state: next, transitions: [], changed: s.outbox.some((t) => doneSet.has(t.id)) };
          },
          { state },
        );
      }
      const out = { done: done.length, published, pending: state.outbox.length - done.length };
      return lastError === undefined ? out : { ...out, lastError };
    },

    async getPumps(pumps) {
      const out = new Map<string, PumpInfo>();
      const items = await batchGet([...new Set(pumps)].map((p) => pumpItemKey(p, buckets) as Record<string, AttributeValue>));
      for (const item of items) {
        const info = pumpInfoFromItem(item);
        out.set(info.pump, info);
      }
      return out;
    },

    async getPump(pump) {
      const item = await getItem(pumpItemKey(pump, buckets) as Record<string, AttributeValue>);
      return item ? pumpInfoFromItem(item) : undefined;
    },

    async refreshLastSeen(pump, ts) {
      counters.writes++;
      try {
        const out = await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: pumpItemKey(pump, buckets) as Record<string, AttributeValue>,
            UpdateExpression: 'SET #ls = :ts',
            ConditionExpression: 'attribute_not_exists(#ls) OR #ls < :ts',
            ExpressionAttributeNames: { '#ls': 'ls' },
            ExpressionAttributeValues: { ':ts': { S: ts } },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return pumpInfoFromItem(out.Attributes ?? {});
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
        counters.conditionFailures++;
        return (await store.getPump(pump)) ?? { pump };
      }
    },

    async setNoDataAlarm(pump, id, expected) {
      counters.writes++;
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: pumpItemKey(pump, buckets) as Record<string, AttributeValue>,
            UpdateExpression: id === undefined ? 'REMOVE #nd' : 'SET #nd = :id',
            ExpressionAttributeNames: { '#nd': 'nd' },
            ...(id !== undefined
              ? { ExpressionAttributeValues: { ':id': { S: id } } }
              : expected !== undefined
                ? { ConditionExpression: '#nd = :expected', ExpressionAttributeValues: { ':expected': { S: expected } } }
                : {}),
          }),
        );
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
        counters.conditionFailures++;
      }
    },

    async setOutOfService(pump, oos) {
      counters.writes++;
      const out = await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: pumpItemKey(pump, buckets) as Record<string, AttributeValue>,
          UpdateExpression: oos === undefined ? 'REMOVE #oos' : 'SET #oos = :oos',
          ExpressionAttributeNames: { '#oos': 'oos' },
          ...(oos !== undefined ? { ExpressionAttributeValues: { ':oos': { S: JSON.stringify(oos) } } } : {}),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return pumpInfoFromItem(out.Attributes ?? { [SK]: { S: pump } });
    },

    async *listPumps(bucket) {
      const q = queryAll(client, {
        TableName: table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':pk': { S: ALARM_KEYS.pumpPrefix + bucket } },
      });
      for await (const item of q) {
        counters.reads++;
        yield pumpInfoFromItem(item);
      }
    },

    async *listOpenStates(bucket) {
      const idx = ALARM_KEYS.openAlarms;
      const q = queryAll(client, {
        TableName: table,
        IndexName: idx.indexName,
        KeyConditionExpression: '#b = :b',
        ExpressionAttributeNames: { '#b': idx.partitionKey },
        ExpressionAttributeValues: { ':b': { S: idx.prefix + bucket } },
      });
      // The index holds keys only: read the states themselves, a page of keys at a time.
      let keys: Record<string, AttributeValue>[] = [];
      const flush = async function* (): AsyncGenerator<AlarmState> {
        for (const item of await batchGet(keys)) yield alarmStateFromItem(item);
        keys = [];
      };
      for await (const item of q) {
        keys.push({ [PK]: item[PK]!, [SK]: item[SK]! });
        if (keys.length === 100) yield* flush();
      }
      if (keys.length > 0) yield* flush();
    },

    async *listPumpStates(pump) {
      const q = queryAll(client, {
        TableName: table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :s)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: { ':pk': { S: ALARM_KEYS.statePrefix + pump }, ':s': { S: ALARM_KEYS.stateSortPrefix } },
        ConsistentRead: true,
      });
      for await (const item of q) yield alarmStateFromItem(item);
    },

    async *listArchive(bucket, range = {}) {
      const idx = ALARM_KEYS.alarmHistory;
      const names: Record<string, string> = { '#b': idx.partitionKey };
      const values: Record<string, AttributeValue> = { ':b': { S: idx.prefix + bucket } };
      let condition = '#b = :b';
      if (range.from !== undefined || range.to !== undefined) {
        names['#s'] = idx.sortKey;
        values[':from'] = { S: range.from ?? '0' };
        values[':to'] = { S: `${range.to ?? '9'}\uffff` };
        condition += ' AND #s BETWEEN :from AND :to';
      }
      const q = queryAll(client, { TableName: table, IndexName: idx.indexName, KeyConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values });
      for await (const item of q) yield archiveFromItem(item);
    },

    async *listPumpArchive(pump) {
      const q = queryAll(client, {
        TableName: table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :e)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: { ':pk': { S: ALARM_KEYS.statePrefix + pump }, ':e': { S: ALARM_KEYS.archiveSortPrefix } },
      });
      for await (const item of q) yield archiveFromItem(item);
    },

    async getArchived(pump, rule, raisedTime) {
      const q = queryAll(client, {
        TableName: table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :e)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: { ':pk': { S: ALARM_KEYS.statePrefix + pump }, ':e': { S: `${ALARM_KEYS.archiveSortPrefix}${rule}#${raisedTime.replace(/Z$/, '')}` } },
        ConsistentRead: true,
      });
      for await (const item of q) return archiveFromItem(item);
      return undefined;
    },

    async takeLease(shardId, owner) {
      counters.writes++;
      const out = await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: leaseKey(shardId) as Record<string, AttributeValue>,
          UpdateExpression: 'SET #o = :o',
          ExpressionAttributeNames: { '#o': 'o' },
          ExpressionAttributeValues: { ':o': { S: owner } },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return out.Attributes?.o?.S === owner;
    },
  };

  /** Claims the transition's marker, publishes, confirms; 'busy' when another worker holds a fresh claim. */
  async function notifyOnce(t: Transition, notifier: Notifier): Promise<'published' | 'already' | 'busy'> {
    const now = clock();
    const key = markerKey(t.id) as Record<string, AttributeValue>;
    const expiresAt = Math.floor(now.getTime() / 1000) + ALARM_DEFAULTS.markerTtlDays * 86_400;
    counters.writes++;
    try {
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: { ...key, s: { S: 'claimed' }, at: { N: String(now.getTime()) }, [KEYS.ttlAttribute]: { N: String(expiresAt) } },
          ConditionExpression: 'attribute_not_exists(#pk) OR (#s = :claimed AND #at < :stale)',
          ExpressionAttributeNames: { '#pk': PK, '#s': 's', '#at': 'at' },
          ExpressionAttributeValues: { ':claimed': { S: 'claimed' }, ':stale': { N: String(now.getTime() - STALE_CLAIM_MS) } },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      counters.conditionFailures++;
      const marker = await getItem(key);
      return marker?.s?.S === 'sent' ? 'already' : 'busy';
    }
    try {
      counters.publishes++;
      await notifier.publish(t);
    } catch (e) {
      // Not published: release the claim so the next attempt may publish it.
      counters.writes++;
      await client.send(new DeleteItemCommand({ TableName: table, Key: key })).catch(() => undefined);
      throw e;
    }
    counters.writes++;
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'SET #s = :sent',
        ExpressionAttributeNames: { '#s': 's' },
        ExpressionAttributeValues: { ':sent': { S: 'sent' } },
      }),
    );
    return 'published';
  }

  return store;
}
