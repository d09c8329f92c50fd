/**
 * DynamoDB item layouts of readings, daily stats and the catalog, in AttributeValue wire shape.
 *
 * Written against the wire shape (`{ S: '…' }`, `{ N: '…' }`) instead of the SDK's marshaller: the consumer builds
 * one item per reading, and plain object literals are several times cheaper than generic marshalling. No AWS
 * import: the items are structurally compatible with the SDK's `Record<string, AttributeValue>`. Attribute names
 * come from {@link KEYS}; every `…Item` has a matching decoder that round-trips it exactly. Numbers are written as
 * `String(n)` would write them (shortest round-trip text, via {@link formatNumber}).
 */
import { FLEET_KEYS, KEYS, PUMP_REGISTRY, SERIES_KEYS } from '../config';
import { pumpBucket } from './buckets';
import { WellwatchError } from './errors';
import { STAT_KINDS, formatNumber, statColumn } from './format';
import { MEASURES, type DailyStats, type EvaluatedReading, type Measure, type MeasureStats, type PumpDay } from './types';

/** One DynamoDB attribute value, in wire shape (the subset wellwatch uses). */
export type AttrValue =
  | { S: string }
  | { N: string }
  | { M: Record<string, AttrValue> }
  | { L: AttrValue[] }
  | { BOOL: boolean };

/** One DynamoDB item (or key), in wire shape. */
export type Item = Record<string, AttrValue>;

/**
 * Anything that may hold an item read back from DynamoDB, e.g. the SDK's `Record<string, AttributeValue>`.
 *
 * Decoders accept this wider type and check every attribute they read at run time.
 */
export type ItemLike = Readonly<Record<string, unknown>>;

/** Partition of the catalog listing the days that have data. */
export const CATALOG_DAYS_PARTITION = 'DAYS';

const PK = KEYS.partitionKey;
const SK = KEYS.sortKey;
const SEP = KEYS.separator;
const DATA = KEYS.readings.dataAttribute;
const ALERT = KEYS.readings.alertAttribute;
const BY_DAY = KEYS.readings.alertsByDay;
const BY_PUMP = KEYS.readings.alertsByPump;
const STATS_BY_DATE = KEYS.stats.byDate;
const TTL = KEYS.ttlAttribute;
const SECONDS_PER_DAY = 86_400;

/**
 * Partition key of a fleet-wide index or catalog key for one day and bucket: `<day>#<bucket>`.
 *
 * Used by the `alertsByDay` (`apk`) and `statsByDate` (`dpk`) indexes, whose items of one day would otherwise all
 * share one key; the bucket is the pump's (see {@link pumpBucket}), so one pump's items of a day share a bucket.
 *
 * @example
 * dayBucketKey('2014-03-10', 7); // → '2014-03-10#7'
 */
export function dayBucketKey(day: string, bucket: number): string {
  return day + SEP + String(bucket);
}

/**
 * The `<day>#<bucket>` key of a pump's items of a day (bucket over FLEET_KEYS.buckets).
 *
 * @example
 * pumpDayBucketKey('COHUTTA', '2014-03-10'); // → '2014-03-10#<pumpBucket('COHUTTA', 32)>'
 */
export function pumpDayBucketKey(pump: string, day: string): string {
  return dayBucketKey(day, pumpBucket(pump, FLEET_KEYS.buckets));
}

/**
 * Every `<day>#<bucket>` key of a day, bucket 0 first: what a fan-out reader of `alertsByDay` or `statsByDate`
 * queries (one Query per key, results merged).
 *
 * @example
 * dayBucketKeys('2014-03-10'); // → ['2014-03-10#0', …, '2014-03-10#31']
 */
export function dayBucketKeys(day: string): string[] {
  return Array.from({ length: FLEET_KEYS.buckets }, (_, b) => dayBucketKey(day, b));
}

/**
 * Partition key of one pump-day of readings.
 *
 * @example
 * pumpDayPk('COHUTTA', '2014-03-10'); // → 'COHUTTA#2014-03-10'
 */
export function pumpDayPk(pump: string, day: string): string {
  return pump + SEP + day;
}

/**
 * Splits a readings partition key back into pump and day (pump ids cannot contain `#`).
 *
 * @throws WellwatchError when the key has no separator.
 *
 * @example
 * parsePumpDayPk('COHUTTA#2014-03-10'); // → { pump: 'COHUTTA', day: '2014-03-10' }
 */
export function parsePumpDayPk(pk: string): PumpDay {
  const at = pk.lastIndexOf(SEP);
  if (at <= 0) throw new WellwatchError(`readings partition key must look like PUMP${SEP}YYYY-MM-DD, got ${JSON.stringify(pk)}`);
  return { pump: pk.slice(0, at), day: pk.slice(at + 1) };
}

/**
 * Primary key of one reading.
 *
 * @example
 * readingKey('COHUTTA', '2014-03-10', '01:01:00'); // → { pk: { S: 'COHUTTA#2014-03-10' }, sk: { S: '01:01:00' } }
 */
export function readingKey(pump: string, day: string, time: string): Item {
  return { [PK]: { S: pumpDayPk(pump, day) }, [SK]: { S: time } };
}

/**
 * The readings-table item of one evaluated reading.
 *
 * Measures live in the map `d`; an alerting reading also gets `a.rules` (the triggered rule names) and the keys of
 * the two sparse alert indexes, so only alerting rows are indexed: `apk = <day>#<bucket>` (a day's alerts spread
 * over FLEET_KEYS.buckets keys), `ask = <ts>#<pump>`, `ppk = <pump>`, `psk = <ts>`. `expiresAt` is set when a TTL
 * is given.
 *
 * @example
 * readingItem({ ...reading, alerts: ['low-psi'] }, ttlFor(reading.ts, 90));
 */
export function readingItem(r: EvaluatedReading, ttlEpochSeconds?: number): Item {
  const v = r.values;
  const item: Item = {
    [PK]: { S: r.pump + SEP + r.day },
    [SK]: { S: r.time },
    pump: { S: r.pump },
    ts: { S: r.ts },
    [DATA]: {
      M: {
        hz: { N: formatNumber(v.hz) },
        disp: { N: formatNumber(v.disp) },
        flo: { N: formatNumber(v.flo) },
        sedPPM: { N: formatNumber(v.sedPPM) },
        psi: { N: formatNumber(v.psi) },
        chlPPM: { N: formatNumber(v.chlPPM) },
      },
    },
  };
  if (r.alerts.length > 0) {
    item[ALERT] = { M: { rules: { L: r.alerts.map((name) => ({ S: name })) } } };
    item[BY_DAY.partitionKey] = { S: pumpDayBucketKey(r.pump, r.day) };
    item[BY_DAY.sortKey] = { S: r.ts + SEP + r.pump };
    item[BY_PUMP.partitionKey] = { S: r.pump };
    item[BY_PUMP.sortKey] = { S: r.ts };
  }
  if (ttlEpochSeconds !== undefined) item[TTL] = { N: String(ttlEpochSeconds) };
  return item;
}

/**
 * Decodes a readings-table item (as written by {@link readingItem}) back into an evaluated reading.
 *
 * @throws WellwatchError naming the attribute when the item is not a reading.
 *
 * @example
 * readingFromItem(readingItem(r)); // deep-equals r
 */
export function readingFromItem(item: ItemLike): EvaluatedReading {
  const { pump, day } = parsePumpDayPk(str(item, PK, 'reading'));
  const data = map(item, DATA, 'reading');
  const values = {} as Record<Measure, number>;
  for (const m of MEASURES) values[m] = num(data, m, 'reading', DATA + '.');
  let alerts: string[] = [];
  const alert = item[ALERT];
  if (alert !== undefined) {
    const rules = (map(item, ALERT, 'reading') as Record<string, unknown>).rules as { L?: unknown } | undefined;
    if (!rules || !Array.isArray(rules.L)) throw malformed('reading', `${ALERT}.rules`, 'a list');
    alerts = rules.L.map((entry: unknown) => {
      const s = (entry as { S?: unknown } | null)?.S;
      if (typeof s !== 'string') throw malformed('reading', `${ALERT}.rules[]`, 'a list of strings');
      return s;
    });
  }
  return { pump, day, time: str(item, SK, 'reading'), ts: str(item, 'ts', 'reading'), values, alerts };
}

/**
 * Primary key of one day of statistics.
 *
 * @example
 * statsKey('COHUTTA', '2014-03-10'); // → { pk: { S: 'COHUTTA' }, sk: { S: '2014-03-10' } }
 */
export function statsKey(pump: string, date: string): Item {
  return { [PK]: { S: pump }, [SK]: { S: date } };
}

/**
 * The stats-table item of one pump-day: keys, `pump`, `date`, the `statsByDate` key `dpk = <date>#<bucket>`,
 * `count` and one flat number per aggregate, named like the stats CSV columns (`hz_min` … `chlPPM_avg`).
 *
 * @example
 * statsItem(rollupReadings('COHUTTA', '2014-03-10', values), ttlFor('2014-03-10T00:00:00Z', 365));
 */
export function statsItem(s: DailyStats, ttlEpochSeconds?: number): Item {
  const item: Item = {
    [PK]: { S: s.pump },
    [SK]: { S: s.date },
    pump: { S: s.pump },
    date: { S: s.date },
    [STATS_BY_DATE.partitionKey]: { S: pumpDayBucketKey(s.pump, s.date) },
    count: { N: String(s.count) },
  };
  for (const m of MEASURES) {
    const ms = s.measures[m];
    for (const k of STAT_KINDS) item[statColumn(m, k)] = { N: formatNumber(ms[k]) };
  }
  if (ttlEpochSeconds !== undefined) item[TTL] = { N: String(ttlEpochSeconds) };
  return item;
}

/**
 * Decodes a stats-table item (as written by {@link statsItem}).
 *
 * @throws WellwatchError naming the attribute when the item is not a stats row.
 *
 * @example
 * statsFromItem(statsItem(s)); // deep-equals s
 */
export function statsFromItem(item: ItemLike): DailyStats {
  const measures = {} as Record<Measure, MeasureStats>;
  for (const m of MEASURES) {
    measures[m] = {
      min: num(item, statColumn(m, 'min'), 'stats'),
      max: num(item, statColumn(m, 'max'), 'stats'),
      avg: num(item, statColumn(m, 'avg'), 'stats'),
    };
  }
  return { pump: str(item, 'pump', 'stats'), date: str(item, 'date', 'stats'), count: num(item, 'count', 'stats'), measures };
}

/**
 * Catalog entry saying that a day has data: `{ pk: 'DAYS', sk: day, day }`.
 *
 * @example
 * catalogDaysItem('2014-03-10');
 */
export function catalogDaysItem(day: string): Item {
  return { [PK]: { S: CATALOG_DAYS_PARTITION }, [SK]: { S: day }, day: { S: day } };
}

/**
 * Partition of a day's pump-day markers in one write-sharding bucket: `DAY#<day>#<bucket>`.
 *
 * Every pump's first reading of a day writes one marker, and at midnight the whole fleet does so within one
 * reporting interval; over FLEET_KEYS.buckets partitions instead of one, each takes `1 / buckets` of that rate.
 *
 * @example
 * catalogDayPartition('2014-03-10', 7); // → 'DAY#2014-03-10#7'
 */
export function catalogDayPartition(day: string, bucket: number): string {
  return KEYS.catalog.dayPrefix + day + SEP + String(bucket);
}

/**
 * Catalog entry saying that a pump has data on a day: `{ pk: 'DAY#' + day + '#' + bucket(pump), sk: pump, pump, day }`.
 *
 * @example
 * catalogDayItem('COHUTTA', '2014-03-10');
 */
export function catalogDayItem(pump: string, day: string): Item {
  return { [PK]: { S: catalogDayPartition(day, pumpBucket(pump, FLEET_KEYS.buckets)) }, [SK]: { S: pump }, pump: { S: pump }, day: { S: day } };
}

/**
 * Decodes a pump-day catalog entry (as written by {@link catalogDayItem}).
 *
 * @example
 * catalogDayFromItem(catalogDayItem('COHUTTA', '2014-03-10')); // → { pump: 'COHUTTA', day: '2014-03-10' }
 */
export function catalogDayFromItem(item: ItemLike): PumpDay {
  return { pump: str(item, 'pump', 'catalog'), day: str(item, 'day', 'catalog') };
}

/**
 * Partition of the pending markers in one write-sharding bucket: `PENDING#<bucket>`.
 *
 * A backfill touches many pumps' past days at once; sharded like the day markers, it spreads over the buckets.
 *
 * @example
 * pendingPartition(7); // → 'PENDING#7'
 */
export function pendingPartition(bucket: number): string {
  return KEYS.catalog.pendingPartition + SEP + String(bucket);
}

/**
 * Primary key of a pending (needs re-rollup) marker.
 *
 * @example
 * pendingKey('COHUTTA', '2014-03-10'); // → { pk: { S: 'PENDING#<bucket of COHUTTA>' }, sk: { S: '2014-03-10#COHUTTA' } }
 */
export function pendingKey(pump: string, day: string): Item {
  return { [PK]: { S: pendingPartition(pumpBucket(pump, FLEET_KEYS.buckets)) }, [SK]: { S: day + SEP + pump } };
}

/**
 * Catalog marker saying that a pump-day received data after its rollup and must be rolled up again:
 * `{ pk: 'PENDING#' + bucket(pump), sk: day + '#' + pump, pump, day, touchedAt }`.
 *
 * @example
 * pendingItem('COHUTTA', '2014-03-10', new Date().toISOString());
 */
export function pendingItem(pump: string, day: string, touchedAt: string): Item {
  return { ...pendingKey(pump, day), pump: { S: pump }, day: { S: day }, touchedAt: { S: touchedAt } };
}

/**
 * Decodes a pending marker (as written by {@link pendingItem}).
 *
 * @example
 * pendingFromItem(item); // → { pump: 'COHUTTA', day: '2014-03-10', touchedAt: '2014-03-12T08:00:00.000Z' }
 */
export function pendingFromItem(item: ItemLike): PumpDay & { readonly touchedAt: string } {
  return { pump: str(item, 'pump', 'pending'), day: str(item, 'day', 'pending'), touchedAt: str(item, 'touchedAt', 'pending') };
}

/**
 * Expiry (epoch seconds) of an item whose timestamp is `ts`, kept `retentionDays` days; `undefined` when retention
 * is 0 (keep forever).
 *
 * Based on the data's own timestamp, not on the time of writing, so replaying old data does not keep it longer.
 *
 * @throws WellwatchError when `retentionDays` is not a non-negative integer or `ts` is not a timestamp.
 *
 * @example
 * ttlFor('2014-03-10T01:01:00Z', 1); // → 1394499660
 */
export function ttlFor(ts: string, retentionDays: number): number | undefined {
  if (!Number.isInteger(retentionDays) || retentionDays < 0) {
    throw new WellwatchError(`retentionDays must be a non-negative integer, got ${String(retentionDays)}`);
  }
  if (retentionDays === 0) return undefined;
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) throw new WellwatchError(`ttl needs a timestamp like 2014-03-10T01:01:00Z, got ${JSON.stringify(ts)}`);
  return Math.floor(ms / 1000) + retentionDays * SECONDS_PER_DAY;
}

/**
 * Reads the TTL attribute of an item; `undefined` when it has none.
 *
 * @example
 * ttlFromItem(readingItem(r, 1394499660)); // → 1394499660
 */
export function ttlFromItem(item: ItemLike): number | undefined {
  return item[TTL] === undefined ? undefined : num(item, TTL, 'item');
}

function malformed(kind: string, attribute: string, expected: string): WellwatchError {
  return new WellwatchError(`malformed ${kind} item: attribute ${attribute} must be ${expected}`);
}

function str(item: ItemLike, name: string, kind: string): string {
  const s = (item[name] as { S?: unknown } | null | undefined)?.S;
  if (typeof s !== 'string') throw malformed(kind, name, 'a string (S)');
  return s;
}

function num(item: ItemLike, name: string, kind: string, path = ''): number {
  const n = (item[name] as { N?: unknown } | null | undefined)?.N;
  const v = typeof n === 'string' && n.trim() !== '' ? Number(n) : NaN;
  if (!Number.isFinite(v)) throw malformed(kind, path + name, 'a number (N)');
  return v;
}

function map(item: ItemLike, name: string, kind: string): ItemLike {
  const m = (item[name] as { M?: unknown } | null | undefined)?.M;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw malformed(kind, name, 'a map (M)');
  return m as ItemLike;
}

// Serving (issue 11): hourly series items and the pump registry. Layouts documented at SERIES_KEYS and PUMP_REGISTRY.

/**
 * Partition key of a pump's hourly series.
 *
 * @example
 * hourlyPk('COHUTTA'); // → 'COHUTTA#1h'
 */
export function hourlyPk(pump: string): string {
  return pump + SERIES_KEYS.hourlySuffix;
}

/**
 * The stats-table item of one pump-hour: `pk = PUMP#1h`, `sk = YYYY-MM-DDTHH`, `pump`, `count` and the flat
 * aggregates of a daily row. No `date` or `dpk` attribute, so the `statsByDate` index stays daily-only.
 *
 * @example
 * hourlyItem({ ...rollupReadings('COHUTTA', '2014-03-10T05', values) });
 */
export function hourlyItem(s: DailyStats, ttlEpochSeconds?: number): Item {
  const item: Item = { [PK]: { S: hourlyPk(s.pump) }, [SK]: { S: s.date }, pump: { S: s.pump }, count: { N: String(s.count) } };
  for (const m of MEASURES) {
    const ms = s.measures[m];
    for (const k of STAT_KINDS) item[statColumn(m, k)] = { N: formatNumber(ms[k]) };
  }
  if (ttlEpochSeconds !== undefined) item[TTL] = { N: String(ttlEpochSeconds) };
  return item;
}

/**
 * Decodes an hourly item (as written by {@link hourlyItem}); `date` holds the hour `YYYY-MM-DDTHH`.
 *
 * @throws WellwatchError naming the attribute when the item is not an hourly row.
 * @example
 * hourlyFromItem(hourlyItem(s)); // deep-equals s
 */
export function hourlyFromItem(item: ItemLike): DailyStats {
  const measures = {} as Record<Measure, MeasureStats>;
  for (const m of MEASURES) {
    measures[m] = {
      min: num(item, statColumn(m, 'min'), 'hourly'),
      max: num(item, statColumn(m, 'max'), 'hourly'),
      avg: num(item, statColumn(m, 'avg'), 'hourly'),
    };
  }
  return { pump: str(item, 'pump', 'hourly'), date: str(item, SK, 'hourly'), count: num(item, 'count', 'hourly'), measures };
}

/**
 * The registry partition a pump belongs to: `PUMPS#<pumpBucket(pump, FLEET_KEYS.buckets)>`.
 *
 * @example
 * pumpRegistryPartition('COHUTTA'); // → 'PUMPS#3' (stable for a pump id)
 */
export function pumpRegistryPartition(pump: string): string {
  return PUMP_REGISTRY.partitionPrefix + String(pumpBucket(pump, FLEET_KEYS.buckets));
}

/**
 * Catalog entry saying that a pump has been seen: `{ pk: 'PUMPS#<bucket>', sk: pump, pump }`.
 *
 * @example
 * pumpRegistryItem('COHUTTA');
 */
export function pumpRegistryItem(pump: string): Item {
  return { [PK]: { S: pumpRegistryPartition(pump) }, [SK]: { S: pump }, pump: { S: pump } };
}
