import { GetItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DEFAULT_ALERT_RULES, FLEET_KEYS } from '../../../lambdas/config';
import { dayBucketKeys, readingKey, statsFromItem, statsKey, ttlFor } from '../../../lambdas/core/keys';
import { rollupReadings } from '../../../lambdas/core/rollup';
import { compileRules } from '../../../lambdas/core/rules';
import type { EvaluatedReading } from '../../../lambdas/core/types';
import { createCatalogStore, forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { ENUMERATE_DAYS_LIMIT, listDays, listPending, listPumps, newestReadingTime, queryAlerts, queryReadings, queryStats } from '../../../lambdas/store/queries';
import { createReadingStore } from '../../../lambdas/store/reading-store';
import { createStatsStore } from '../../../lambdas/store/stats-store';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { collect, recordCommands, recordQueries } from '../../helpers/intercept';

const DAYS = ['2014-03-10', '2014-03-11', '2014-03-12'];
const PUMPS = ['ALPHA', 'BRAVO'];
const evaluate = compileRules(DEFAULT_ALERT_RULES);

/** Readings every 10 minutes; psi dips below 5 every 7th reading so some rows alert. */
function makeReadings(): EvaluatedReading[] {
  const out: EvaluatedReading[] = [];
  let n = 0;
  for (const day of DAYS) {
    for (let minute = 0; minute < 1440; minute += 10) {
      for (const pump of PUMPS) {
        n++;
        const time = `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}:00`;
        const values = { hz: (n % 100) / 10, disp: 1.5, flo: 800 + (n % 50), sedPPM: 0.25, psi: n % 7 === 0 ? 2 : 60 + (n % 30), chlPPM: 1.2 };
        out.push({ pump, day, time, ts: `${day}T${time}Z`, values, alerts: evaluate(values) });
      }
    }
  }
  return out;
}

describe('queries', () => {
  let db: DynaliteHandle;
  const readings = makeReadings();
  const byTs = (a: EvaluatedReading, b: EvaluatedReading) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.pump < b.pump ? -1 : 1);

  beforeAll(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
    expect((await createReadingStore(db.client, db.cfg).put(readings)).failed).toEqual([]);
    const catalog = createCatalogStore(db.client, db.cfg);
    const pumpDays = DAYS.flatMap((day) => PUMPS.map((pump) => ({ pump, day })));
    expect((await catalog.markTouched(pumpDays, '2014-03-12', new Date('2014-03-12T12:00:00Z'))).failed).toEqual([]);
    const stats = pumpDays.map(({ pump, day }) =>
      rollupReadings(pump, day, readings.filter((r) => r.pump === pump && r.day === day).map((r) => r.values)),
    );
    const store = createStatsStore(db.client, db.cfg);
    for (const s of stats) expect(await store.putIfNewer(s, new Date().toISOString())).toBe('written');
  });
  afterAll(async () => {
    await db.close();
  });

  it('returns all readings of a pump, oldest first, when the range is open', async () => {
    const got = await collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA' }));
    expect(got).toEqual(readings.filter((r) => r.pump === 'ALPHA'));
  });

  it('limits the first and last day to the range, inclusive, in one query per pump-day', async () => {
    const from = '2014-03-10T22:05:00Z';
    const to = '2014-03-12T00:30:00Z';
    const { out: got, sent } = await recordCommands(db.client, () => collect(queryReadings(db.client, db.cfg, { pump: 'BRAVO', from, to })));
    expect(got).toEqual(readings.filter((r) => r.pump === 'BRAVO' && r.ts >= from && r.ts <= to));
    expect(got[0]!.ts).toBe('2014-03-10T22:10:00Z');
    expect(got[got.length - 1]!.ts).toBe('2014-03-12T00:30:00Z');
    const queries: QueryCommand[] = sent.filter((c) => c instanceof QueryCommand);
    expect(queries.map((q) => q.input.ExpressionAttributeValues![':hk']!.S)).toEqual(['BRAVO#2014-03-10', 'BRAVO#2014-03-11', 'BRAVO#2014-03-12']);
    expect(sent.some((c) => c instanceof ScanCommand)).toBe(false);
  });

  it('treats day bounds as whole days', async () => {
    const got = await collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA', from: '2014-03-11', to: '2014-03-11' }));
    expect(got).toEqual(readings.filter((r) => r.pump === 'ALPHA' && r.day === '2014-03-11'));
  });

  it('finds the alerts of one pump through alertsByPump', async () => {
    const { out: got, sent } = await recordCommands(db.client, () => collect(queryAlerts(db.client, db.cfg, { pump: 'ALPHA', from: '2014-03-11T06:00:00Z' })));
    const expected = readings.filter((r) => r.pump === 'ALPHA' && r.alerts.length > 0 && r.ts >= '2014-03-11T06:00:00Z');
    expect(expected.length).toBeGreaterThan(10);
    expect(got).toEqual(expected);
    expect(got.every((r) => r.alerts[0] === 'low-psi')).toBe(true);
    expect(sent.filter((c) => c instanceof QueryCommand).map((q) => q.input.IndexName)).toEqual(['alertsByPump']);
  });

  it('finds the alerts of all pumps day by day through alertsByDay, one Query per bucket, by time then pump', async () => {
    const from = '2014-03-10T12:00:00Z';
    const to = '2014-03-11T12:00:00Z';
    const { out: got, sent } = await recordCommands(db.client, () => collect(queryAlerts(db.client, db.cfg, { from, to })));
    const expected = readings.filter((r) => r.alerts.length > 0 && r.ts >= from && r.ts <= to).sort(byTs);
    expect(got).toEqual(expected);
    const queries: QueryCommand[] = sent.filter((c) => c instanceof QueryCommand);
    expect(queries.every((q) => q.input.IndexName === 'alertsByDay')).toBe(true);
    expect(queries.map((q) => q.input.ExpressionAttributeValues![':hk']!.S)).toEqual([...dayBucketKeys('2014-03-10'), ...dayBucketKeys('2014-03-11')]);
  });

  it('includes the alerts at the exact end of a range over all pumps, whatever the pump id', async () => {
    const last = readings.filter((r) => r.alerts.length > 0 && r.day === '2014-03-11')[5]!;
    const from = '2014-03-11T00:00:00Z';
    const got = await collect(queryAlerts(db.client, db.cfg, { from, to: last.ts }));
    expect(got).toEqual(readings.filter((r) => r.alerts.length > 0 && r.ts >= from && r.ts <= last.ts).sort(byTs));
    expect(got.at(-1)!.ts).toBe(last.ts);
  });

  it('accepts a range of a single instant: the readings and alerts at that time', async () => {
    const at = readings.find((r) => r.alerts.length > 0 && r.day === '2014-03-12')!;
    expect(await collect(queryReadings(db.client, db.cfg, { pump: at.pump, from: at.ts, to: at.ts }))).toEqual([at]);
    expect(await collect(queryAlerts(db.client, db.cfg, { from: at.ts, to: at.ts }))).toEqual(readings.filter((r) => r.alerts.length > 0 && r.ts === at.ts).sort(byTs));
  });

  it('takes the days of an open range from the catalog, never scanning', async () => {
    const { out: got, sent } = await recordCommands(db.client, () => collect(queryAlerts(db.client, db.cfg, {})));
    expect(got).toEqual(readings.filter((r) => r.alerts.length > 0).sort(byTs));
    const queries = sent.filter((c) => c instanceof QueryCommand);
    expect(queries[0].input.TableName).toBe(db.cfg.catalogTable);
    expect(queries).toHaveLength(1 + DAYS.length * FLEET_KEYS.buckets);
    expect(sent.some((c) => c instanceof ScanCommand)).toBe(false);
  });

  it('returns the stats of one pump over a day range and of all pumps by date', async () => {
    const one = await collect(queryStats(db.client, db.cfg, { pump: 'BRAVO', from: '2014-03-11', to: '2014-03-12T03:00:00Z' }));
    expect(one.map((s) => s.date)).toEqual(['2014-03-11', '2014-03-12']);
    expect(one[0]).toEqual(rollupReadings('BRAVO', '2014-03-11', readings.filter((r) => r.pump === 'BRAVO' && r.day === '2014-03-11').map((r) => r.values)));
    const all = await collect(queryStats(db.client, db.cfg, {}));
    expect(all.map((s) => `${s.date}/${s.pump}`)).toEqual(DAYS.flatMap((d) => PUMPS.map((p) => `${d}/${p}`)));
  });

  it('lists days, pumps of a day and pending pump-days from the catalog', async () => {
    expect(await collect(listDays(db.client, db.cfg))).toEqual(DAYS);
    expect(await collect(listPumps(db.client, db.cfg, '2014-03-11'))).toEqual(PUMPS);
    expect((await collect(listPending(db.client, db.cfg))).map((p) => `${p.day}/${p.pump}`)).toEqual([
      '2014-03-10/ALPHA',
      '2014-03-10/BRAVO',
      '2014-03-11/ALPHA',
      '2014-03-11/BRAVO',
    ]);
  });

  it('rejects a range whose start is after its end, and malformed bounds', async () => {
    await expect(collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA', from: '2014-03-12', to: '2014-03-11' }))).rejects.toThrow(
      'from (2014-03-12) must not be after to (2014-03-11)',
    );
    await expect(collect(queryStats(db.client, db.cfg, { from: 'last week' }))).rejects.toThrow(/from must be a day/);
  });

  it('says why a reversed range is refused in a machine-readable code', async () => {
    await expect(collect(queryAlerts(db.client, db.cfg, { from: '2014-03-11T00:00:01Z', to: '2014-03-11T00:00:00Z' }))).rejects.toMatchObject({
      name: 'ParseError',
      code: 'time-range',
    });
  });

  it('treats an empty bound or pump as absent', async () => {
    const alpha = readings.filter((r) => r.pump === 'ALPHA');
    expect(await collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA', from: '', to: '' }))).toEqual(alpha);
    expect(await collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA', from: '2014-03-12T23:00:00Z', to: '' }))).toEqual(
      alpha.filter((r) => r.ts >= '2014-03-12T23:00:00Z'),
    );
    expect(await collect(queryAlerts(db.client, db.cfg, { pump: '' }))).toEqual(readings.filter((r) => r.alerts.length > 0).sort(byTs));
    expect((await collect(queryStats(db.client, db.cfg, { pump: '' }))).map((s) => `${s.date}/${s.pump}`)).toEqual(
      DAYS.flatMap((d) => PUMPS.map((p) => `${d}/${p}`)),
    );
  });

  it('keeps a half-open range to its bound on every day the catalog lists', async () => {
    const to = '2014-03-11T03:00:00Z';
    const upTo = await recordQueries(db.client, () => collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA', to })));
    expect(upTo.out).toEqual(readings.filter((r) => r.pump === 'ALPHA' && r.ts <= to));
    expect(upTo.sent[0]!.TableName).toBe(db.cfg.catalogTable);
    const from = '2014-03-11T22:00:00Z';
    const onwards = await recordQueries(db.client, () => collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA', from })));
    expect(onwards.out).toEqual(readings.filter((r) => r.pump === 'ALPHA' && r.ts >= from));
    // Only the days in range are read: the catalog Query is bounded too.
    expect(onwards.sent.slice(1).map((q) => q.ExpressionAttributeValues![':hk']!.S)).toEqual(['ALPHA#2014-03-11', 'ALPHA#2014-03-12']);
  });

  it(`enumerates a bounded range of up to ${ENUMERATE_DAYS_LIMIT} days and asks the catalog for a longer one`, async () => {
    expect(ENUMERATE_DAYS_LIMIT).toBe(31);
    const inMarch = await recordQueries(db.client, () => collect(queryReadings(db.client, db.cfg, { pump: 'BRAVO', from: '2014-03-01', to: '2014-03-31' })));
    expect(inMarch.out).toEqual(readings.filter((r) => r.pump === 'BRAVO'));
    expect(inMarch.sent.map((q) => q.TableName)).toEqual(Array(31).fill(db.cfg.readingsTable));
    expect(inMarch.sent[0]!.ExpressionAttributeValues![':hk']!.S).toBe('BRAVO#2014-03-01');
    const longer = await recordQueries(db.client, () => collect(queryReadings(db.client, db.cfg, { pump: 'BRAVO', from: '2014-03-01', to: '2014-04-01' })));
    expect(longer.out).toEqual(inMarch.out);
    expect(longer.sent.map((q) => q.TableName)).toEqual([db.cfg.catalogTable, ...DAYS.map(() => db.cfg.readingsTable)]);
  });

  it('reads whole partitions, with no sort-key condition, for whole-day bounds and the days inside a range', async () => {
    const days = await recordQueries(db.client, () => collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA', from: '2014-03-10', to: '2014-03-12' })));
    expect(days.out).toEqual(readings.filter((r) => r.pump === 'ALPHA'));
    expect(days.sent.map((q) => q.KeyConditionExpression)).toEqual(['#hk = :hk', '#hk = :hk', '#hk = :hk']);
    const from = '2014-03-10T12:00:00Z';
    const to = '2014-03-12T06:00:00Z';
    const alerts = await recordQueries(db.client, () => collect(queryAlerts(db.client, db.cfg, { from, to })));
    expect(alerts.out).toEqual(readings.filter((r) => r.alerts.length > 0 && r.ts >= from && r.ts <= to).sort(byTs));
    const conditionOf = (day: string) => [...new Set(alerts.sent.filter((q) => q.ExpressionAttributeValues![':hk']!.S!.startsWith(day)).map((q) => q.KeyConditionExpression))];
    expect(conditionOf('2014-03-10')).toEqual(['#hk = :hk AND #rk >= :lo']);
    expect(conditionOf('2014-03-11')).toEqual(['#hk = :hk']);
    expect(conditionOf('2014-03-12')).toEqual(['#hk = :hk AND #rk <= :hi']);
  });

  it('finds the time of the newest reading of a pump-day in one strongly consistent Query', async () => {
    const { out, sent } = await recordQueries(db.client, () => newestReadingTime(db.client, db.cfg, 'BRAVO', '2014-03-11'));
    expect(out).toBe('2014-03-11T23:50:00Z');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ TableName: db.cfg.readingsTable, Limit: 1, ScanIndexForward: false, ConsistentRead: true });
    expect(await newestReadingTime(db.client, db.cfg, 'BRAVO', '2014-03-13')).toBeUndefined();
    expect(await newestReadingTime(db.client, db.cfg, 'NOBODY', '2014-03-11')).toBeUndefined();
  });
});

describe('reading and stats stores', () => {
  let db: DynaliteHandle;
  beforeEach(async () => {
    db = await startDynalite({ config: { retentionDays: 30 } });
  });
  afterEach(async () => {
    await db.close();
  });

  it('sets expiresAt on readings and stats rows from their data time when retention is configured', async () => {
    const r = makeReadings()[0]!;
    await createReadingStore(db.client, db.cfg).put([r]);
    const out = await db.client.send(new GetItemCommand({ TableName: db.cfg.readingsTable, Key: readingKey(r.pump, r.day, r.time) }));
    expect(out.Item?.expiresAt).toEqual({ N: String(ttlFor(r.ts, 30)) });
    const s = rollupReadings(r.pump, r.day, [r.values]);
    expect(await createStatsStore(db.client, db.cfg).putIfNewer(s, new Date().toISOString())).toBe('written');
    const row = await db.client.send(new GetItemCommand({ TableName: db.cfg.statsTable, Key: statsKey(r.pump, r.day), ConsistentRead: true }));
    // A stats row lives `retentionDays` after the start of its day.
    expect(row.Item?.expiresAt).toEqual({ N: String(ttlFor(`${r.day}T00:00:00Z`, 30)) });
    expect(statsFromItem(row.Item!)).toEqual(s);
  });

  it('streams only the measures of a pump-day', async () => {
    const all = makeReadings();
    const store = createReadingStore(db.client, db.cfg);
    await store.put(all);
    const { out: values, sent } = await recordCommands(db.client, () => collect(store.dayValues('BRAVO', '2014-03-11')));
    expect(values).toEqual(all.filter((r) => r.pump === 'BRAVO' && r.day === '2014-03-11').map((r) => r.values));
    const q = sent.find((c) => c instanceof QueryCommand)!;
    expect(q.input.ProjectionExpression).toBe('#d');
    expect(q.input.ConsistentRead).toBe(true);
  });
});
