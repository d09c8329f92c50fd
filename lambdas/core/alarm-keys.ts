/**
 * Item layouts of the alarms table (see the alarms block of `lambdas/config.ts`), in AttributeValue wire shape.
 *
 * State and archived alarms are stored as one JSON attribute next to their keys: they are read and written whole,
 * never filtered by field, and JSON of a deterministic object is byte-identical across replays.
 */
import { ALARM_KEYS, KEYS } from '../config';
import { WellwatchError } from './errors';
import type { AlarmEpisode, AlarmState } from './alarm-state';
import type { Item, ItemLike } from './keys';
import { pumpBucket } from './buckets';

export { pumpBucket };

const PK = KEYS.partitionKey;
const SK = KEYS.sortKey;
const OPEN = ALARM_KEYS.openAlarms;
const HISTORY = ALARM_KEYS.alarmHistory;

/** Key of the state item of a (pump, rule). */
export function alarmStateKey(pump: string, rule: string): Item {
  return { [PK]: { S: ALARM_KEYS.statePrefix + pump }, [SK]: { S: ALARM_KEYS.stateSortPrefix + rule } };
}

/** Key of an archived (closed) alarm. */
export function archiveKey(pump: string, rule: string, raisedTime: string): Item {
  return { [PK]: { S: ALARM_KEYS.statePrefix + pump }, [SK]: { S: `${ALARM_KEYS.archiveSortPrefix}${rule}#${raisedTime}` } };
}

/** Key of a pump's item (last seen, out of service, no-data). */
export function pumpItemKey(pump: string, buckets: number): Item {
  return { [PK]: { S: ALARM_KEYS.pumpPrefix + pumpBucket(pump, buckets) }, [SK]: { S: pump } };
}

/** Key of the "notified" marker of a transition. */
export function markerKey(transitionId: string): Item {
  return { [PK]: { S: ALARM_KEYS.markerPrefix + transitionId }, [SK]: { S: ALARM_KEYS.markerSort } };
}

/** Key of a shard's lease item. */
export function leaseKey(shardId: string): Item {
  return { [PK]: { S: ALARM_KEYS.leasePrefix + shardId }, [SK]: { S: ALARM_KEYS.leaseSort } };
}

function indexSortKey(a: { raisedTime: string; pump: string; rule: string }): string {
  return `${a.raisedTime}#${a.pump}#${a.rule}`;
}

/**
 * The state item of a (pump, rule) at `version`. It carries the open-alarm index keys while it has an open alarm
 * or transitions whose side effects are pending (so the scheduled sweep finds them without a Scan).
 *
 * @example
 * alarmStateItem(state, 3, 16);
 */
export function alarmStateItem(state: AlarmState, version: number, buckets: number): Item {
  const { version: _v, ...body } = state;
  const item: Item = { ...alarmStateKey(state.pump, state.rule), v: { N: String(version) }, st: { S: JSON.stringify(body) } };
  if (state.alarm !== undefined || state.outbox.length > 0) {
    item[OPEN.partitionKey] = { S: OPEN.prefix + pumpBucket(state.pump, buckets) };
    const ref = state.alarm ?? state.outbox[state.outbox.length - 1]!.alarm;
    item[OPEN.sortKey] = { S: indexSortKey(ref) };
  }
  return item;
}

/**
 * Decodes a state item.
 *
 * @throws WellwatchError when the item is not a state item.
 */
export function alarmStateFromItem(item: ItemLike): AlarmState {
  const v = (item.v as { N?: string } | undefined)?.N;
  const st = (item.st as { S?: string } | undefined)?.S;
  if (v === undefined || st === undefined) throw new WellwatchError(`alarms table: ${JSON.stringify((item[PK] as { S?: string })?.S)} is not a state item`);
  return { ...(JSON.parse(st) as Omit<AlarmState, 'version'>), version: Number(v) };
}

/** An archived (closed) alarm, indexed by bucket and raised time. */
export function archiveItem(alarm: AlarmEpisode, buckets: number): Item {
  return {
    ...archiveKey(alarm.pump, alarm.rule, alarm.raisedTime),
    ep: { S: JSON.stringify(alarm) },
    [HISTORY.partitionKey]: { S: HISTORY.prefix + pumpBucket(alarm.pump, buckets) },
    [HISTORY.sortKey]: { S: indexSortKey(alarm) },
  };
}

/** Decodes an archived alarm. */
export function archiveFromItem(item: ItemLike): AlarmEpisode {
  const ep = (item.ep as { S?: string } | undefined)?.S;
  if (ep === undefined) throw new WellwatchError('alarms table: item is not an archived alarm');
  return JSON.parse(ep) as AlarmEpisode;
}

/** Out-of-service mark of a pump. */
export interface OutOfService {
  readonly by: string;
  readonly at: string;
  readonly until?: string;
  readonly note?: string;
}

/** A pump's item, decoded. */
export interface PumpInfo {
  readonly pump: string;
  /** Newest reading time persisted (lags by up to the refresh share of the no-data interval). */
  readonly lastSeen?: string;
  /** Id of the open no-data alarm, if any. */
  readonly noDataAlarm?: string;
  readonly outOfService?: OutOfService;
  /** Per-pump no-data interval override, minutes. */
  readonly noDataMinutes?: number;
}

/** Decodes a pump item. */
export function pumpInfoFromItem(item: ItemLike): PumpInfo {
  const s = (name: string) => (item[name] as { S?: string } | undefined)?.S;
  const n = (item.ndm as { N?: string } | undefined)?.N;
  const oos = s('oos');
  return {
    pump: s(SK) ?? '',
    ...(s('ls') !== undefined ? { lastSeen: s('ls') } : {}),
    ...(s('nd') !== undefined ? { noDataAlarm: s('nd') } : {}),
    ...(oos !== undefined ? { outOfService: JSON.parse(oos) as OutOfService } : {}),
    ...(n !== undefined ? { noDataMinutes: Number(n) } : {}),
  };
}

/**
 * Whether an out-of-service mark is in force at `now` (an `until` in the past has lapsed).
 *
 * @example
 * inForce({ by: 'ana', at: '…', until: '2026-12-01T00:00:00Z' }, '2026-11-30T12:00:00Z'); // → true
 */
export function inForce(oos: OutOfService | undefined, now: string): boolean {
  return oos !== undefined && (oos.until === undefined || oos.until > now);
}
