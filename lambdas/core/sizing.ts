/**
 * The sizing model: shards, Lambda concurrency, DynamoDB units, per-key peaks, warm throughput, storage and the
 * monthly bill of a fleet, from the fleet's size and report interval.
 *
 * One model for `wellwatch plan` and for `cdk synth -c wellwatch:pumps=N` (shard count and warm throughput), so the
 * command and the stack cannot disagree. Pure: every constant comes from `lambdas/config.ts` (prices, service
 * limits, the measured figures in SIZING, the event-source settings, the fleet-key buckets); the benchmark
 * re-measures the SIZING figures (`npm run bench -- --only plan`). A shard's packing and consumer throughput are in
 * shard-throughput.ts.
 */
import {
  DEFAULT_EVENT_SOURCE,
  FLEET_KEYS,
  loadConfig,
  PRICES,
  SERVICE_LIMITS,
  SIZING,
  type EventSourceSettings,
} from '../config';
import { ConfigError } from './errors';
import { readingsPerRecord, shardConsumer } from './shard-throughput';

/** What a plan is computed from. */
export interface PlanInput {
  /** Pumps in the fleet (1 – 100,000,000). */
  readonly pumps: number;
  /** Seconds between two readings of a pump. @default SIZING.defaultIntervalSeconds (60) */
  readonly intervalSeconds?: number;
  /** Share of readings that alert in steady state, 0–1. @default SIZING.alertShare */
  readonly alertShare?: number;
  /** Days readings and stats are kept; 0 keeps them (storage shown after SIZING.unboundedRetentionDays). @default 0 */
  readonly retentionDays?: number;
  /** Shards to deploy instead of the ones needed (the stack's explicit `wellwatch:shards`). @default - the shards needed */
  readonly shards?: number;
  /** Most rollup workers at once (the fan-out's maximum concurrency). @default SIZING.rollupWorkers */
  readonly rollupWorkers?: number;
  /** Event-source settings. @default DEFAULT_EVENT_SOURCE */
  readonly eventSource?: EventSourceSettings;
  /** DynamoDB calls the consumer runs at once per invocation. @default - `writeConcurrency`'s default (8) */
  readonly writeConcurrency?: number;
  /** Record budget of the producer, bytes. @default - `producerRecordBytes`' default (65536) */
  readonly producerRecordBytes?: number;
  /** Write-sharding buckets of the fleet-wide keys. @default FLEET_KEYS.buckets */
  readonly buckets?: number;
  /** Buckets of the alarm table's per-pump items and indexes. @default - the alarm settings' default (FLEET_KEYS.buckets) */
  readonly alarmBuckets?: number;
  /** Measured figures to plan with instead of SIZING's (the benchmark plans with its own measurements). @default SIZING */
  readonly assumptions?: Partial<Assumptions>;
}

/** The measured figures of SIZING a plan can be computed with. */
export interface Assumptions {
  readonly bytesPerReading: number;
  readonly consumerMsPerReading: number;
  readonly rollupMsPerReading: number;
  readonly readingItemBytes: number;
  readonly statsItemBytes: number;
  readonly statsItemsPerPumpDay: number;
  readonly catalogWritesPerPumpDay: number;
}

/** Read and write units per second of one table or index. */
export interface TableUnits {
  readonly table: 'readings' | 'stats' | 'catalog' | 'alarms';
  /** GSI name; absent for the table itself. */
  readonly index?: string;
  /** Mean write units per second over a day. */
  readonly writeUnitsPerSecond: number;
  /** Highest write units per second the model expects, and when. */
  readonly peakWriteUnitsPerSecond: number;
  readonly peakWriteWhen: string;
  readonly readUnitsPerSecond: number;
  readonly peakReadUnitsPerSecond: number;
  /** Warm throughput to set (only above the default a new on-demand table starts with). */
  readonly warmThroughput?: { readonly writeUnitsPerSecond?: number; readonly readUnitsPerSecond?: number };
  /** Stored GB at the retention. */
  readonly storageGb: number;
}

/** The worst rate on one partition key. */
export interface KeyPeak {
  readonly key: string;
  readonly table: string;
  readonly scenario: string;
  readonly kind: 'write' | 'read';
  readonly unitsPerSecond: number;
  /** DynamoDB's per-partition limit: FLEET_KEYS.partitionWriteUnitsPerSecond or partitionReadUnitsPerSecond. */
  readonly limit: number;
  /** unitsPerSecond ÷ limit. */
  readonly utilisation: number;
}

/** One priced line of the monthly bill. */
export interface MonthlyLine {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

/** A fleet's plan. */
export interface FleetPlan {
  readonly input: Required<Omit<PlanInput, 'shards' | 'eventSource' | 'assumptions'>> & { readonly shards?: number };
  readonly load: {
    readonly readingsPerSecond: number;
    readonly bytesPerSecond: number;
    /** Readings per Kinesis record the producer packs at this load (per shard, within its linger). */
    readonly readingsPerRecord: number;
    readonly recordsPerSecond: number;
  };
  readonly shards: {
    readonly byBytes: number;
    readonly byRecords: number;
    readonly byConsumer: number;
    /** max of the three. */
    readonly needed: number;
    /** What to deploy: the explicit `shards` if given, else `needed`. */
    readonly deployed: number;
    readonly binding: 'bytes' | 'records' | 'consumer';
    /** Readings/s one shard's consumer processes with full batches. */
    readonly consumerReadingsPerSecond: number;
    /** A full batch: records, readings and modelled invocation time. */
    readonly fullBatch: { readonly records: number; readonly readings: number; readonly invocationMs: number };
    /** Configured ParallelizationFactor and the one that takes effect (records are keyed by shard id). */
    readonly parallelizationFactor: { readonly configured: number; readonly effective: number };
  };
  readonly lambda: {
    readonly consumerConcurrency: number;
    readonly consumerInvocationsPerSecond: number;
    /** Rollup workers to run: the ones needed to roll a day up within SIZING.rollupWindowMinutes, at most the maximum. */
    readonly rollupWorkers: number;
    /** Workers needed to roll a day up within SIZING.rollupWindowMinutes. */
    readonly rollupWorkersNeeded: number;
    /** Minutes the daily rollup takes with `rollupWorkers`. */
    readonly rollupMinutes: number;
    readonly apiConcurrency: number;
  };
  readonly dynamodb: { readonly tables: TableUnits[]; readonly keys: KeyPeak[] };
  readonly monthly: { readonly lines: MonthlyLine[]; readonly totalUsd: number; readonly storageDays: number };
}

const DAY_SECONDS = 86_400;

function check(name: string, value: number, min: number, max: number, int: boolean): void {
  if (!Number.isFinite(value) || value < min || value > max || (int && !Number.isInteger(value))) {
    throw new ConfigError(`${name} must be ${int ? 'an integer' : 'a number'} ${min}–${max}, got ${value}`);
  }
}

/** Write units of one item of `bytes`. */
const wru = (bytes: number): number => Math.ceil(bytes / SERVICE_LIMITS.dynamoWriteUnitBytes);

/** Warm throughput to set for a peak: only above the on-demand default, with headroom, rounded up to 1,000. */
function warmFor(peak: number, defaultUnits: number): number | undefined {
  if (peak <= defaultUnits) return undefined;
  return Math.ceil((peak * SIZING.warmHeadroom) / 1000) * 1000;
}

/**
 * Plans a fleet: shards (by bytes, by records, by consumer throughput), Lambda concurrency, DynamoDB units per
 * table and index, the worst per-key rates against DynamoDB's partition limits, warm throughput, storage and the
 * monthly bill.
 *
 * @throws ConfigError naming the input that is out of range.
 * @example
 * const plan = planFleet({ pumps: 1_000_000, intervalSeconds: 60 });
 * plan.shards.needed; // shards to deploy
 */
export function planFleet(input: PlanInput): FleetPlan {
  const pumps = input.pumps;
  const interval = input.intervalSeconds ?? SIZING.defaultIntervalSeconds;
  const alertShare = input.alertShare ?? SIZING.alertShare;
  const retentionDays = input.retentionDays ?? 0;
  const rollupWorkers = input.rollupWorkers ?? SIZING.rollupWorkers;
  const es = input.eventSource ?? DEFAULT_EVENT_SOURCE;
  // The configuration's own defaults, the environment ignored: a plan describes the defaults, not this shell.
  const defaults = loadConfig({}, {});
  const writeConcurrency = input.writeConcurrency ?? defaults.writeConcurrency;
  const recordBytes = input.producerRecordBytes ?? defaults.producerRecordBytes;
  const buckets = input.buckets ?? FLEET_KEYS.buckets;
  const alarmBuckets = input.alarmBuckets ?? defaults.alarms.buckets;
  const A: Assumptions = { ...SIZING, ...input.assumptions };
  check('pumps', pumps, 1, 100_000_000, true);
  check('interval (seconds)', interval, 1, DAY_SECONDS, false);
  check('alert share', alertShare, 0, 1, false);
  check('retention days', retentionDays, 0, 36_500, true);
  check('rollup workers', rollupWorkers, 1, 10_000, true);
  if (input.shards !== undefined) check('shards', input.shards, 1, 100_000, true);

  // Load.
  const rate = pumps / interval;
  const bytesPerSecond = rate * A.bytesPerReading;

  // Shards. ParallelizationFactor splits a shard's records by partition key; `push` keys every record of a shard
  // with the shard id (KPL-style packing), so one shard is one key and one consumer at a time.
  const effectivePf = 1;
  const byBytes = Math.max(1, Math.ceil(bytesPerSecond / SERVICE_LIMITS.kinesisShardBytesPerSecond));
  const recordsPerShardSecond = (s: number) => rate / s / readingsPerRecord(rate / s, recordBytes, A.bytesPerReading);
  let byRecords = 1;
  while (recordsPerShardSecond(byRecords) > SERVICE_LIMITS.kinesisShardRecordsPerSecond) byRecords++;
  const consumerAt = (s: number) => shardConsumer(readingsPerRecord(rate / s, recordBytes, A.bytesPerReading), es.batchSize, writeConcurrency, A);
  let byConsumer = 1;
  while (rate / byConsumer > consumerAt(byConsumer).readingsPerSecond * effectivePf * SIZING.consumerUtilisation) {
    byConsumer++;
    if (byConsumer > 100_000) throw new ConfigError(`no shard count up to 100,000 keeps up with ${rate} readings/s`);
  }
  const needed = Math.max(byBytes, byRecords, byConsumer);
  const binding = needed === byConsumer ? 'consumer' : needed === byBytes ? 'bytes' : 'records';
  const shards = input.shards ?? needed;
  const rpr = readingsPerRecord(rate / shards, recordBytes, A.bytesPerReading);
  const recordsPerSecond = rate / rpr;
  const full = consumerAt(shards);

  // Lambda. Without a batching window a shard's batch is what arrived since the last poll (at least one a second).
  const gather = Math.max(es.maxBatchingWindowSeconds, SERVICE_LIMITS.lambdaBasePollSeconds);
  const recordsPerInvocation = Math.max(1, Math.min(full.records, (recordsPerSecond / shards) * gather));
  const invocationsPerSecond = recordsPerSecond / recordsPerInvocation;
  const readingsPerDay = rate * DAY_SECONDS;
  const rollupSeconds = (readingsPerDay * A.rollupMsPerReading) / 1000;
  const rollupWorkersNeeded = Math.max(1, Math.ceil(rollupSeconds / (SIZING.rollupWindowMinutes * 60)));
  const workers = Math.min(rollupWorkers, rollupWorkersNeeded);
  const rollupMinutes = rollupSeconds / workers / 60;
  const apiConcurrency = Math.ceil((SIZING.apiRequestsPerSecond * SIZING.apiMsPerRequest) / 1000);

  // DynamoDB. A pump-day is rolled up in readingsPerPumpDay × rollupMsPerReading; the workers together roll up
  // pumpDaysPerSecond while the daily run lasts.
  const pumpDaysPerDay = pumps;
  const readingsPerPumpDay = DAY_SECONDS / interval;
  const rollupPumpDaysPerSecond = Math.min(pumps, workers / ((readingsPerPumpDay * A.rollupMsPerReading) / 1000));
  const readingWru = wru(A.readingItemBytes);
  const statsWru = wru(A.statsItemBytes);
  const rollupRcuPerReading = A.readingItemBytes / SERVICE_LIMITS.dynamoReadUnitBytes; // strongly consistent Query
  const midnight = pumps / interval; // every pump's first reading of the day within one interval
  const storm = Math.max(alertShare, SIZING.alertStormShare) * pumps / interval;
  const storageDays = retentionDays === 0 ? SIZING.unboundedRetentionDays : retentionDays;
  const gb = (items: number, bytes: number) => (items * (bytes + SERVICE_LIMITS.dynamoItemOverheadBytes) * storageDays) / 1e9;

  const table = (t: Omit<TableUnits, 'warmThroughput'>): TableUnits => {
    const write = warmFor(t.peakWriteUnitsPerSecond, SERVICE_LIMITS.dynamoWarmWriteUnitsPerSecond);
    const read = warmFor(t.peakReadUnitsPerSecond, SERVICE_LIMITS.dynamoWarmReadUnitsPerSecond);
    const warm = write === undefined && read === undefined ? {} : { warmThroughput: { ...(write ? { writeUnitsPerSecond: write } : {}), ...(read ? { readUnitsPerSecond: read } : {}) } };
    return { ...t, ...warm };
  };
  const alertIndex = (index: string): TableUnits =>
    table({
      table: 'readings',
      index,
      writeUnitsPerSecond: rate * alertShare * readingWru,
      peakWriteUnitsPerSecond: storm * readingWru,
      peakWriteWhen: `alert storm (${Math.round(Math.max(alertShare, SIZING.alertStormShare) * 100)} % of the fleet)`,
      readUnitsPerSecond: 0,
      peakReadUnitsPerSecond: 0,
      storageGb: gb(readingsPerDay * alertShare, A.readingItemBytes),
    });
  const rollupStatsWrites = rollupPumpDaysPerSecond * A.statsItemsPerPumpDay * statsWru;
  const tables: TableUnits[] = [
    table({
      table: 'readings',
      writeUnitsPerSecond: rate * readingWru,
      peakWriteUnitsPerSecond: rate * readingWru,
      peakWriteWhen: 'steady (every reading)',
      readUnitsPerSecond: (readingsPerDay * rollupRcuPerReading) / DAY_SECONDS,
      peakReadUnitsPerSecond: rollupPumpDaysPerSecond * readingsPerPumpDay * rollupRcuPerReading,
      storageGb: gb(readingsPerDay, A.readingItemBytes),
    }),
    alertIndex('alertsByDay'),
    alertIndex('alertsByPump'),
    table({
      table: 'stats',
      writeUnitsPerSecond: (pumpDaysPerDay * A.statsItemsPerPumpDay * statsWru) / DAY_SECONDS,
      peakWriteUnitsPerSecond: rollupStatsWrites,
      peakWriteWhen: `daily rollup (${workers} worker${workers === 1 ? "" : "s"})`,
      readUnitsPerSecond: 0,
      peakReadUnitsPerSecond: 0,
      storageGb: gb(pumpDaysPerDay * A.statsItemsPerPumpDay, A.statsItemBytes),
    }),
    table({
      table: 'stats',
      index: 'statsByDate',
      writeUnitsPerSecond: (pumpDaysPerDay * statsWru) / DAY_SECONDS,
      peakWriteUnitsPerSecond: rollupPumpDaysPerSecond * statsWru,
      peakWriteWhen: `daily rollup (${workers} worker${workers === 1 ? "" : "s"})`,
      readUnitsPerSecond: 0,
      peakReadUnitsPerSecond: 0,
      storageGb: gb(pumpDaysPerDay, A.statsItemBytes),
    }),
    table({
      table: 'catalog',
      writeUnitsPerSecond: (pumpDaysPerDay * A.catalogWritesPerPumpDay) / DAY_SECONDS,
      peakWriteUnitsPerSecond: midnight,
      peakWriteWhen: 'midnight (day markers)',
      readUnitsPerSecond: 0,
      peakReadUnitsPerSecond: 0,
      storageGb: gb(pumpDaysPerDay * A.catalogWritesPerPumpDay, SIZING.catalogItemBytes),
    }),
    table({
      table: 'alarms',
      writeUnitsPerSecond: rate * SIZING.alarmWruPerReading,
      peakWriteUnitsPerSecond: rate * SIZING.alarmWruPerReading + storm * SIZING.alarmWruPerRaise,
      peakWriteWhen: 'alert storm (alarms raised)',
      readUnitsPerSecond: rate * SIZING.alarmRruPerReading,
      peakReadUnitsPerSecond: rate * SIZING.alarmRruPerReading,
      storageGb: 0,
    }),
  ];

  // Per-key peaks. Each fleet-wide key is sharded over `buckets`; a bucket gets its mean plus three standard
  // deviations of a binomial share (hash imbalance), which matters for small fleets only.
  const perBucket = (total: number, n: number) => total / n + 3 * Math.sqrt((total / n) * (1 - 1 / n));
  const W = FLEET_KEYS.partitionWriteUnitsPerSecond;
  const R = FLEET_KEYS.partitionReadUnitsPerSecond;
  const key = (k: Omit<KeyPeak, 'limit' | 'utilisation'>): KeyPeak => {
    const limit = k.kind === 'write' ? W : R;
    return { ...k, limit, utilisation: k.unitsPerSecond / limit };
  };
  const pumpDayReadRcu = Math.ceil((readingsPerPumpDay * A.readingItemBytes) / SERVICE_LIMITS.dynamoReadUnitBytes);
  const keys: KeyPeak[] = [
    key({ key: `DAY#<day>#<b> (${buckets})`, table: 'catalog', scenario: 'midnight: every pump\'s first reading within one interval', kind: 'write', unitsPerSecond: perBucket(midnight, buckets) }),
    key({ key: `PENDING#<b> (${buckets})`, table: 'catalog', scenario: 'backfill of every pump within one interval', kind: 'write', unitsPerSecond: perBucket(midnight, buckets) }),
    key({ key: `PUMPS#<b> (${buckets})`, table: 'catalog', scenario: 'every consumer container cold within one interval', kind: 'write', unitsPerSecond: perBucket(midnight, buckets) }),
    key({ key: 'DAYS', table: 'catalog', scenario: 'midnight: each consumer container writes the day once (unsharded)', kind: 'write', unitsPerSecond: shards / interval }),
    key({ key: `alertsByDay <day>#<b> (${buckets})`, table: 'readings', scenario: 'alert storm', kind: 'write', unitsPerSecond: perBucket(storm, buckets) * readingWru }),
    key({ key: `statsByDate <day>#<b> (${buckets})`, table: 'stats', scenario: 'daily rollup', kind: 'write', unitsPerSecond: perBucket(rollupPumpDaysPerSecond, buckets) * statsWru }),
    key({ key: `B#<b> (${alarmBuckets})`, table: 'alarms', scenario: 'first start of the fleet (every last-seen item within one interval)', kind: 'write', unitsPerSecond: perBucket(midnight, alarmBuckets) }),
    key({ key: `openAlarms O#<b> (${alarmBuckets})`, table: 'alarms', scenario: 'alert storm (alarms raised)', kind: 'write', unitsPerSecond: perBucket(storm, alarmBuckets) }),
    key({ key: 'PUMP#<day>', table: 'readings', scenario: 'steady: one pump\'s readings', kind: 'write', unitsPerSecond: readingWru / interval }),
    key({ key: 'PUMP#<day>', table: 'readings', scenario: 'rollup reads a pump-day in one second (strongly consistent)', kind: 'read', unitsPerSecond: pumpDayReadRcu }),
  ];

  // Monthly bill.
  const monthSeconds = SIZING.hoursPerMonth * 3600;
  const { kinesis, lambda, dynamodb } = PRICES;
  const gbs = (msPerReading: number) => ((rate * monthSeconds * msPerReading) / 1000) * (SIZING.functionMemoryMb / 1024);
  const putUnits = recordsPerSecond * Math.ceil((rpr * A.bytesPerReading) / kinesis.putPayloadUnitBytes) * monthSeconds;
  const tableWrites = (t: TableUnits['table']) => tables.filter((x) => x.table === t).reduce((n, x) => n + x.writeUnitsPerSecond, 0) * monthSeconds;
  const tableReads = tables.reduce((n, x) => n + x.readUnitsPerSecond, 0) * monthSeconds;
  const storageGb = tables.reduce((n, x) => n + x.storageGb, 0);
  const lines: MonthlyLine[] = [
    { item: 'Kinesis shard-hours', quantity: shards * SIZING.hoursPerMonth, unit: 'shard-h', usd: shards * SIZING.hoursPerMonth * kinesis.shardHour },
    { item: 'Kinesis PUT payload units', quantity: putUnits, unit: 'units', usd: (putUnits / 1e6) * kinesis.putPayloadUnitsPerMillion },
    { item: 'Lambda consumer requests', quantity: invocationsPerSecond * monthSeconds, unit: 'requests', usd: ((invocationsPerSecond * monthSeconds) / 1e6) * lambda.requestsPerMillion },
    { item: 'Lambda consumer duration', quantity: gbs(A.consumerMsPerReading), unit: 'GB-s', usd: gbs(A.consumerMsPerReading) * lambda.gbSecondArm64 },
    { item: 'Lambda rollup duration', quantity: gbs(A.rollupMsPerReading), unit: 'GB-s', usd: gbs(A.rollupMsPerReading) * lambda.gbSecondArm64 },
    ...(['readings', 'stats', 'catalog', 'alarms'] as const).map((t) => ({ item: `DynamoDB writes: ${t}`, quantity: tableWrites(t), unit: 'WRU', usd: (tableWrites(t) / 1e6) * dynamodb.writeRequestUnitsPerMillion })),
    { item: 'DynamoDB reads (rollup, alarms)', quantity: tableReads, unit: 'RRU', usd: (tableReads / 1e6) * dynamodb.readRequestUnitsPerMillion },
    { item: `DynamoDB storage (${storageDays} days)`, quantity: storageGb, unit: 'GB-month', usd: storageGb * dynamodb.storagePerGbMonth },
  ];

  return {
    input: { pumps, intervalSeconds: interval, alertShare, retentionDays, rollupWorkers, writeConcurrency, producerRecordBytes: recordBytes, buckets, alarmBuckets, ...(input.shards !== undefined ? { shards: input.shards } : {}) },
    load: { readingsPerSecond: rate, bytesPerSecond, readingsPerRecord: rpr, recordsPerSecond },
    shards: {
      byBytes,
      byRecords,
      byConsumer,
      needed,
      deployed: shards,
      binding,
      consumerReadingsPerSecond: full.readingsPerSecond,
      fullBatch: { records: full.records, readings: full.readings, invocationMs: full.invocationMs },
      parallelizationFactor: { configured: es.parallelizationFactor, effective: effectivePf },
    },
    lambda: {
      consumerConcurrency: shards * effectivePf,
      consumerInvocationsPerSecond: invocationsPerSecond,
      rollupWorkers: workers,
      rollupWorkersNeeded,
      rollupMinutes,
      apiConcurrency,
    },
    dynamodb: { tables, keys },
    monthly: { lines, totalUsd: lines.reduce((n, l) => n + l.usd, 0), storageDays },
  };
}
