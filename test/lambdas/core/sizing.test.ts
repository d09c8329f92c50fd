/**
 * The sizing model against hand-computed figures (the arithmetic is in each test's comment), and its behaviour at
 * the edges: explicit shards, ParallelizationFactor, warm throughput only above the default, bad input.
 */
import { DEFAULT_EVENT_SOURCE, FLEET_KEYS, PRICES, SIZING } from '../../../lambdas/config';
import { ConfigError } from '../../../lambdas/core/errors';
import { planFleet } from '../../../lambdas/core/sizing';

const byName = (plan: ReturnType<typeof planFleet>, name: string) => plan.dynamodb.tables.find((t) => (t.index ?? t.table) === name)!;
const keyOf = (plan: ReturnType<typeof planFleet>, prefix: string) => plan.dynamodb.keys.find((k) => k.key.startsWith(prefix))!;

// Each test plans its fleet itself: a plan computed in the describe body runs before Stryker activates a mutant's
// tests, so the mutation run would credit none of these tests with covering (and killing) anything.
describe('planFleet at 1,000,000 pumps every 60 s (the issue\'s scale numbers)', () => {
  const fleet = () => planFleet({ pumps: 1_000_000, intervalSeconds: 60 });

  it('offers 16,667 readings/s and 838,333 B/s', () => {
    const plan = fleet();
    expect(plan.load.readingsPerSecond).toBeCloseTo(16_666.667, 2);
    expect(plan.load.bytesPerSecond).toBeCloseTo(16_666.667 * 50.3, 0);
  });

  it('needs 1 shard by bytes (838,333 B/s < 1 MiB/s) and 1 by records (KPL packing: ~13 records/s)', () => {
    const plan = fleet();
    expect(plan.shards.byBytes).toBe(1);
    expect(plan.shards.byRecords).toBe(1);
  });

  it('needs 8 shards by consumer throughput, which binds', () => {
    const plan = fleet();
    // 8 shards: 2,083 readings/s each, 2,083 × 0.2 s linger = 416.7 readings/record; 100 records (6 MB allows 221)
    // = 41,667 readings; ⌈41,667 / (25 × 8)⌉ = 209 write rounds × 10 ms + 41,667 × 0.262 ms = 13,007 ms
    // → 3,203 readings/s, 70 % of it = 2,242 ≥ 2,083. With 7 shards 2,381 readings/s each > 2,242.
    expect(plan.shards.fullBatch.records).toBe(100);
    expect(plan.shards.fullBatch.readings).toBeCloseTo(41_666.67, 1);
    expect(plan.shards.fullBatch.invocationMs).toBeCloseTo(41_666.667 * 0.262 + 2_090, 1);
    expect(plan.shards.byConsumer).toBe(8);
    expect(plan.shards.needed).toBe(8);
    expect(plan.shards.binding).toBe('consumer');
    expect(plan.lambda.consumerConcurrency).toBe(8);
  });

  it('puts 588 writes/s on a day-marker bucket at midnight: 16,667 / 32 + 3σ of the hash spread', () => {
    const plan = fleet();
    // 520.83 + 3 × √(520.83 × 31/32) = 520.83 + 67.39 = 588.2, 59 % of 1,000.
    const day = keyOf(plan, 'DAY#');
    expect(day.unitsPerSecond).toBeCloseTo(588.2, 1);
    expect(day.limit).toBe(FLEET_KEYS.partitionWriteUnitsPerSecond);
    expect(day.utilisation).toBeCloseTo(0.588, 3);
  });

  it('puts 73 writes/s on an alertsByDay bucket in a 10 % alert storm', () => {
    const plan = fleet();
    // 1,666.7 / 32 = 52.08 + 3 × √(52.08 × 31/32) = 52.08 + 21.31 = 73.39
    expect(keyOf(plan, 'alertsByDay').unitsPerSecond).toBeCloseTo(73.39, 2);
  });

  it('warms the readings and catalog tables to 20,000 WCU/s (16,667 × 1.2, rounded up to 1,000)', () => {
    const plan = fleet();
    expect(byName(plan, 'readings').warmThroughput).toEqual({ writeUnitsPerSecond: 20_000 });
    expect(byName(plan, 'catalog').warmThroughput).toEqual({ writeUnitsPerSecond: 20_000 });
    expect(byName(plan, 'alertsByDay').warmThroughput).toBeUndefined(); // 1,667 < 4,000
  });

  it('runs 10 rollup workers (the maximum; 12 would finish within the hour)', () => {
    const plan = fleet();
    // 1.44e9 readings × 0.0286 ms = 41,184 s; / 3,600 s → 12 workers; with 10: 68.6 min.
    expect(plan.lambda.rollupWorkersNeeded).toBe(12);
    expect(plan.lambda.rollupWorkers).toBe(10);
    expect(plan.lambda.rollupMinutes).toBeCloseTo(68.64, 2);
  });

  it('prices 8 shards for a month at $87.60 and the readings writes at $0.625 per million', () => {
    const plan = fleet();
    const line = (item: string) => plan.monthly.lines.find((l) => l.item === item)!;
    expect(line('Kinesis shard-hours').usd).toBeCloseTo(8 * 730 * PRICES.kinesis.shardHour, 6);
    // readings: 16,667 + 2 × 3.1 % alert-index writes per second, for 2,628,000 s.
    const wru = 16_666.667 * (1 + 2 * SIZING.alertShare) * 2_628_000;
    expect(line('DynamoDB writes: readings').quantity).toBeCloseTo(wru, -4);
    expect(plan.monthly.totalUsd).toBeCloseTo(plan.monthly.lines.reduce((n, l) => n + l.usd, 0), 6);
  });
});

describe('planFleet at 10,000 pumps every 5 minutes', () => {
  const fleet = () => planFleet({ pumps: 10_000, intervalSeconds: 300, retentionDays: 90 });

  it('packs 6.7 readings per record (33.3 readings/s × 0.2 s) and needs one shard', () => {
    const plan = fleet();
    expect(plan.load.readingsPerRecord).toBeCloseTo(6.667, 3);
    expect(plan.load.recordsPerSecond).toBeCloseTo(5, 6);
    expect(plan.shards.needed).toBe(1);
  });

  it('sets no warm throughput anywhere: every peak is under a new table\'s 4,000 / 12,000', () => {
    const plan = fleet();
    expect(plan.dynamodb.tables.filter((t) => t.warmThroughput !== undefined)).toEqual([]);
  });

  it('stores 90 days of readings: 2,880,000 readings/day × (118 + 100) B × 90', () => {
    const plan = fleet();
    expect(byName(plan, 'readings').storageGb).toBeCloseTo((2_880_000 * 218 * 90) / 1e9, 6);
    expect(plan.monthly.storageDays).toBe(90);
  });
});

describe('planFleet inputs', () => {
  it('deploys explicit shards instead of the needed ones and prices them', () => {
    const plan = planFleet({ pumps: 1_000_000, shards: 20 });
    expect(plan.shards.needed).toBe(8);
    expect(plan.shards.deployed).toBe(20);
    expect(plan.lambda.consumerConcurrency).toBe(20);
    expect(plan.monthly.lines[0]!.quantity).toBe(20 * 730);
  });

  it('gains no consumers from a ParallelizationFactor: records are keyed by shard id', () => {
    const ten = planFleet({ pumps: 1_000_000, eventSource: { ...DEFAULT_EVENT_SOURCE, parallelizationFactor: 10 } });
    expect(ten.shards.parallelizationFactor).toEqual({ configured: 10, effective: 1 });
    expect(ten.shards.needed).toBe(8);
    expect(ten.lambda.consumerConcurrency).toBe(8);
  });

  it('processes fewer readings per shard with a batch of one record (a write round trip per 416 readings)', () => {
    // 416.7 readings: ⌈416.7 / 200⌉ = 3 rounds × 10 ms + 109.2 ms = 139.2 ms → 2,994 readings/s (3,203 with 100).
    const small = planFleet({ pumps: 1_000_000, eventSource: { ...DEFAULT_EVENT_SOURCE, batchSize: 1 } });
    expect(small.shards.consumerReadingsPerSecond).toBeCloseTo(416.667 / 0.139167, 0);
    expect(planFleet({ pumps: 3_000_000, eventSource: { ...DEFAULT_EVENT_SOURCE, batchSize: 1 } }).shards.byConsumer).toBeGreaterThan(planFleet({ pumps: 3_000_000 }).shards.byConsumer);
  });

  it('plans with measured figures given as assumptions (the benchmark\'s check)', () => {
    // Twice the consumer time per reading, at 14 shards: 1,190.5 readings/s each, 238.1 per record, 23,810 per batch,
    // 120 write rounds → 23,810 × 0.524 + 1,200 = 13,676 ms → 1,741 readings/s, 70 % = 1,219 ≥ 1,190.5.
    // At 13 shards 1,282 readings/s each exceed the same 1,219.
    const slow = planFleet({ pumps: 1_000_000, assumptions: { consumerMsPerReading: 2 * SIZING.consumerMsPerReading } });
    expect(slow.shards.byConsumer).toBe(14);
    expect(planFleet({ pumps: 1_000_000, assumptions: { readingItemBytes: 1_500 } }).dynamodb.tables[0]!.writeUnitsPerSecond).toBeCloseTo(2 * 16_666.667, 2);
  });

  it('finds the alarm last-seen items over the limit with 16 buckets and under it with the default 32', () => {
    // 16,666.7 / 16 = 1,041.67 + 3 × √(1,041.67 × 15/16) = 1,041.67 + 93.75 = 1,135.42
    const sixteen = keyOf(planFleet({ pumps: 1_000_000, alarmBuckets: 16 }), 'B#');
    expect(sixteen.unitsPerSecond).toBeCloseTo(1_135.42, 2);
    expect(sixteen.utilisation).toBeGreaterThan(1);
    expect(keyOf(planFleet({ pumps: 1_000_000 }), 'B#').utilisation).toBeCloseTo(0.588, 3);
  });

  it('spreads a key over more buckets with more buckets', () => {
    expect(keyOf(planFleet({ pumps: 1_000_000, buckets: 64 }), 'DAY#').unitsPerSecond).toBeLessThan(keyOf(planFleet({ pumps: 1_000_000 }), 'DAY#').unitsPerSecond / 1.8);
  });

  it.each([
    [{ pumps: 0 }, 'pumps must be an integer 1–100000000, got 0'],
    [{ pumps: 1.5 }, 'pumps must be an integer 1–100000000, got 1.5'],
    [{ pumps: 10, intervalSeconds: 0 }, 'interval (seconds) must be a number 1–86400, got 0'],
    [{ pumps: 10, alertShare: 2 }, 'alert share must be a number 0–1, got 2'],
    [{ pumps: 10, retentionDays: -1 }, 'retention days must be an integer 0–36500, got -1'],
    [{ pumps: 10, shards: 0 }, 'shards must be an integer 1–100000, got 0'],
  ])('refuses %j with a ConfigError naming the input', (input, message) => {
    expect(() => planFleet(input)).toThrow(ConfigError);
    expect(() => planFleet(input)).toThrow(message);
  });
});

/**
 * `expected` with every number replaced by a matcher that takes it within 1e-9 (relative): the same arithmetic in
 * another order may differ in the last bits, a changed formula does not.
 */
function near(expected: unknown): unknown {
  if (typeof expected === 'number') {
    return {
      $$typeof: Symbol.for('jest.asymmetricMatcher'),
      asymmetricMatch: (actual: unknown) => typeof actual === 'number' && Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)),
      toAsymmetricMatcher: () => `≈ ${expected}`,
    };
  }
  if (Array.isArray(expected)) return expected.map(near);
  if (expected !== null && typeof expected === 'object') return Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, near(v)]));
  return expected;
}

/** The per-key peaks of a plan with 32 buckets, in the plan's order, given their units per second. */
function keysWith(units: { midnight: number; days: number; alerts: number; stats: number; pumpWrite: number; pumpDayRead: number }) {
  const write = (key: string, table: string, scenario: string, unitsPerSecond: number) => ({ key, table, scenario, kind: 'write', unitsPerSecond, limit: 1_000, utilisation: unitsPerSecond / 1_000 });
  return [
    write('DAY#<day>#<b> (32)', 'catalog', "midnight: every pump's first reading within one interval", units.midnight),
    write('PENDING#<b> (32)', 'catalog', 'backfill of every pump within one interval', units.midnight),
    write('PUMPS#<b> (32)', 'catalog', 'every consumer container cold within one interval', units.midnight),
    write('DAYS', 'catalog', 'midnight: each consumer container writes the day once (unsharded)', units.days),
    write('alertsByDay <day>#<b> (32)', 'readings', 'alert storm', units.alerts),
    write('statsByDate <day>#<b> (32)', 'stats', 'daily rollup', units.stats),
    write('B#<b> (32)', 'alarms', 'first start of the fleet (every last-seen item within one interval)', units.midnight),
    write('openAlarms O#<b> (32)', 'alarms', 'alert storm (alarms raised)', units.alerts),
    write('PUMP#<day>', 'readings', "steady: one pump's readings", units.pumpWrite),
    { key: 'PUMP#<day>', table: 'readings', scenario: 'rollup reads a pump-day in one second (strongly consistent)', kind: 'read', unitsPerSecond: units.pumpDayRead, limit: 3_000, utilisation: units.pumpDayRead / 3_000 },
  ];
}

/** Monthly lines in the plan's order: [quantity, usd per unit] each, priced with PRICES (us-east-1, 2026-11-24). */
function linesWith(storageDays: number, q: { shardHours: number; putUnits: number; requests: number; consumerGbS: number; rollupGbS: number; writes: [number, number, number, number]; reads: number; storageGb: number }) {
  const line = (item: string, quantity: number, unit: string, usdPerUnit: number) => ({ item, quantity, unit, usd: quantity * usdPerUnit });
  return [
    line('Kinesis shard-hours', q.shardHours, 'shard-h', 0.015),
    line('Kinesis PUT payload units', q.putUnits, 'units', 0.014 / 1e6),
    line('Lambda consumer requests', q.requests, 'requests', 0.2 / 1e6),
    line('Lambda consumer duration', q.consumerGbS, 'GB-s', 0.0000133334),
    line('Lambda rollup duration', q.rollupGbS, 'GB-s', 0.0000133334),
    line('DynamoDB writes: readings', q.writes[0], 'WRU', 0.625 / 1e6),
    line('DynamoDB writes: stats', q.writes[1], 'WRU', 0.625 / 1e6),
    line('DynamoDB writes: catalog', q.writes[2], 'WRU', 0.625 / 1e6),
    line('DynamoDB writes: alarms', q.writes[3], 'WRU', 0.625 / 1e6),
    line('DynamoDB reads (rollup, alarms)', q.reads, 'RRU', 0.125 / 1e6),
    line(`DynamoDB storage (${storageDays} days)`, q.storageGb, 'GB-month', 0.25),
  ];
}

const sum = (xs: { usd: number }[]) => xs.reduce((n, x) => n + x.usd, 0);

describe('planFleet: every figure of a plan, computed by hand from the formulas and config.ts', () => {
  // Month: 730 h = 2,628,000 s. Lambda GB-s: readings/s × 2,628,000 × ms ÷ 1,000 × 0.5 GB (512 MB). Items: 118 B
  // reading (1 WRU, 118/4096 RCU), 300 B stats (1 WRU), 40 B catalog, +100 B overhead each when stored.
  it('plans 1,000,000 pumps every 60 s: 8 consumer-bound shards, 10 of 12 rollup workers, warm readings, stats, catalog and alarms', () => {
    const rate = 1_000_000 / 60; // 16,666.7 readings/s
    // The rollup's 10 workers: a pump-day is 1,440 readings × 0.0286 ms = 41.18 ms → 242.81 pump-days/s.
    const pumpDaysPerSecond = 10 / (1_440 * 0.0286e-3);
    const storm = 0.1 * rate; // 10 % of the fleet alerting (above the 3.1 % steady share)
    const tables = [
      { table: 'readings', writeUnitsPerSecond: rate, peakWriteUnitsPerSecond: rate, peakWriteWhen: 'steady (every reading)', readUnitsPerSecond: (rate * 118) / 4_096, peakReadUnitsPerSecond: pumpDaysPerSecond * 1_440 * (118 / 4_096), storageGb: 114_580.8, warmThroughput: { writeUnitsPerSecond: 20_000 } }, // 1.44e9 × 218 B × 365 d; ⌈16,667 × 1.2 / 1,000⌉ × 1,000; reads 10,073 < 12,000
      { table: 'readings', index: 'alertsByDay', writeUnitsPerSecond: rate * 0.031, peakWriteUnitsPerSecond: storm, peakWriteWhen: 'alert storm (10 % of the fleet)', readUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, storageGb: 3_552.0048 }, // 1,667 < 4,000: no warm throughput
      { table: 'readings', index: 'alertsByPump', writeUnitsPerSecond: rate * 0.031, peakWriteUnitsPerSecond: storm, peakWriteWhen: 'alert storm (10 % of the fleet)', readUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, storageGb: 3_552.0048 },
      { table: 'stats', writeUnitsPerSecond: 25e6 / 86_400, peakWriteUnitsPerSecond: pumpDaysPerSecond * 25, peakWriteWhen: 'daily rollup (10 workers)', readUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, storageGb: 3_650, warmThroughput: { writeUnitsPerSecond: 8_000 } }, // 6,070 × 1.2 = 7,284 → 8,000; 25e6 × 400 B × 365
      { table: 'stats', index: 'statsByDate', writeUnitsPerSecond: 1e6 / 86_400, peakWriteUnitsPerSecond: pumpDaysPerSecond, peakWriteWhen: 'daily rollup (10 workers)', readUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, storageGb: 146 },
      { table: 'catalog', writeUnitsPerSecond: 2e6 / 86_400, peakWriteUnitsPerSecond: rate, peakWriteWhen: 'midnight (day markers)', readUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, storageGb: 102.2, warmThroughput: { writeUnitsPerSecond: 20_000 } }, // 2e6 × 140 B × 365
      { table: 'alarms', writeUnitsPerSecond: rate * 0.0962, peakWriteUnitsPerSecond: 8_270, peakWriteWhen: 'alert storm (alarms raised)', readUnitsPerSecond: 170, peakReadUnitsPerSecond: 170, storageGb: 0, warmThroughput: { writeUnitsPerSecond: 10_000 } }, // 1,603.3 + 1,666.7 × 4 WRU; 8,270 × 1.2 → 10,000
    ];
    const perBucket = (total: number) => total / 32 + 3 * Math.sqrt((total / 32) * (31 / 32));
    const storageGb = 114_580.8 + 2 * 3_552.0048 + 3_650 + 146 + 102.2;
    const lines = linesWith(365, {
      shardHours: 8 * 730,
      putUnits: 40 * 1 * 2_628_000, // 40 records/s of 416.7 × 50.3 B = 20,958 B: one 25 KiB unit each
      requests: 8 * 2_628_000, // 5 records per shard arrive per 1 s poll: 8 invocations/s
      consumerGbS: rate * 2_628_000 * 0.262e-3 * 0.5,
      rollupGbS: rate * 2_628_000 * 0.0286e-3 * 0.5,
      writes: [(rate + 2 * rate * 0.031) * 2_628_000, (25e6 / 86_400 + 1e6 / 86_400) * 2_628_000, (2e6 / 86_400) * 2_628_000, rate * 0.0962 * 2_628_000],
      reads: ((rate * 118) / 4_096 + 170) * 2_628_000,
      storageGb,
    });
    expect(planFleet({ pumps: 1_000_000, intervalSeconds: 60 })).toStrictEqual(near({
      input: { pumps: 1_000_000, intervalSeconds: 60, alertShare: 0.031, retentionDays: 0, rollupWorkers: 10, writeConcurrency: 8, producerRecordBytes: 65_536, buckets: 32, alarmBuckets: 32 },
      load: { readingsPerSecond: rate, bytesPerSecond: rate * 50.3, readingsPerRecord: (rate / 8) * 0.2, recordsPerSecond: 40 },
      shards: {
        byBytes: 1,
        byRecords: 1,
        byConsumer: 8,
        needed: 8,
        deployed: 8,
        binding: 'consumer',
        // 100 records × 416.7 = 41,666.7 readings: × 0.262 ms + ⌈41,666.7 / 200⌉ = 209 rounds × 10 ms = 13,006.7 ms
        consumerReadingsPerSecond: (41_666.666_666_666_67 / 13_006.666_666_666_67) * 1_000,
        fullBatch: { records: 100, readings: 41_666.666_666_666_67, invocationMs: 13_006.666_666_666_67 },
        parallelizationFactor: { configured: 1, effective: 1 },
      },
      // 1.44e9 readings × 0.0286 ms = 41,184 s: 12 workers for an hour, 10 allowed → 68.64 min. API: 50 req/s × 1 s.
      lambda: { consumerConcurrency: 8, consumerInvocationsPerSecond: 8, rollupWorkers: 10, rollupWorkersNeeded: 12, rollupMinutes: 68.64, apiConcurrency: 50 },
      dynamodb: {
        tables,
        keys: keysWith({ midnight: perBucket(rate), days: 8 / 60, alerts: perBucket(storm), stats: perBucket(pumpDaysPerSecond), pumpWrite: 1 / 60, pumpDayRead: 42 }), // ⌈1,440 × 118 / 4,096⌉ = 42
      },
      monthly: { lines, totalUsd: sum(lines), storageDays: 365 },
    }));
  });

  it('plans 10,000 pumps every 5 minutes kept 90 days: one shard, one rollup worker, no warm throughput', () => {
    const rate = 10_000 / 300; // 33.3 readings/s
    const pumpDaysPerSecond = 1 / (288 * 0.0286e-3); // one worker, 288 readings a pump-day
    const storm = 0.1 * rate;
    const gb = (itemsPerDay: number, bytes: number) => (itemsPerDay * (bytes + 100) * 90) / 1e9;
    const tables = [
      { table: 'readings', writeUnitsPerSecond: rate, peakWriteUnitsPerSecond: rate, peakWriteWhen: 'steady (every reading)', readUnitsPerSecond: (rate * 118) / 4_096, peakReadUnitsPerSecond: pumpDaysPerSecond * 288 * (118 / 4_096), storageGb: gb(2_880_000, 118) },
      { table: 'readings', index: 'alertsByDay', writeUnitsPerSecond: rate * 0.031, peakWriteUnitsPerSecond: storm, peakWriteWhen: 'alert storm (10 % of the fleet)', readUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, storageGb: gb(2_880_000 * 0.031, 118) },
      { table: 'readings', index: 'alertsByPump', writeUnitsPerSecond: rate * 0.031, peakWriteUnitsPerSecond: storm, peakWriteWhen: 'alert storm (10 % of the fleet)', readUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, storageGb: gb(2_880_000 * 0.031, 118) },
      { table: 'stats', writeUnitsPerSecond: 250_000 / 86_400, peakWriteUnitsPerSecond: pumpDaysPerSecond * 25, peakWriteWhen: 'daily rollup (1 worker)', readUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, storageGb: gb(250_000, 300) },
      { table: 'stats', index: 'statsByDate', writeUnitsPerSecond: 10_000 / 86_400, peakWriteUnitsPerSecond: pumpDaysPerSecond, peakWriteWhen: 'daily rollup (1 worker)', readUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, storageGb: gb(10_000, 300) },
      { table: 'catalog', writeUnitsPerSecond: 20_000 / 86_400, peakWriteUnitsPerSecond: rate, peakWriteWhen: 'midnight (day markers)', readUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, storageGb: gb(20_000, 40) },
      { table: 'alarms', writeUnitsPerSecond: rate * 0.0962, peakWriteUnitsPerSecond: rate * 0.0962 + storm * 4, peakWriteWhen: 'alert storm (alarms raised)', readUnitsPerSecond: rate * 0.0102, peakReadUnitsPerSecond: rate * 0.0102, storageGb: 0 },
    ];
    const perBucket = (total: number) => total / 32 + 3 * Math.sqrt((total / 32) * (31 / 32));
    const lines = linesWith(90, {
      shardHours: 730,
      putUnits: 5 * 2_628_000, // 5 records/s of 6.7 readings
      requests: 2_628_000, // 5 records arrive per 1 s poll: one invocation a second
      consumerGbS: rate * 2_628_000 * 0.262e-3 * 0.5,
      rollupGbS: rate * 2_628_000 * 0.0286e-3 * 0.5,
      writes: [rate * (1 + 2 * 0.031) * 2_628_000, (260_000 / 86_400) * 2_628_000, (20_000 / 86_400) * 2_628_000, rate * 0.0962 * 2_628_000],
      reads: ((rate * 118) / 4_096 + rate * 0.0102) * 2_628_000,
      storageGb: tables.reduce((n, t) => n + t.storageGb, 0),
    });
    expect(planFleet({ pumps: 10_000, intervalSeconds: 300, retentionDays: 90 })).toStrictEqual(near({
      input: { pumps: 10_000, intervalSeconds: 300, alertShare: 0.031, retentionDays: 90, rollupWorkers: 10, writeConcurrency: 8, producerRecordBytes: 65_536, buckets: 32, alarmBuckets: 32 },
      load: { readingsPerSecond: rate, bytesPerSecond: rate * 50.3, readingsPerRecord: rate * 0.2, recordsPerSecond: 5 },
      shards: {
        byBytes: 1,
        byRecords: 1,
        byConsumer: 1,
        needed: 1,
        deployed: 1,
        binding: 'consumer',
        // 100 records × 6.67 = 666.7 readings × 0.262 ms + 4 rounds × 10 ms = 214.7 ms
        consumerReadingsPerSecond: (666.666_666_666_666_7 / 214.666_666_666_666_7) * 1_000,
        fullBatch: { records: 100, readings: 666.666_666_666_666_7, invocationMs: 214.666_666_666_666_7 },
        parallelizationFactor: { configured: 1, effective: 1 },
      },
      // 2,880,000 readings × 0.0286 ms = 82.4 s: one worker, 1.37 min.
      lambda: { consumerConcurrency: 1, consumerInvocationsPerSecond: 1, rollupWorkers: 1, rollupWorkersNeeded: 1, rollupMinutes: 82.368 / 60, apiConcurrency: 50 },
      dynamodb: {
        tables,
        keys: keysWith({ midnight: perBucket(rate), days: 1 / 300, alerts: perBucket(storm), stats: perBucket(pumpDaysPerSecond), pumpWrite: 1 / 300, pumpDayRead: 9 }), // ⌈288 × 118 / 4,096⌉ = 9
      },
      monthly: { lines, totalUsd: sum(lines), storageDays: 90 },
    }));
  });
});

describe('planFleet: which limit binds the shard count, and at what point', () => {
  // A 1-byte producer record budget packs one reading per record (at least one always fits).
  it('is bound by records when every reading is its own record: 3,000 records/s is 3 shards at exactly 1,000 each', () => {
    // Consumer: 100 one-reading records = 100 × 0.262 + 1 round × 10 = 36.2 ms → 2,762 readings/s, 70 % = 1,934 ≥ 1,500.
    const plan = planFleet({ pumps: 3_000, intervalSeconds: 1, producerRecordBytes: 1 });
    expect(plan.load).toEqual({ readingsPerSecond: 3_000, bytesPerSecond: 3_000 * 50.3, readingsPerRecord: 1, recordsPerSecond: 3_000 });
    expect(plan.shards).toMatchObject({ byBytes: 1, byRecords: 3, byConsumer: 2, needed: 3, deployed: 3, binding: 'records' });
  });

  it('is bound by bytes when the consumer is fast: 100,000,000 pumps offer 83.8 MB/s, 80 shards of 1 MiB/s', () => {
    // 1,666,667 readings/s × 50.3 B = 83,833,333 B/s → ⌈79.95⌉ = 80. Records: 1,302 readings fill a 64 KiB record, so one
    // shard would take 1,280 records/s → 2 shards. Consumer at 1 µs a reading and 64 calls at once → 18 shards.
    const plan = planFleet({ pumps: 100_000_000, writeConcurrency: 64, assumptions: { consumerMsPerReading: 0.001 } });
    expect(plan.shards).toMatchObject({ byBytes: 80, byRecords: 2, byConsumer: 18, needed: 80, deployed: 80, binding: 'bytes' });
    expect(plan.load.readingsPerRecord).toBe(1_302);
  });

  // With one reading per record and 1.9 ms a reading, a full batch takes 100 × 1.9 + 10 = 200 ms: a shard's consumer
  // does 500 readings/s and the live feed may use 70 % of it, 350 readings/s (exact in binary floating point).
  const slowConsumer = { intervalSeconds: 1, producerRecordBytes: 1, assumptions: { consumerMsPerReading: 1.9 } };

  it('gives a shard exactly 70 % of its consumer\'s throughput, not less: 700 readings/s on 2 shards', () => {
    expect(planFleet({ pumps: 700, ...slowConsumer }).shards.byConsumer).toBe(2);
    expect(planFleet({ pumps: 701, ...slowConsumer }).shards.byConsumer).toBe(3);
  });

  it('plans exactly 100,000 shards and refuses a fleet that needs one more', () => {
    // One-record batches of one reading at 90 ms: 10 readings/s a shard, 7 of them usable; 700,000 readings/s need
    // 100,000 shards, 700,001 need 100,001. (Each search tries every count up to 100,000: ~0.2 s under jest.)
    const crawling = { intervalSeconds: 1, producerRecordBytes: 1, eventSource: { ...DEFAULT_EVENT_SOURCE, batchSize: 1 }, assumptions: { consumerMsPerReading: 90 } };
    expect(planFleet({ pumps: 700_000, ...crawling }).shards.byConsumer).toBe(100_000);
    expect(() => planFleet({ pumps: 700_001, ...crawling })).toThrow(new ConfigError('no shard count up to 100,000 keeps up with 700001 readings/s'));
  });
});

describe('planFleet: warm throughput and batching', () => {
  it('sets no warm throughput for a peak exactly at a new table\'s 4,000 write units', () => {
    // 240,000 pumps every 60 s: 4,000 readings/s, the readings table's and the catalog's peak.
    const plan = planFleet({ pumps: 240_000 });
    expect(byName(plan, 'readings').peakWriteUnitsPerSecond).toBe(4_000);
    expect(byName(plan, 'catalog').peakWriteUnitsPerSecond).toBe(4_000);
    expect(plan.dynamodb.tables.filter((t) => t.warmThroughput !== undefined)).toEqual([]);
  });

  it('warms reads only when only the rollup\'s reads exceed 12,000 units', () => {
    // 1 KiB readings (1 WRU, 0.25 RCU) at 3,000/s; rollup 0.0139 ms a reading: 3,603 s a day → 2 workers, each a
    // pump-day (1,440 readings) in 20.016 ms: 99.92 pump-days/s × 1,440 × 0.25 = 35,971 RCU/s → × 1.2 → 44,000.
    const plan = planFleet({ pumps: 180_000, assumptions: { readingItemBytes: 1_024, rollupMsPerReading: 0.0139 } });
    expect(byName(plan, 'readings').peakWriteUnitsPerSecond).toBe(3_000);
    expect(byName(plan, 'readings').peakReadUnitsPerSecond).toBeCloseTo((2 / (1_440 * 0.0139e-3)) * 1_440 * 0.25, 6);
    expect(byName(plan, 'readings').warmThroughput).toStrictEqual({ readUnitsPerSecond: 44_000 });
  });

  it('warms both writes and reads when both peaks exceed the defaults', () => {
    // As above at 1,000,000 pumps: 16,667 WRU/s → 20,000; 6 workers → 107,914 RCU/s → 130,000.
    const plan = planFleet({ pumps: 1_000_000, assumptions: { readingItemBytes: 1_024, rollupMsPerReading: 0.0139 } });
    expect(byName(plan, 'readings').warmThroughput).toStrictEqual({ writeUnitsPerSecond: 20_000, readUnitsPerSecond: 130_000 });
  });

  it('invokes once per full batch with a batching window long enough to fill it', () => {
    // 1,000,000 pumps: 5 records/s per shard; a 300 s window would gather 1,500, a batch takes 100 → 40 / 100 = 0.4/s.
    const plan = planFleet({ pumps: 1_000_000, eventSource: { ...DEFAULT_EVENT_SOURCE, maxBatchingWindowSeconds: 300 } });
    expect(plan.lambda.consumerInvocationsPerSecond).toBeCloseTo(0.4, 9);
    // A 3 s window gathers 15 records a shard: 40 / 15 invocations/s.
    expect(planFleet({ pumps: 1_000_000, eventSource: { ...DEFAULT_EVENT_SOURCE, maxBatchingWindowSeconds: 3 } }).lambda.consumerInvocationsPerSecond).toBeCloseTo(40 / 15, 9);
  });

  it('sizes the alert storm by the steady alert share when it is above the storm share', () => {
    const plan = planFleet({ pumps: 1_000_000, alertShare: 0.25 });
    expect(byName(plan, 'alertsByDay')).toMatchObject({ peakWriteUnitsPerSecond: (0.25 * 1_000_000) / 60, peakWriteWhen: 'alert storm (25 % of the fleet)' });
    expect(byName(plan, 'alarms').peakWriteUnitsPerSecond).toBeCloseTo((1_000_000 / 60) * (0.0962 + 0.25 * 4), 6);
  });
});

describe('planFleet: write units of items over 1 KB', () => {
  it('counts one write unit per started KB of a reading (1,500 B: 2) and of a stats item (2,100 B: 3)', () => {
    const plan = planFleet({ pumps: 1_000_000, assumptions: { readingItemBytes: 1_500, statsItemBytes: 2_100 } });
    const rate = 1_000_000 / 60;
    const storm = 0.1 * rate;
    const pumpDaysPerSecond = 10 / (1_440 * 0.0286e-3); // the rollup's pace does not depend on item sizes
    expect(byName(plan, 'readings')).toMatchObject({ writeUnitsPerSecond: 2 * rate, peakWriteUnitsPerSecond: 2 * rate });
    expect(byName(plan, 'alertsByDay').writeUnitsPerSecond).toBeCloseTo(2 * rate * 0.031, 9);
    expect(byName(plan, 'alertsByDay').peakWriteUnitsPerSecond).toBeCloseTo(2 * storm, 9);
    expect(byName(plan, 'stats').writeUnitsPerSecond).toBeCloseTo((3 * 25 * 1_000_000) / 86_400, 9);
    expect(byName(plan, 'stats').peakWriteUnitsPerSecond).toBeCloseTo(3 * 25 * pumpDaysPerSecond, 9);
    expect(byName(plan, 'statsByDate').writeUnitsPerSecond).toBeCloseTo((3 * 1_000_000) / 86_400, 9);
    expect(byName(plan, 'statsByDate').peakWriteUnitsPerSecond).toBeCloseTo(3 * pumpDaysPerSecond, 9);
    const perBucket = (total: number) => total / 32 + 3 * Math.sqrt((total / 32) * (31 / 32));
    expect(keyOf(plan, 'alertsByDay').unitsPerSecond).toBeCloseTo(2 * perBucket(storm), 9);
    expect(keyOf(plan, 'statsByDate').unitsPerSecond).toBeCloseTo(3 * perBucket(pumpDaysPerSecond), 9);
    expect(plan.dynamodb.keys.find((k) => k.key === 'PUMP#<day>' && k.kind === 'write')!.unitsPerSecond).toBeCloseTo(2 / 60, 12);
  });
});

describe('planFleet: the Kinesis PUT bill', () => {
  it('charges a PUT payload unit per started 25 KiB of a record: full 64 KiB records take 3', () => {
    // 1,000,000 pumps on 1 shard: 3,333 readings in a 200 ms linger, so the 65,536 B budget seals records at 1,302
    // readings (65,491 B: ⌈2.56⌉ = 3 units); 16,666.7 / 1,302 = 12.8 records/s.
    const plan = planFleet({ pumps: 1_000_000, shards: 1 });
    expect(plan.load.readingsPerRecord).toBe(1_302);
    const put = plan.monthly.lines.find((l) => l.item === 'Kinesis PUT payload units')!;
    expect(put.quantity).toBeCloseTo((1_000_000 / 60 / 1_302) * 3 * 2_628_000, 3);
    expect(put.usd).toBeCloseTo(((1_000_000 / 60 / 1_302) * 3 * 2_628_000 * 0.014) / 1e6, 9);
  });
});

describe('planFleet input ranges', () => {
  it('accepts every input at both ends of its range', () => {
    expect(() => planFleet({ pumps: 1, intervalSeconds: 1, alertShare: 0, retentionDays: 0, rollupWorkers: 1, shards: 1 })).not.toThrow();
    expect(() => planFleet({ pumps: 100_000_000, intervalSeconds: 86_400, alertShare: 1, retentionDays: 36_500, rollupWorkers: 10_000, shards: 100_000 })).not.toThrow();
  });

  it('lists explicit shards in the plan\'s input and leaves them out otherwise', () => {
    expect(planFleet({ pumps: 10, shards: 3 }).input.shards).toBe(3);
    expect(Object.keys(planFleet({ pumps: 10 }).input)).not.toContain('shards');
  });

  it.each([
    [{ pumps: 10, rollupWorkers: 0 }, 'rollup workers must be an integer 1–10000, got 0'],
    [{ pumps: 10, rollupWorkers: 2.5 }, 'rollup workers must be an integer 1–10000, got 2.5'],
    [{ pumps: 10, rollupWorkers: 10_001 }, 'rollup workers must be an integer 1–10000, got 10001'],
  ])('refuses %j with a ConfigError naming the input', (input, message) => {
    expect(() => planFleet(input)).toThrow(new ConfigError(message));
  });
});
