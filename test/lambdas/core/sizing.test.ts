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
