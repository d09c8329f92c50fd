import fc from 'fast-check';
import { FLEET_KEYS, KEYS } from '../../../lambdas/config';
import { pumpBucket } from '../../../lambdas/core/buckets';
import { WellwatchError } from '../../../lambdas/core/errors';
import { STATS_CSV_COLUMNS } from '../../../lambdas/core/format';
import {
  CATALOG_DAYS_PARTITION,
  catalogDayFromItem,
  catalogDayItem,
  catalogDayPartition,
  catalogDaysItem,
  hourlyFromItem,
  hourlyItem,
  hourlyPk,
  parsePumpDayPk,
  pendingFromItem,
  pendingItem,
  pendingKey,
  pendingPartition,
  pumpDayPk,
  readingFromItem,
  readingItem,
  readingKey,
  statsFromItem,
  statsItem,
  statsKey,
  ttlFor,
  ttlFromItem,
  type Item,
} from '../../../lambdas/core/keys';
import { dayBucketKey, dayBucketKeys, pumpDayBucketKey, pumpRegistryItem, pumpRegistryPartition } from '../../../lambdas/core/keys';
import type { DailyStats, EvaluatedReading } from '../../../lambdas/core/types';
import { propertyRuns } from '../../helpers/property-runs';

function evaluated(overrides: Partial<EvaluatedReading> = {}): EvaluatedReading {
  return {
    pump: 'COHUTTA',
    day: '2014-03-10',
    time: '01:01:00',
    ts: '2014-03-10T01:01:00Z',
    values: { hz: 10.27, disp: 1.73, flo: 881, sedPPM: 1.56, psi: 85, chlPPM: 1.94 },
    alerts: [],
    ...overrides,
  };
}

function stats(overrides: Partial<DailyStats> = {}): DailyStats {
  return {
    pump: 'COHUTTA',
    date: '2014-03-10',
    count: 720,
    measures: {
      hz: { min: 0, max: 10.5, avg: 8.412345678901234 },
      disp: { min: 0, max: 6.2, avg: 1.7 },
      flo: { min: 0, max: 2042, avg: 880.5 },
      sedPPM: { min: 0.01, max: 7, avg: 1.5555555555555556 },
      psi: { min: 0, max: 100, avg: 77.1 },
      chlPPM: { min: 0.5, max: 2, avg: 1.9 },
    },
    ...overrides,
  };
}

describe('reading items', () => {
  test('a normal reading has keys, measures and no alert attributes', () => {
    expect(readingItem(evaluated())).toEqual({
      pk: { S: 'COHUTTA#2014-03-10' },
      sk: { S: '01:01:00' },
      pump: { S: 'COHUTTA' },
      ts: { S: '2014-03-10T01:01:00Z' },
      d: {
        M: {
          hz: { N: '10.27' },
          disp: { N: '1.73' },
          flo: { N: '881' },
          sedPPM: { N: '1.56' },
          psi: { N: '85' },
          chlPPM: { N: '1.94' },
        },
      },
    });
  });

  test('an alerting reading carries the rules and the keys of both sparse alert indexes', () => {
    const item = readingItem(evaluated({ alerts: ['low-psi', 'stopped'], values: { ...evaluated().values, psi: 0 } }), 1394499660);
    expect(item.a).toEqual({ M: { rules: { L: [{ S: 'low-psi' }, { S: 'stopped' }] } } });
    expect(item[KEYS.readings.alertsByDay.partitionKey]).toEqual({ S: `2014-03-10#${pumpBucket('COHUTTA', FLEET_KEYS.buckets)}` });
    expect(item[KEYS.readings.alertsByDay.sortKey]).toEqual({ S: '2014-03-10T01:01:00Z#COHUTTA' });
    expect(item[KEYS.readings.alertsByPump.partitionKey]).toEqual({ S: 'COHUTTA' });
    expect(item[KEYS.readings.alertsByPump.sortKey]).toEqual({ S: '2014-03-10T01:01:00Z' });
    expect(item.expiresAt).toEqual({ N: '1394499660' });
  });

  test('numbers are written with full precision', () => {
    const item = readingItem(evaluated({ values: { hz: 0.1 + 0.2, disp: -1e-9, flo: 1e9, sedPPM: 123456.789012345, psi: 0, chlPPM: 1 / 3 } }));
    expect(item.d).toEqual({
      M: {
        hz: { N: '0.30000000000000004' },
        disp: { N: '-1e-9' },
        flo: { N: '1000000000' },
        sedPPM: { N: '123456.789012345' },
        psi: { N: '0' },
        chlPPM: { N: '0.3333333333333333' },
      },
    });
  });

  test.each([
    ['a plain reading', evaluated(), undefined],
    ['a reading with a TTL', evaluated(), 1394499660],
    ['an alerting reading', evaluated({ alerts: ['low-psi'] }), undefined],
    ['an alerting reading with a TTL', evaluated({ alerts: ['low-psi', 'stopped'] }), 1400000000],
    ['a reading of a pump with dashes', evaluated({ pump: 'well-7_b', alerts: ['x'] }), 1],
  ])('round-trips %s exactly', (_name, r, ttl) => {
    const item = readingItem(r, ttl);
    expect(readingFromItem(item)).toEqual(r);
    expect(ttlFromItem(item)).toBe(ttl);
    expect(readingItem(readingFromItem(item), ttlFromItem(item))).toEqual(item);
  });

  test('round-trips random readings (through JSON, as over the wire)', () => {
    const value = fc.double({ min: -1e9, max: 1e9, noNaN: true, noDefaultInfinity: true }).map((v) => v + 0);
    const reading = fc.record({
      pump: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      date: fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
      values: fc.record({ hz: value, disp: value, flo: value, sedPPM: value, psi: value, chlPPM: value }),
      alerts: fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), { maxLength: 3 }),
      ttl: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(reading, ({ pump, date, values, alerts, ttl }) => {
        const ts = date.toISOString().slice(0, 19) + 'Z';
        const r = evaluated({ pump, day: ts.slice(0, 10), time: ts.slice(11, 19), ts, values, alerts });
        const wire = JSON.parse(JSON.stringify(readingItem(r, ttl))) as Item;
        expect(readingFromItem(wire)).toEqual(r);
        expect(ttlFromItem(wire)).toBe(ttl);
      }),
      { numRuns: propertyRuns(500) },
    );
  });

  test('decodes numbers DynamoDB normalised differently', () => {
    const item = readingItem(evaluated());
    (item.d as { M: Item }).M.flo = { N: '8.81E2' };
    expect(readingFromItem(item).values.flo).toBe(881);
  });

  test.each([
    ['no partition key', (i: Record<string, unknown>) => delete i.pk, /attribute pk must be a string/],
    ['a partition key without separator', (i: Record<string, unknown>) => (i.pk = { S: 'COHUTTA' }), /PUMP#YYYY-MM-DD/],
    ['no measures', (i: Record<string, unknown>) => delete i.d, /attribute d must be a map/],
    ['a missing measure', (i: Record<string, unknown>) => delete (i.d as { M: Item }).M.psi, /attribute d\.psi must be a number/],
    ['a measure stored as a string', (i: Record<string, unknown>) => ((i.d as { M: Item }).M.psi = { S: '85' }), /d\.psi/],
    ['an empty number', (i: Record<string, unknown>) => ((i.d as { M: Item }).M.psi = { N: '' }), /d\.psi/],
    ['alerts that are not a list', (i: Record<string, unknown>) => (i.a = { M: { rules: { S: 'x' } } }), /a\.rules must be a list/],
    ['an alert that is not a string', (i: Record<string, unknown>) => (i.a = { M: { rules: { L: [{ N: '1' }] } } }), /list of strings/],
    ['no ts', (i: Record<string, unknown>) => delete i.ts, /attribute ts/],
  ])('rejects an item with %s', (_name, damage, message) => {
    const item: Record<string, unknown> = readingItem(evaluated({ alerts: ['low-psi'] }));
    damage(item);
    expect(() => readingFromItem(item)).toThrow(WellwatchError);
    expect(() => readingFromItem(item)).toThrow(message);
  });

  test('keys and partition keys', () => {
    expect(pumpDayPk('COHUTTA', '2014-03-10')).toBe('COHUTTA#2014-03-10');
    expect(parsePumpDayPk('COHUTTA#2014-03-10')).toEqual({ pump: 'COHUTTA', day: '2014-03-10' });
    expect(() => parsePumpDayPk('#2014-03-10')).toThrow(WellwatchError);
    const item = readingItem(evaluated());
    expect(readingKey('COHUTTA', '2014-03-10', '01:01:00')).toEqual({ pk: item.pk, sk: item.sk });
  });
});

describe('stats items', () => {
  test('holds one flat number per stats CSV column, named like the column', () => {
    const item = statsItem(stats());
    expect(Object.keys(item).sort()).toEqual(['pk', 'sk', KEYS.stats.byDate.partitionKey, ...STATS_CSV_COLUMNS].sort());
    expect(item[KEYS.stats.byDate.partitionKey]).toEqual({ S: `2014-03-10#${pumpBucket('COHUTTA', FLEET_KEYS.buckets)}` });
    expect(item.pk).toEqual({ S: 'COHUTTA' });
    expect(item.sk).toEqual({ S: '2014-03-10' });
    expect(item.date).toEqual({ S: '2014-03-10' });
    expect(item.count).toEqual({ N: '720' });
    expect(item.hz_avg).toEqual({ N: '8.412345678901234' });
    expect(item.sedPPM_min).toEqual({ N: '0.01' });
    expect(item.chlPPM_max).toEqual({ N: '2' });
    expect(statsKey('COHUTTA', '2014-03-10')).toEqual({ pk: item.pk, sk: item.sk });
  });

  test.each([undefined, 1425945600])('round-trips exactly (ttl %p)', (ttl) => {
    const item = statsItem(stats(), ttl);
    expect(item.expiresAt).toEqual(ttl === undefined ? undefined : { N: String(ttl) });
    const wire = JSON.parse(JSON.stringify(item)) as Item;
    expect(statsFromItem(wire)).toEqual(stats());
    expect(ttlFromItem(wire)).toBe(ttl);
    expect(statsItem(statsFromItem(wire), ttlFromItem(wire))).toEqual(item);
  });

  test('names the missing attribute', () => {
    const item: Record<string, unknown> = statsItem(stats());
    delete item.psi_avg;
    expect(() => statsFromItem(item)).toThrow(/malformed stats item: attribute psi_avg must be a number/);
  });
});

describe('hourly stats items', () => {
  /** One pump-hour: the daily shape with `date` holding the hour. */
  const hour = (): DailyStats => stats({ date: '2014-03-10T05', count: 30 });

  test('hold the hourly series key, the hour, the pump, the count and one flat number per aggregate, no date or index key', () => {
    const item = hourlyItem(hour());
    expect(Object.keys(item).sort()).toEqual(['pk', 'sk', ...STATS_CSV_COLUMNS.filter((c) => c !== 'date')].sort());
    expect(item.pk).toEqual({ S: hourlyPk('COHUTTA') });
    expect(hourlyPk('COHUTTA')).toBe('COHUTTA#1h');
    expect(item.sk).toEqual({ S: '2014-03-10T05' });
    expect(item.pump).toEqual({ S: 'COHUTTA' });
    expect(item.count).toEqual({ N: '30' });
    expect(item.hz_avg).toEqual({ N: '8.412345678901234' });
    expect(item.sedPPM_min).toEqual({ N: '0.01' });
    expect(item.chlPPM_max).toEqual({ N: '2' });
  });

  test.each([undefined, 1425945600])('round-trip exactly (ttl %p)', (ttl) => {
    const item = hourlyItem(hour(), ttl);
    expect(item.expiresAt).toEqual(ttl === undefined ? undefined : { N: String(ttl) });
    const wire = JSON.parse(JSON.stringify(item)) as Item;
    expect(hourlyFromItem(wire)).toEqual(hour());
    expect(ttlFromItem(wire)).toBe(ttl);
    expect(hourlyItem(hourlyFromItem(wire), ttlFromItem(wire))).toEqual(item);
  });
});

describe('write-sharded fleet-wide keys', () => {
  const pumps = Array.from({ length: 2_000 }, (_, i) => `P${i}`);

  test('a day of the alertsByDay and statsByDate indexes is one key per FLEET_KEYS bucket, bucket 0 first', () => {
    const keys = dayBucketKeys('2014-03-10');
    expect(keys).toHaveLength(FLEET_KEYS.buckets);
    expect(keys[0]).toBe('2014-03-10#0');
    expect(keys[keys.length - 1]).toBe(`2014-03-10#${FLEET_KEYS.buckets - 1}`);
    expect(dayBucketKey('2014-03-10', 7)).toBe('2014-03-10#7');
  });

  test("a pump's alert and stats rows of a day land in its bucket, one of the day's keys, and pumps use every bucket", () => {
    const keys = new Set(dayBucketKeys('2014-03-10'));
    const used = new Set<string>();
    for (const pump of pumps) {
      const key = pumpDayBucketKey(pump, '2014-03-10');
      expect(keys.has(key)).toBe(true);
      const alert = readingItem(evaluated({ pump, alerts: ['low-psi'] }));
      expect(alert[KEYS.readings.alertsByDay.partitionKey]).toEqual({ S: key });
      expect(statsItem(stats({ pump }))[KEYS.stats.byDate.partitionKey]).toEqual({ S: key });
      used.add(key);
    }
    expect(used).toEqual(keys);
  });

  test('no bucket holds much more than its share of a fleet (the worst per-key rate the README states)', () => {
    const counts = new Map<string, number>();
    for (const pump of pumps) counts.set(pumpDayBucketKey(pump, '2014-03-10'), (counts.get(pumpDayBucketKey(pump, '2014-03-10')) ?? 0) + 1);
    const share = pumps.length / FLEET_KEYS.buckets;
    expect(Math.max(...counts.values())).toBeLessThan(share * 1.5);
  });

  test('the pump registry is spread over FLEET_KEYS.buckets partitions by the same hash', () => {
    const partitions = Array.from({ length: FLEET_KEYS.buckets }, (_, b) => `PUMPS#${b}`);
    for (const pump of pumps.slice(0, 200)) {
      expect(pumpRegistryPartition(pump)).toBe(`PUMPS#${pumpBucket(pump, FLEET_KEYS.buckets)}`);
      expect(pumpRegistryItem(pump)).toEqual({ pk: { S: pumpRegistryPartition(pump) }, sk: { S: pump }, pump: { S: pump } });
    }
    expect(new Set(pumps.map(pumpRegistryPartition))).toEqual(new Set(partitions));
  });
});

describe('catalog items', () => {
  test('a day with data', () => {
    expect(catalogDaysItem('2014-03-10')).toEqual({ pk: { S: CATALOG_DAYS_PARTITION }, sk: { S: '2014-03-10' }, day: { S: '2014-03-10' } });
    expect(CATALOG_DAYS_PARTITION).toBe('DAYS');
  });

  test('a pump-day with data', () => {
    const item = catalogDayItem('COHUTTA', '2014-03-10');
    // FNV-1a('COHUTTA') mod 32 = 3: the day's markers are write-sharded over FLEET_KEYS.buckets.
    expect(item).toEqual({ pk: { S: 'DAY#2014-03-10#3' }, sk: { S: 'COHUTTA' }, pump: { S: 'COHUTTA' }, day: { S: '2014-03-10' } });
    expect(catalogDayItem('A', '2014-03-10').pk).toEqual({ S: 'DAY#2014-03-10#12' });
    expect(catalogDayPartition('2014-03-10', 31)).toBe('DAY#2014-03-10#31');
    expect(catalogDayFromItem(item)).toEqual({ pump: 'COHUTTA', day: '2014-03-10' });
  });

  test('a pending pump-day', () => {
    const item = pendingItem('COHUTTA', '2014-03-10', '2014-03-12T08:00:00.000Z');
    expect(item).toEqual({
      pk: { S: 'PENDING#3' },
      sk: { S: '2014-03-10#COHUTTA' },
      pump: { S: 'COHUTTA' },
      day: { S: '2014-03-10' },
      touchedAt: { S: '2014-03-12T08:00:00.000Z' },
    });
    expect(pendingKey('COHUTTA', '2014-03-10')).toEqual({ pk: item.pk, sk: item.sk });
    expect(pendingFromItem(item)).toEqual({ pump: 'COHUTTA', day: '2014-03-10', touchedAt: '2014-03-12T08:00:00.000Z' });
    expect(pendingKey('A', '2014-03-10').pk).toEqual({ S: 'PENDING#12' });
    expect(pendingPartition(0)).toBe('PENDING#0');
  });
});

describe('ttlFor', () => {
  test('adds the retention to the timestamp of the data', () => {
    expect(ttlFor('2014-03-10T01:01:00Z', 1)).toBe(1394499660);
    expect(ttlFor('2014-03-10T01:01:00Z', 90)).toBe(Date.UTC(2014, 2, 10, 1, 1, 0) / 1000 + 90 * 86_400);
    expect(ttlFor('1970-01-01T00:00:00Z', 2)).toBe(172_800);
  });

  test('keeps forever when retention is 0', () => {
    expect(ttlFor('2014-03-10T01:01:00Z', 0)).toBeUndefined();
  });

  test.each([
    ['2014-03-10T01:01:00Z', -1, /retentionDays must be a non-negative integer, got -1/],
    ['2014-03-10T01:01:00Z', 1.5, /got 1.5/],
    ['yesterday', 1, /got "yesterday"/],
  ])('rejects (%j, %p)', (ts, days, message) => {
    expect(() => ttlFor(ts, days)).toThrow(WellwatchError);
    expect(() => ttlFor(ts, days)).toThrow(message);
  });
});

describe('decoding a malformed item names its kind and the attribute', () => {
  /** A copy of `item` with `edit` applied to it. */
  function changed(item: Item, edit: (copy: Record<string, any>) => void): Item {
    const copy = JSON.parse(JSON.stringify(item)) as Record<string, any>;
    edit(copy);
    return copy as Item;
  }

  /** Built inside each test, so per-test coverage (mutation testing) credits the encoder it runs. */
  const alerting = (): Item => readingItem(evaluated({ alerts: ['low-psi'] }));

  test.each<[string, (i: Record<string, any>) => void, string]>([
    ['no partition key', (i) => delete i.pk, 'malformed reading item: attribute pk must be a string (S)'],
    ['no measures', (i) => delete i.d, 'malformed reading item: attribute d must be a map (M)'],
    ['measures as a list', (i) => (i.d = { M: [] }), 'malformed reading item: attribute d must be a map (M)'],
    ['measures as null', (i) => (i.d = { M: null }), 'malformed reading item: attribute d must be a map (M)'],
    ['a missing measure', (i) => delete i.d.M.hz, 'malformed reading item: attribute d.hz must be a number (N)'],
    ['a blank number', (i) => (i.d.M.psi = { N: ' ' }), 'malformed reading item: attribute d.psi must be a number (N)'],
    ['alert rules not a list', (i) => (i.a.M.rules = { S: 'low-psi' }), 'malformed reading item: attribute a.rules must be a list'],
    ['an alert rule not a string', (i) => (i.a.M.rules.L = [{ N: '1' }]), 'malformed reading item: attribute a.rules[] must be a list of strings'],
    ['no sort key', (i) => delete i.sk, 'malformed reading item: attribute sk must be a string (S)'],
    ['no timestamp', (i) => delete i.ts, 'malformed reading item: attribute ts must be a string (S)'],
  ])('a reading item with %s', (_, edit, message) => {
    expect(() => readingFromItem(changed(alerting(), edit))).toThrow(new WellwatchError(message));
  });

  test.each<[string, string]>([
    ['pump', 'malformed stats item: attribute pump must be a string (S)'],
    ['date', 'malformed stats item: attribute date must be a string (S)'],
    ['count', 'malformed stats item: attribute count must be a number (N)'],
    ['hz_min', 'malformed stats item: attribute hz_min must be a number (N)'],
    ['psi_max', 'malformed stats item: attribute psi_max must be a number (N)'],
    ['chlPPM_avg', 'malformed stats item: attribute chlPPM_avg must be a number (N)'],
  ])('a stats item without %s', (attribute, message) => {
    expect(() => statsFromItem(changed(statsItem(stats()), (i) => delete i[attribute]))).toThrow(new WellwatchError(message));
  });

  test.each<[string, string]>([
    ['pump', 'malformed hourly item: attribute pump must be a string (S)'],
    ['sk', 'malformed hourly item: attribute sk must be a string (S)'],
    ['count', 'malformed hourly item: attribute count must be a number (N)'],
    ['hz_min', 'malformed hourly item: attribute hz_min must be a number (N)'],
    ['psi_max', 'malformed hourly item: attribute psi_max must be a number (N)'],
    ['chlPPM_avg', 'malformed hourly item: attribute chlPPM_avg must be a number (N)'],
  ])('an hourly item without %s', (attribute, message) => {
    const hourly = hourlyItem(stats({ date: '2014-03-10T05' }));
    expect(() => hourlyFromItem(changed(hourly, (i) => delete i[attribute]))).toThrow(new WellwatchError(message));
  });

  test('catalog, pending and TTL attributes', () => {
    const day = catalogDayItem('COHUTTA', '2014-03-10');
    expect(() => catalogDayFromItem(changed(day, (i) => delete i.pump))).toThrow(new WellwatchError('malformed catalog item: attribute pump must be a string (S)'));
    expect(() => catalogDayFromItem(changed(day, (i) => delete i.day))).toThrow(new WellwatchError('malformed catalog item: attribute day must be a string (S)'));
    const pending = pendingItem('COHUTTA', '2014-03-10', '2014-03-12T08:00:00.000Z');
    for (const attribute of ['pump', 'day', 'touchedAt']) {
      expect(() => pendingFromItem(changed(pending, (i) => delete i[attribute]))).toThrow(
        new WellwatchError(`malformed pending item: attribute ${attribute} must be a string (S)`),
      );
    }
    expect(() => ttlFromItem({ [KEYS.ttlAttribute]: { S: 'soon' } })).toThrow(new WellwatchError(`malformed item item: attribute ${KEYS.ttlAttribute} must be a number (N)`));
  });
});
