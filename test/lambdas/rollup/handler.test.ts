import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { createRollupHandler, planRollup, RollupError, RollupEventError, summarizeRuns, type RollupDeps } from '../../../lambdas/rollup/handler';
import { RollupTaskFailedError } from '../../../lambdas/rollup/worker';
import { createRollupRunStore, type RollupRunStore } from '../../../lambdas/store/rollup-run-store';
import { createSeriesStore } from '../../../lambdas/store/series-store';
import { DEFAULT_ALERT_RULES, FLEET_KEYS, KEYS, SERIES_KEYS } from '../../../lambdas/config';
import { hourlyFromItem } from '../../../lambdas/core/keys';
import { mulberry32 } from '../../../lambdas/core/generator';
import { compileRules } from '../../../lambdas/core/rules';
import { MEASURES, type EvaluatedReading, type MeasureValues } from '../../../lambdas/core/types';
import { createCatalogStore, forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { listPending, queryStats } from '../../../lambdas/store/queries';
import { createReadingStore } from '../../../lambdas/store/reading-store';
import { scanTable, startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { intercept, collect } from '../../helpers/intercept';

const PUMPS = ['ALPHA', 'BRAVO', 'CHARLIE'];
const DAYS = ['2014-03-10', '2014-03-11', '2014-03-12'];
const evaluate = compileRules(DEFAULT_ALERT_RULES);

function reading(pump: string, day: string, second: number, values: MeasureValues): EvaluatedReading {
  const time = [Math.floor(second / 3600), Math.floor(second / 60) % 60, second % 60].map((n) => String(n).padStart(2, '0')).join(':');
  return { pump, day, time, ts: `${day}T${time}Z`, values, alerts: evaluate(values) };
}

/** About 150 readings per pump-day at irregular times with awkward decimals. */
function makeReadings(seed = 7): EvaluatedReading[] {
  const rand = mulberry32(seed);
  const out: EvaluatedReading[] = [];
  for (const day of DAYS) {
    for (const pump of PUMPS) {
      for (let second = Math.floor(rand() * 60); second < 86_400; second += 500 + Math.floor(rand() * 150)) {
        out.push(
          reading(pump, day, second, {
            hz: Math.round(rand() * 1050) / 100,
            disp: Math.round(rand() * 620) / 100,
            flo: Math.floor(rand() * 2043),
            sedPPM: Math.round(rand() * 7000) / 1000,
            psi: rand() < 0.05 ? 0 : Math.floor(rand() * 101),
            chlPPM: 0.5 + Math.round(rand() * 1500) / 1000,
          }),
        );
      }
    }
  }
  return out;
}

/** The expected stats of one pump-day, computed the obvious way. */
function expectedStats(readings: readonly EvaluatedReading[], pump: string, day: string) {
  const mine = readings.filter((r) => r.pump === pump && r.day === day);
  const measures: Record<string, { min: number; max: number; avg: number }> = {};
  for (const m of MEASURES) {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const r of mine) {
      const v = r.values[m];
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    measures[m] = { min, max, avg: sum / mine.length };
  }
  return { pump, date: day, count: mine.length, measures };
}

function expectStatsClose(actual: any, expected: ReturnType<typeof expectedStats>): void {
  expect(actual.pump).toBe(expected.pump);
  expect(actual.date).toBe(expected.date);
  expect(actual.count).toBe(expected.count);
  for (const m of MEASURES) {
    expect(actual.measures[m].min).toBe(expected.measures[m]!.min);
    expect(actual.measures[m].max).toBe(expected.measures[m]!.max);
    const { avg } = expected.measures[m]!;
    expect(Math.abs(actual.measures[m].avg - avg)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(avg)));
  }
}

describe('rollup handler', () => {
  let db: DynaliteHandle;
  let readings: EvaluatedReading[];
  let metrics: Record<string, unknown>[];
  const today = '2014-03-13';
  const now = new Date(`${today}T00:15:00Z`);

  beforeEach(async () => {
    forgetWrittenMarkers();
    metrics = [];
    db = await startDynalite();
    readings = makeReadings();
    expect((await createReadingStore(db.client, db.cfg).put(readings)).failed).toEqual([]);
    const pumpDays = DAYS.flatMap((day) => PUMPS.map((pump) => ({ pump, day })));
    // Written as the consumer does while each day is current: no pending markers.
    for (const day of DAYS) {
      const marked = await createCatalogStore(db.client, db.cfg).markTouched(pumpDays.filter((p) => p.day === day), day, new Date(`${day}T12:00:00Z`));
      expect(marked.failed).toEqual([]);
    }
  });
  afterEach(async () => {
    await db.close();
  });

  function rollup(deps: RollupDeps = {}) {
    return createRollupHandler(db.cfg, {
      dynamo: db.client,
      clock: () => now,
      metricsSink: (l) => metrics.push(JSON.parse(l)),
      log: () => undefined,
      concurrency: 3,
      retry: { maxAttempts: 2, sleep: async () => undefined },
      ...deps,
    });
  }

  const metric = (name: string) => metrics.filter((m) => name in m).map((m) => m[name]);
  /** A metric's values summed over every EMF line (the worker writes one value per work item). */
  const total = (name: string) => (metric(name).flat(2) as number[]).reduce((a, b) => a + b, 0);

  it('backfills a date range with stats equal to an independent recomputation', async () => {
    const result = await rollup()({ from: '2014-03-09', to: '2014-03-12' });
    expect(result).toEqual({
      days: ['2014-03-09', ...DAYS],
      pumpDays: 9,
      readings: readings.length,
      statsWritten: 9,
      pendingCleared: 0,
      superseded: 0,
    });
    const stats = await collect(queryStats(db.client, db.cfg, {}));
    expect(stats.map((s) => `${s.date}/${s.pump}`)).toEqual(DAYS.flatMap((d) => PUMPS.map((p) => `${d}/${p}`)));
    for (const s of stats) expectStatsClose(s, expectedStats(readings, s.pump, s.date));
    expect(metric('RollupRuns')).toEqual([1]);
    expect(total('RollupPumpDays')).toBe(9);
    expect(total('RollupReadings')).toBe(readings.length);
  });

  it('writes the same statistics when run again over the same data, with a later input watermark', async () => {
    const handler = rollup();
    const withoutWatermark = (items: Record<string, unknown>[]) => items.map(({ [KEYS.stats.inputWatermark]: _, ...rest }) => rest);
    await handler({ from: DAYS[0]!, to: DAYS[2]! });
    const first = await scanTable(db.client, db.cfg.statsTable);
    // 9 daily rows, and one hourly row (pk PUMP#1h) per pump-hour with readings.
    const hours = new Set(readings.map((r) => `${r.pump}#1h ${r.ts.slice(0, 13)}`));
    expect(first.filter((i) => !i.pk!.S!.endsWith('#1h'))).toHaveLength(9);
    expect(first.filter((i) => i.pk!.S!.endsWith('#1h')).map((i) => `${i.pk!.S} ${i.sk!.S}`).sort()).toEqual([...hours].sort());
    await new Promise((r) => setTimeout(r, 5));
    await handler({ from: DAYS[0]!, to: DAYS[2]! });
    const second = await scanTable(db.client, db.cfg.statsTable);
    expect(withoutWatermark(second)).toEqual(withoutWatermark(first));
    second.forEach((item, i) => expect((item[KEYS.stats.inputWatermark] as { S: string }).S > (first[i]![KEYS.stats.inputWatermark] as { S: string }).S).toBe(true));
  });

  it('never overwrites daily or hourly stats of newer input with those of an older read (two rollups of one pump-day at once)', async () => {
    const day = '2014-03-11';
    const real = createReadingStore(db.client, db.cfg);
    let readDone!: () => void;
    const olderRead = new Promise<void>((r) => (readDone = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // The first rollup reads ALPHA's day, then stalls before writing its hours and its day (a slow container, a retry
    // after a timeout).
    const stalling = {
      ...real,
      async *dayReadings(pump: string, d: string) {
        yield* real.dayReadings(pump, d);
        if (pump === 'ALPHA' && d === day) {
          readDone();
          await gate;
        }
      },
    };
    const older = rollup({ readings: stalling })({ date: day });
    await olderRead;
    // A late reading lands, and a second rollup (the hourly pending run) recomputes the day with it.
    await lateReading('ALPHA', day, 86_399, 9_999);
    const newer = await rollup()({ date: day });
    expect(newer).toMatchObject({ statsWritten: 3, superseded: 0 });
    const newerHours = await hourItems('ALPHA', day);
    release();
    expect(await older).toMatchObject({ statsWritten: 2, superseded: 1 });

    const [alpha] = await collect(queryStats(db.client, db.cfg, { pump: 'ALPHA', from: day, to: day }));
    expect(alpha!.measures.psi.max).toBe(9_999);
    expect(alpha!.count).toBe(expectedStats(readings, 'ALPHA', day).count + 1);
    // Every hour the older rollup read stays as the newer one wrote it (watermark included), and the hour of the late
    // reading holds it: an unconditional hourly put would have put back the older statistics without it.
    const hours = await hourItems('ALPHA', day);
    expect(hours).toEqual(newerHours);
    expect(hours.map((i) => i.sk!.S)).toEqual([...new Set(readings.filter((r) => r.pump === 'ALPHA' && r.day === day).map((r) => r.ts.slice(0, 13)))]);
    const last = hourlyFromItem(hours.at(-1)!);
    expect(last.date).toBe(`${day}T23`);
    expect(last.measures.psi.max).toBe(9_999);
    expect(last.count).toBe(readings.filter((r) => r.pump === 'ALPHA' && r.ts.startsWith(`${day}T23`)).length + 1);
  });

  /** A pump's hourly rows of one day, ascending by hour, as stored. */
  async function hourItems(pump: string, day: string) {
    const out = await db.client.send(
      new QueryCommand({
        TableName: db.cfg.statsTable,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :day)',
        ExpressionAttributeValues: { ':pk': { S: `${pump}${SERIES_KEYS.hourlySuffix}` }, ':day': { S: `${day}T` } },
        ConsistentRead: true,
      }),
    );
    return out.Items ?? [];
  }

  it('rolls up the previous UTC day in daily mode, from the clock or the event time', async () => {
    const daily = await rollup()({ mode: 'daily' });
    expect(daily.days).toEqual(['2014-03-12']);
    expect(daily.statsWritten).toBe(3);
    const scheduled = await rollup()({ time: '2014-03-11T00:15:00Z', detail: { mode: 'daily' } });
    expect(scheduled.days).toEqual(['2014-03-10']);
    const stats = await collect(queryStats(db.client, db.cfg, {}));
    expect([...new Set(stats.map((s) => s.date))]).toEqual(['2014-03-10', '2014-03-12']);
  });

  it('rolls up a single date', async () => {
    const result = await rollup()({ date: '2014-03-11' });
    expect(result).toMatchObject({ days: ['2014-03-11'], pumpDays: 3, statsWritten: 3 });
    const stats = await collect(queryStats(db.client, db.cfg, { pump: 'BRAVO' }));
    expect(stats).toHaveLength(1);
    expectStatsClose(stats[0], expectedStats(readings, 'BRAVO', '2014-03-11'));
  });

  /** A late reading arriving for a past day, written the way the consumer writes it. */
  async function lateReading(pump: string, day: string, second: number, psi: number): Promise<EvaluatedReading> {
    const r = reading(pump, day, second, { hz: 1, disp: 1, flo: 1, sedPPM: 1, psi, chlPPM: 1 });
    expect((await createReadingStore(db.client, db.cfg).put([r])).failed).toEqual([]);
    expect((await createCatalogStore(db.client, db.cfg).markTouched([{ pump, day }], today, new Date())).failed).toEqual([]);
    return r;
  }

  it('recomputes pending pump-days and clears their markers', async () => {
    await rollup()({ from: DAYS[0]!, to: DAYS[2]! });
    readings.push(await lateReading('ALPHA', '2014-03-10', 86_399, 100.5));
    readings.push(await lateReading('CHARLIE', '2014-03-12', 1, -3));
    expect(await collect(listPending(db.client, db.cfg))).toHaveLength(2);

    const result = await rollup()({ mode: 'pending' });
    expect(result).toMatchObject({ days: ['2014-03-10', '2014-03-12'], pumpDays: 2, statsWritten: 2, pendingCleared: 2 });
    expect(await collect(listPending(db.client, db.cfg))).toEqual([]);
    const alpha = await collect(queryStats(db.client, db.cfg, { pump: 'ALPHA', from: '2014-03-10', to: '2014-03-10' }));
    expectStatsClose(alpha[0], expectedStats(readings, 'ALPHA', '2014-03-10'));
    expect(alpha[0]!.measures.psi.max).toBe(100.5);
    const charlie = await collect(queryStats(db.client, db.cfg, { pump: 'CHARLIE', from: '2014-03-12', to: '2014-03-12' }));
    expect(charlie[0]!.measures.psi.min).toBe(-3);
    expect((await rollup()({ pending: true })).pumpDays).toBe(0);
  });

  it('keeps a pending marker that is touched again while its day is being rolled up', async () => {
    await lateReading('ALPHA', '2014-03-10', 86_399, 100.5);
    await lateReading('BRAVO', '2014-03-11', 5, 99.5);
    let raced = false;
    intercept(db.client, async (command, next) => {
      const out = await next(command);
      const pk = command instanceof QueryCommand ? command.input.ExpressionAttributeValues?.[':pk']?.S : undefined;
      if (pk === 'BRAVO#2014-03-11' && !raced) {
        // A consumer lands a new reading right after the rollup read the pump-day.
        raced = true;
        readings.push(await lateReading('BRAVO', '2014-03-11', 6, 123));
      }
      return out;
    });
    const result = await rollup()({ mode: 'pending' });
    expect(raced).toBe(true);
    expect(result.pendingCleared).toBe(1);
    const left = await collect(listPending(db.client, db.cfg));
    expect(left.map((p) => `${p.day}/${p.pump}`)).toEqual(['2014-03-11/BRAVO']);
    let bravo = await collect(queryStats(db.client, db.cfg, { pump: 'BRAVO' }));
    expect(bravo[0]!.measures.psi.max).toBeLessThan(123);

    const again = await rollup()({ mode: 'pending' });
    expect(again).toMatchObject({ pumpDays: 1, pendingCleared: 1 });
    bravo = await collect(queryStats(db.client, db.cfg, { pump: 'BRAVO' }));
    expect(bravo[0]!.measures.psi.max).toBe(123);
    expect(bravo[0]!.count).toBe(expectedStats(readings, 'BRAVO', '2014-03-11').count + 1);
    expect(await collect(listPending(db.client, db.cfg))).toEqual([]);
  });

  it('finishes the other pump-days, keeps the marker and fails the run when stats cannot be written', async () => {
    await lateReading('ALPHA', '2014-03-10', 86_399, 1);
    await lateReading('BRAVO', '2014-03-10', 86_399, 1);
    intercept(db.client, async (command, next) => {
      if (command instanceof PutItemCommand && command.input.TableName === db.cfg.statsTable && command.input.Item!.pk!.S === 'BRAVO') {
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
      }
      return next(command);
    });
    const error = await rollup()({ mode: 'pending' }).catch((e) => e);
    expect(error).toBeInstanceOf(RollupError);
    expect(error.message).toMatch(/rollup failed for 1 pump-day\(s\): BRAVO@2014-03-10/);
    expect(error.result).toMatchObject({ pumpDays: 1, statsWritten: 1, pendingCleared: 1 });
    expect((await collect(listPending(db.client, db.cfg))).map((p) => p.pump)).toEqual(['BRAVO']);
    expect((await collect(queryStats(db.client, db.cfg, {}))).map((s) => s.pump)).toEqual(['ALPHA']);
    expect(total('RollupFailures')).toBe(1);
  });

  /** Makes every stats put of the given pumps fail with a throttling error the retries do not get past. */
  function failStatsOf(...pumps: string[]): void {
    intercept(db.client, async (command, next) => {
      if (command instanceof PutItemCommand && command.input.TableName === db.cfg.statsTable && pumps.includes(command.input.Item!.pk!.S!)) {
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
      }
      return next(command);
    });
  }

  it('names the first three failed pump-days and counts the others in its error, with the first failure as the cause', async () => {
    failStatsOf('ALPHA', 'BRAVO');
    const error = await rollup({ tasksAtOnce: 1, concurrency: 1 })({ from: DAYS[0]!, to: DAYS[1]! }).catch((e) => e);
    expect(error).toBeInstanceOf(RollupError);
    expect(error.name).toBe('RollupError');
    const throttled = 'ThrottlingException: Rate of requests exceeds the allowed throughput';
    expect(error.failures).toHaveLength(4);
    expect(error.message).toBe(`rollup failed for 4 pump-day(s): ${error.failures.slice(0, 3).join('; ')} and 1 more`);
    expect([...error.failures].sort()).toEqual(['2014-03-10', '2014-03-11'].flatMap((d) => ['ALPHA', 'BRAVO'].map((p) => `${p}@${d}: ${throttled}`)).sort());
    expect(error.cause).toBeInstanceOf(RollupTaskFailedError);
    expect(error.cause.failures).toContain(error.failures[0]);
    expect(error.result).toMatchObject({ days: [DAYS[0], DAYS[1]], pumpDays: 2, statsWritten: 2 });
  });

  it('lists every failed pump-day, and no count of others, when at most three fail', async () => {
    failStatsOf('ALPHA', 'BRAVO', 'CHARLIE');
    const error = await rollup({ tasksAtOnce: 1, concurrency: 1 })({ date: DAYS[0]! }).catch((e) => e);
    expect(error).toBeInstanceOf(RollupError);
    expect([...error.failures].sort()).toEqual(PUMPS.map((p) => `${p}@2014-03-10: ThrottlingException: Rate of requests exceeds the allowed throughput`));
    expect(error.message).toBe(`rollup failed for 3 pump-day(s): ${error.failures.join('; ')}`);
    expect(error.result).toMatchObject({ days: [DAYS[0]], pumpDays: 0, statsWritten: 0 });
  });

  it('reports a work item that fails before its pump-days by the item id, with that error as the cause', async () => {
    const real = createRollupRunStore(db.client, db.cfg);
    const broken = new Error('run records unreadable');
    const runs: RollupRunStore = { ...real, isDone: async () => Promise.reject(broken) };
    const error = await rollup({ runs, tasksAtOnce: 1 })({ date: DAYS[0]! }).catch((e) => e);
    expect(error).toBeInstanceOf(RollupError);
    expect(error.failures.length).toBeGreaterThan(0);
    for (const f of error.failures) expect(f).toMatch(/^work item b\d+-\d+: run records unreadable$/);
    const more = error.failures.length > 3 ? ` and ${error.failures.length - 3} more` : '';
    expect(error.message).toBe(`rollup failed for ${error.failures.length} pump-day(s): ${error.failures.slice(0, 3).join('; ')}${more}`);
    expect(error.cause).toBe(broken);
    expect(error.result).toMatchObject({ pumpDays: 0, statsWritten: 0 });
  });

  it('builds its own DynamoDB client from the configuration for the stores it is not given', async () => {
    const base = { clock: () => now, metricsSink: () => undefined, log: () => undefined, retry: { maxAttempts: 2, sleep: async () => undefined } };
    const given: RollupDeps[] = [
      {},
      { runs: createRollupRunStore(db.client, db.cfg) },
      { series: createSeriesStore(db.client, db.cfg), runs: createRollupRunStore(db.client, db.cfg) },
      { readings: createReadingStore(db.client, db.cfg) },
    ];
    for (const [i, deps] of given.entries()) {
      const result = await createRollupHandler(db.cfg, { ...base, ...deps })({ date: DAYS[i % DAYS.length]! });
      expect(result.days).toEqual([DAYS[i % DAYS.length]]);
    }
    expect((await collect(queryStats(db.client, db.cfg, {}))).length).toBe(9);
  });

  it('sets the TTL on every stats row when retention is configured, and none without it', async () => {
    const days = 400;
    await createRollupHandler({ ...db.cfg, retentionDays: days }, { dynamo: db.client, clock: () => now, metricsSink: () => undefined, log: () => undefined })({
      from: DAYS[0]!,
      to: DAYS[1]!,
    });
    const all = await scanTable(db.client, db.cfg.statsTable);
    // Hourly series rows (`PUMP#1h`, `sk = YYYY-MM-DDTHH`) expire `retentionDays` after their hour.
    const hourly = all.filter((item) => item.pk!.S!.endsWith(SERIES_KEYS.hourlySuffix));
    expect(hourly.length).toBeGreaterThan(0);
    for (const item of hourly) {
      const hourStart = Date.parse(`${item.sk!.S!}:00:00Z`) / 1000;
      expect(item[KEYS.ttlAttribute]).toEqual({ N: String(hourStart + days * 86_400) });
    }
    const kept = all.filter((item) => !item.pk!.S!.endsWith(SERIES_KEYS.hourlySuffix));
    expect(kept).toHaveLength(6);
    for (const item of kept) {
      // The row's day at 00:00 UTC plus the retention, in epoch seconds (2014-03-10 is 1394409600).
      const dayIndex = DAYS.indexOf(item.sk!.S!);
      expect(dayIndex).toBeGreaterThanOrEqual(0);
      expect(item[KEYS.ttlAttribute]).toEqual({ N: String(1_394_409_600 + dayIndex * 86_400 + days * 86_400) });
    }
    await rollup()({ date: DAYS[2]! });
    const forever = (await scanTable(db.client, db.cfg.statsTable)).filter((item) => item.sk!.S!.startsWith(DAYS[2]!));
    expect(forever.filter((item) => item.sk!.S === DAYS[2])).toHaveLength(3);
    expect(forever.length).toBeGreaterThan(3);
    for (const item of forever) expect(item[KEYS.ttlAttribute]).toBeUndefined();
  });

  it('reads the readings of a pump-day and the catalog strongly consistently', async () => {
    // dynalite is always consistent; what protects a just-acknowledged late reading is the request itself.
    const queries: { table: string | undefined; consistent: boolean | undefined }[] = [];
    intercept(db.client, async (command, next) => {
      if (command instanceof QueryCommand) queries.push({ table: command.input.TableName, consistent: command.input.ConsistentRead });
      return next(command);
    });
    await lateReading('ALPHA', '2014-03-10', 86_399, 1);
    queries.length = 0;
    expect(await rollup()({ mode: 'pending' })).toMatchObject({ pumpDays: 1, pendingCleared: 1 });
    expect(await rollup()({ date: '2014-03-11' })).toMatchObject({ pumpDays: 3 });
    expect(queries.filter((q) => q.table === db.cfg.readingsTable)).toHaveLength(4);
    // Catalog Queries: every bucket's pending or day markers, the run's task records, each work item's pump range.
    expect(queries.filter((q) => q.table === db.cfg.catalogTable).length).toBeGreaterThanOrEqual(2 * FLEET_KEYS.buckets);
    expect(queries.filter((q) => q.consistent !== true)).toEqual([]);
  });

  it('writes no stats for a pump-day without readings', async () => {
    await createCatalogStore(db.client, db.cfg).markTouched([{ pump: 'GHOST', day: '2014-03-11' }], '2014-03-11');
    const result = await rollup()({ date: '2014-03-11' });
    expect(result).toMatchObject({ pumpDays: 3, statsWritten: 3 });
    expect(await collect(queryStats(db.client, db.cfg, { pump: 'GHOST' }))).toEqual([]);
  });
});

describe('planRollup', () => {
  const now = new Date('2014-03-13T00:15:00Z');

  it('understands every accepted event', () => {
    expect(planRollup({ mode: 'daily' }, now)).toEqual({ kind: 'days', days: ['2014-03-12'], source: 'daily' });
    expect(planRollup({ mode: 'daily' }, new Date('2016-03-01T00:00:00Z'))).toEqual({ kind: 'days', days: ['2016-02-29'], source: 'daily' });
    expect(planRollup({ mode: 'pending' }, now)).toEqual({ kind: 'pending' });
    expect(planRollup({ pending: true }, now)).toEqual({ kind: 'pending' });
    expect(planRollup({ detail: { mode: 'pending' } }, now)).toEqual({ kind: 'pending' });
    expect(planRollup({ date: '2014-03-10' }, now)).toEqual({ kind: 'days', days: ['2014-03-10'], source: 'date' });
    expect(planRollup({ from: '2014-02-27', to: '2014-03-01' }, now)).toEqual({ kind: 'days', days: ['2014-02-27', '2014-02-28', '2014-03-01'], source: 'range' });
    expect((planRollup({ from: '2000-01-01', to: '2010-01-07' }, now) as { days: string[] }).days).toHaveLength(3660);
  });

  it.each([
    [{}, /exactly one of mode, pending, date or from\/to/],
    [{ date: '2014-02-30' }, /date must be a calendar day YYYY-MM-DD, got "2014-02-30"/],
    [{ date: '3/10/14' }, /date must be a calendar day/],
    [{ from: '2014-03-10' }, /needs both from and to/],
    [{ from: '2014-03-12', to: '2014-03-10' }, /from \(2014-03-12\) must not be after to \(2014-03-10\)/],
    [{ from: '2000-01-01', to: '2010-01-08' }, /at most 3660 days, got 3661/],
    [{ mode: 'weekly' }, /mode must be 'daily' or 'pending', got "weekly"/],
    [{ mode: 'daily', date: '2014-03-10' }, /exactly one of/],
    [{ pending: 'yes' }, /pending must be true/],
    [{ mode: 'daily', time: 'noon' }, /time must be an ISO timestamp/],
  ])('rejects %j', (event, message) => {
    expect(() => planRollup(event as any, now)).toThrow(message);
  });

  it('rejects a missing event', () => {
    expect(() => planRollup(undefined, now)).toThrow(/rollup event must be an object/);
  });

  /** The message of the RollupEventError an event is rejected with. */
  function rejection(event: unknown): string {
    try {
      planRollup(event as any, now);
    } catch (error) {
      expect(error).toBeInstanceOf(RollupEventError);
      expect((error as Error).name).toBe('RollupEventError');
      return (error as Error).message;
    }
    throw new Error(`accepted ${JSON.stringify(event)}`);
  }

  it('rejects with a RollupEventError whose message names the field, the value and what is accepted', () => {
    const accepted = "{mode:'daily'}, {mode:'pending'}, {pending:true}, {date:'YYYY-MM-DD'} or {from:'YYYY-MM-DD', to:'YYYY-MM-DD'}";
    expect(rejection(undefined)).toBe(`rollup event must be an object: ${accepted}`);
    expect(rejection({})).toBe(`rollup event must have exactly one of mode, pending, date or from/to: ${accepted}; got {}`);
    expect(rejection({ mode: 'daily', date: '2014-03-10' })).toBe(
      `rollup event must have exactly one of mode, pending, date or from/to: ${accepted}; got {"mode":"daily","date":"2014-03-10"}`,
    );
    expect(rejection({ mode: 'weekly' })).toBe(`rollup mode must be 'daily' or 'pending', got "weekly"`);
    expect(rejection({ mode: 'daily', time: 'noon' })).toBe('rollup event time must be an ISO timestamp, got "noon"');
    // A number is not a timestamp, even one Date.parse would read as a year.
    expect(rejection({ mode: 'daily', time: 12345 })).toBe('rollup event time must be an ISO timestamp, got 12345');
    expect(rejection({ pending: 'yes' })).toBe('rollup pending must be true, got "yes"');
    expect(rejection({ date: '2014-02-30' })).toBe('date must be a calendar day YYYY-MM-DD, got "2014-02-30"');
    expect(rejection({ from: '2014-03-10' })).toBe('rollup range needs both from and to (YYYY-MM-DD), got {"from":"2014-03-10"}');
    expect(rejection({ to: '2014-03-10' })).toBe('rollup range needs both from and to (YYYY-MM-DD), got {"to":"2014-03-10"}');
    expect(rejection({ from: '2014-3-1', to: '2014-03-10' })).toBe('from must be a calendar day YYYY-MM-DD, got "2014-3-1"');
    expect(rejection({ from: '2014-03-01', to: '2014-3-10' })).toBe('to must be a calendar day YYYY-MM-DD, got "2014-3-10"');
    expect(rejection({ from: '2014-03-12', to: '2014-03-10' })).toBe('rollup range: from (2014-03-12) must not be after to (2014-03-10)');
    expect(rejection({ from: '2000-01-01', to: '2010-01-08' })).toBe('rollup range must be at most 3660 days, got 3661 (2000-01-01 … 2010-01-08)');
  });

  it('accepts a range of one day, a pending flag set to false beside another field, and a null detail', () => {
    expect(planRollup({ from: '2014-03-10', to: '2014-03-10' }, now)).toEqual({ kind: 'days', days: ['2014-03-10'], source: 'range' });
    expect(planRollup({ pending: false, date: '2014-03-10' }, now)).toEqual({ kind: 'days', days: ['2014-03-10'], source: 'date' });
    expect(planRollup({ mode: 'daily', detail: null } as any, now)).toEqual({ kind: 'days', days: ['2014-03-12'], source: 'daily' });
  });
});

describe('RollupError', () => {
  it('carries its name, result, failures and cause', () => {
    const result = { days: ['2014-03-10'], pumpDays: 1, readings: 5, statsWritten: 1, pendingCleared: 0, superseded: 0 };
    const cause = new Error('throttled');
    const error = new RollupError('rollup failed', result, ['ALPHA@2014-03-10: throttled'], cause);
    expect(error.name).toBe('RollupError');
    expect(error.cause).toBe(cause);
    expect(error.result).toBe(result);
    expect(error.failures).toEqual(['ALPHA@2014-03-10: throttled']);
  });
});

describe('summarizeRuns', () => {
  it('reports the days of every planned run once, ascending, and sums their totals', async () => {
    const progress: Record<string, unknown> = {
      pending: { days: ['2014-03-12', '2014-03-10'], totals: { pumpDays: 2, readings: 10, statsWritten: 2, pendingCleared: 2, superseded: 0 } },
      day: { days: ['2014-03-11', '2014-03-10'], totals: { pumpDays: 1, readings: 4, statsWritten: 1, pendingCleared: 0, superseded: 1 } },
    };
    const runs = { readProgress: async (scope: string) => progress[scope] } as unknown as RollupRunStore;
    const planned = { runs: [{ scope: 'pending' }, { scope: 'missing' }, { scope: 'day' }] } as any;
    expect(await summarizeRuns(runs, planned)).toEqual({
      days: ['2014-03-10', '2014-03-11', '2014-03-12'],
      pumpDays: 3,
      readings: 14,
      statsWritten: 3,
      pendingCleared: 2,
      superseded: 1,
    });
  });
});
