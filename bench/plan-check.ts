/**
 * Section 8 — the sizing model (`wellwatch plan`) against this run's own measurements.
 *
 * The model plans with the figures in `SIZING` (lambdas/config.ts), measured by earlier runs. This section puts the
 * figures measured now beside them (measured ÷ assumed), then plans the reference fleet (1,000,000 pumps
 * every 60 s) twice — with the assumed figures and with the measured ones — and reports the ratio of the shard and
 * unit figures the plan prints. A ratio far from 1 means SIZING is stale (update it from this run) or the design
 * changed what a reading costs. With section 4 in the run, the producer's readings per record on the live feed is
 * also checked against the model's packing rule (rate per shard × linger, up to the record budget).
 *
 * `npm run bench -- --only plan` measures sections 2 (on a smaller data set) and 3 for it and runs this section;
 * a full run uses its own sections 2–4.
 */
import { loadConfig, SIZING } from '../lambdas/config';
import { readingsPerRecord } from '../lambdas/core/shard-throughput';
import { planFleet, type Assumptions, type FleetPlan } from '../lambdas/core/sizing';
import type { LatencyResult } from './latency';
import type { LocalE2eResult } from './local-e2e';
import type { ProducerEfficiencyResult } from './producer-efficiency';
import { round } from './stats';

/** One assumed figure beside its measurement. */
export interface FigureCheck {
  readonly figure: string;
  readonly assumed: number;
  readonly measured: number;
  /** measured ÷ assumed. */
  readonly ratio: number;
  /** Where the measurement comes from. */
  readonly source: string;
}

/** One figure of the plan, computed with the assumed and with the measured figures. */
export interface PlanFigureCheck {
  readonly figure: string;
  readonly withAssumed: number;
  readonly withMeasured: number;
  readonly ratio: number;
}

/** Result of section 8. */
export interface PlanCheckResult {
  readonly fleet: { readonly pumps: number; readonly intervalSeconds: number };
  readonly figures: FigureCheck[];
  readonly plan: PlanFigureCheck[];
}

/** Shards of local mode's stream in section 4 (bench/README.md, "4. Latency"). */
const LATENCY_SHARDS = 2;

const ratio = (measured: number, assumed: number) => (assumed === 0 ? (measured === 0 ? 1 : Infinity) : round(measured / assumed, 3));

/** The plan figures compared: shards and the units the stack is sized with. */
function planFigures(p: FleetPlan): Record<string, number> {
  const t = (name: string) => p.dynamodb.tables.find((x) => (x.index ?? x.table) === name)!;
  return {
    'shards needed': p.shards.needed,
    'shards by consumer': p.shards.byConsumer,
    'consumer readings/s per shard': p.shards.consumerReadingsPerSecond,
    'readings table WCU/s': t('readings').writeUnitsPerSecond,
    'alert indexes WCU/s (each)': t('alertsByDay').writeUnitsPerSecond,
    'stats WCU/s (mean)': t('stats').writeUnitsPerSecond,
    'catalog WCU/s (mean)': t('catalog').writeUnitsPerSecond,
    'readings table RCU/s (rollup)': t('readings').readUnitsPerSecond,
    'rollup workers needed': p.lambda.rollupWorkersNeeded,
    'monthly USD': p.monthly.totalUsd,
  };
}

/**
 * Compares the sizing model's assumptions and its plan of the reference fleet with this run's measurements.
 *
 * @example
 * const check = runPlanCheck(producer, localE2e, latency);
 */
export function runPlanCheck(producer: ProducerEfficiencyResult, e2e: LocalE2eResult, latency?: LatencyResult, fleet = { pumps: 1_000_000, intervalSeconds: 60 }): PlanCheckResult {
  const kpl = producer.modes.find((m) => m.mode === 'kpl')!;
  const readings = e2e.readings;
  const pumpDays = e2e.rollup.pumpDays;
  const statsItems = e2e.writes.stats.puts;
  const measured: Assumptions = {
    bytesPerReading: kpl.bytesPerReading,
    consumerMsPerReading: e2e.handlerMsPerReading,
    rollupMsPerReading: e2e.rollupMsPerReading,
    readingItemBytes: e2e.readingItemBytes,
    statsItemBytes: e2e.writes.stats.itemBytes / Math.max(1, statsItems),
    statsItemsPerPumpDay: statsItems / Math.max(1, pumpDays),
    catalogWritesPerPumpDay: e2e.writes.catalog.wru / Math.max(1, pumpDays),
  };
  const figures: FigureCheck[] = [
    { figure: 'bytes per reading in a KPL record', assumed: SIZING.bytesPerReading, measured: measured.bytesPerReading, source: 'section 2 (kpl)' },
    { figure: 'consumer ms per reading', assumed: SIZING.consumerMsPerReading, measured: measured.consumerMsPerReading, source: 'section 3' },
    { figure: 'rollup ms per reading', assumed: SIZING.rollupMsPerReading, measured: measured.rollupMsPerReading, source: 'section 3' },
    { figure: 'readings item bytes', assumed: SIZING.readingItemBytes, measured: measured.readingItemBytes, source: 'section 3 (tap)' },
    { figure: 'WRU per reading, readings table', assumed: Math.ceil(SIZING.readingItemBytes / 1024), measured: e2e.writes.readings.wru / readings, source: 'section 3 (tap)' },
    { figure: 'WRU per reading, alert indexes (2 × alert share)', assumed: 2 * SIZING.alertShare, measured: e2e.writes.readings.gsiWru / readings, source: 'section 3 (tap)' },
    { figure: 'stats items per pump-day', assumed: SIZING.statsItemsPerPumpDay, measured: measured.statsItemsPerPumpDay, source: 'section 3 (tap)' },
    { figure: 'stats item bytes', assumed: SIZING.statsItemBytes, measured: measured.statsItemBytes, source: 'section 3 (tap)' },
    { figure: 'catalog WRU per pump-day', assumed: SIZING.catalogWritesPerPumpDay, measured: measured.catalogWritesPerPumpDay, source: 'section 3 (tap)' },
  ].map((f) => ({ ...f, assumed: round(f.assumed, 4), measured: round(f.measured, 4), ratio: ratio(f.measured, f.assumed) }));
  if (latency !== undefined) {
    // Section 4's live feed: its rate over local mode's 2 shards, packed per shard within section 4's linger.
    const predicted = readingsPerRecord(latency.rate / LATENCY_SHARDS, loadConfig({}, {}).producerRecordBytes, SIZING.bytesPerReading, latency.lingerMs);
    figures.push({ figure: 'live readings per record (2 shards, linger from section 4)', assumed: round(predicted, 4), measured: latency.readingsPerRecord, ratio: ratio(latency.readingsPerRecord, predicted), source: 'section 4' });
  }
  const assumedPlan = planFigures(planFleet(fleet));
  const measuredPlan = planFigures(planFleet({ ...fleet, assumptions: measured }));
  const plan = Object.keys(assumedPlan).map((figure) => ({
    figure,
    withAssumed: round(assumedPlan[figure]!, 4),
    withMeasured: round(measuredPlan[figure]!, 4),
    ratio: ratio(measuredPlan[figure]!, assumedPlan[figure]!),
  }));
  return { fleet, figures, plan };
}
