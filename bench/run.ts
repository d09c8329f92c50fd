/**
 * The wellwatch benchmark suite: `npm run bench` (human tables) or `npm run bench -- --json` (one JSON object).
 *
 * One run, in this order: Lambda bundles (sizes, load times); 1. core throughput against csv-parse (in fresh child
 * processes) and 2. producer efficiency, both on the same ~1,000,000 generated lines; 3. local end to end against the dynalite
 * ceiling; 4. latency at a steady 1,000 readings/s; 5. the cost model fed by 2–4; 6. early-warning detectors on
 * generated degradations; 7. the query API (90-day hourly chart and 1-day raw page, p50/p99). Progress goes to
 * stderr; the report (table or JSON) to stdout; the JSON is also saved as `bench/results/<date>-<machine>.json`.
 *
 * Options: `--json`; `--quick` (small sizes, for trying changes — not comparable); `--no-save`;
 * `--out <file>`; `--load <readings/s>` (cost model load, default 20000); `--only early-warning` (section 6 alone,
 * see bench/early-warning.ts), `--only api` (section 7 alone, see bench/query-api.ts) or `--only plan` (sections 2 and 3 on smaller sizes, then section 8, see bench/plan-check.ts): printed, not saved; all
 * also run in a full run.
 * See bench/README.md for what each section measures and how.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runBundles, type BundlesResult } from './bundles';
import { runCoreThroughputInChild, type CoreThroughputResult } from './core-throughput';
import { REFERENCE_LOAD_PER_SECOND, runCostModel, type CostModelResult, type ScenarioInput } from './cost-model';
import { buildDataset, MAIN_DATASET, type Dataset } from './dataset';
import { runEarlyWarning, type EarlyWarningResult } from './early-warning';
import { readDeployDefaults } from './deploy-defaults';
import { runLatency, type LatencyResult } from './latency';
import { runLocalE2e, type LocalE2eResult } from './local-e2e';
import { runPlanCheck, type PlanCheckResult } from './plan-check';
import { runQueryApi, type QueryApiResult } from './query-api';
import { ON_DEMAND_RECORD_ROUNDING_BYTES, PUT_PAYLOAD_UNIT_BYTES, runProducerEfficiency, SHARD_LIMITS, type ProducerEfficiencyResult } from './producer-efficiency';
import { fmtBytes, fmtInt, fmtMs, fmtNum, fmtUsd, round, table } from './stats';

/** One of the acceptance targets, checked against this run. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** Everything one run produced. */
export interface BenchReport {
  readonly meta: {
    readonly startedAt: string;
    readonly machine: string;
    readonly cpu: string;
    readonly cpus: number;
    readonly memoryGiB: number;
    readonly node: string;
    readonly platform: string;
    readonly quick: boolean;
    readonly loadAverageAtStart: number[];
    readonly loadAverageAtEnd: number[];
    readonly totalMs: number;
    readonly dataset: { readonly pumps: number; readonly days: number; readonly seed: number; readonly start: string; readonly lines: number; readonly bytesPerLine: number };
  };
  readonly bundles: BundlesResult;
  /** Section 1 in a fresh process with only the core and csv-parse loaded (the figure). */
  readonly core: CoreThroughputResult;
  /** Section 1 again in a fresh process that first loads the consumer handler (AWS SDK included), like the Lambda. */
  readonly coreInConsumerProcess: CoreThroughputResult;
  readonly producer: ProducerEfficiencyResult;
  readonly localE2e: LocalE2eResult;
  readonly latency: LatencyResult;
  readonly cost: CostModelResult;
  /** Section 6 (issue 10): early-warning detectors on generated degradations. */
  readonly earlyWarning?: EarlyWarningResult;
  /** Section 7 (issue 11): the query API. */
  readonly queryApi: QueryApiResult;
  /** Section 8 (issue 13): the sizing model against this run's measurements. */
  readonly planCheck?: PlanCheckResult;
  readonly targets: TargetCheck[];
}

const TEN_MINUTES_MS = 10 * 60 * 1000;

function machineSlug(): string {
  const cpu = os.cpus()[0]?.model ?? 'cpu';
  const words = cpu.toLowerCase().replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, ' ').split(/[^a-z0-9]+/).filter(Boolean).slice(0, 3);
  return `${words.join('-') || 'cpu'}-${os.cpus().length}cpu`;
}

function scenarioInputs(producer: ProducerEfficiencyResult, e2e: LocalE2eResult, latency: LatencyResult, batchSize: number): ScenarioInput[] {
  const kpl = producer.modes.find((m) => m.mode === 'kpl')!;
  const single = producer.modes.find((m) => m.mode === 'one-per-record')!;
  // Live feed, as measured in section 4: what the default producer builds when each pump sends 1 reading/s.
  const liveBytesPerReading = latency.bytesPerRecord / latency.readingsPerRecord;
  const liveUnitsPerRecord = Math.ceil(latency.bytesPerRecord / PUT_PAYLOAD_UNIT_BYTES);
  const liveRecordsPerMillion = 1e6 / latency.readingsPerRecord;
  return [
    {
      name: 'default (kpl, bulk push)',
      description: `KPL records as packed in section 2 (${kpl.readingsPerRecord} readings/record); consumer time from section 3`,
      readingsPerRecord: kpl.readingsPerRecord,
      bytesPerRecord: kpl.bytesPerRecord,
      putPayloadUnitsPerMillion: kpl.putPayloadUnitsPerMillion,
      onDemandIngestGbPerMillion: kpl.onDemandIngestGbPerMillion,
      payloadGbPerMillion: kpl.payloadGbPerMillion,
      shardReadingsPerSecond: kpl.shardReadingsPerSecond,
      handlerMsPerReading: e2e.handlerMsPerReading,
      handlerMeasuredIn: 'section 3',
      batchSize,
    },
    {
      name: 'one reading per record',
      description: 'one line per record (section 2), batch size 100; consumer time from section 4 (100 one-reading records per batch)',
      readingsPerRecord: 1,
      bytesPerRecord: single.bytesPerRecord,
      putPayloadUnitsPerMillion: single.putPayloadUnitsPerMillion,
      onDemandIngestGbPerMillion: single.onDemandIngestGbPerMillion,
      payloadGbPerMillion: single.payloadGbPerMillion,
      shardReadingsPerSecond: single.shardReadingsPerSecond,
      handlerMsPerReading: latency.handlerMsPerReading,
      handlerMeasuredIn: 'section 4',
      batchSize,
    },
    {
      name: 'default (kpl, live 1/s per pump)',
      description: `default producer on a live feed, as measured in section 4 (${latency.readingsPerRecord} readings/record), packed per shard`,
      readingsPerRecord: latency.readingsPerRecord,
      bytesPerRecord: latency.bytesPerRecord,
      putPayloadUnitsPerMillion: liveRecordsPerMillion * liveUnitsPerRecord,
      onDemandIngestGbPerMillion: (liveRecordsPerMillion * Math.ceil(latency.bytesPerRecord / ON_DEMAND_RECORD_ROUNDING_BYTES) * ON_DEMAND_RECORD_ROUNDING_BYTES) / 2 ** 30,
      payloadGbPerMillion: (1e6 * liveBytesPerReading) / 2 ** 30,
      shardReadingsPerSecond: Math.min(SHARD_LIMITS.recordsPerSecond * latency.readingsPerRecord, SHARD_LIMITS.bytesPerSecond / liveBytesPerReading),
      handlerMsPerReading: latency.handlerMsPerReading,
      handlerMeasuredIn: 'section 4',
      batchSize,
    },
  ];
}

function checkTargets(r: Omit<BenchReport, 'targets'>): TargetCheck[] {
  const ours = r.core.variants[0]!;
  const kpl = r.producer.modes.find((m) => m.mode === 'kpl')!;
  const def = r.cost.scenarios[0]!;
  return [
    {
      target: 'bench completes in < 10 min on this machine',
      measured: fmtMs(r.meta.totalMs),
      met: r.meta.totalMs < TEN_MINUTES_MS,
    },
    {
      target: 'core ≥ 1,000,000 readings/s on one core (parse, validate, rules, items)',
      measured: `${fmtInt(ours.readingsPerSecond)}/s`,
      met: ours.readingsPerSecond >= 1_000_000,
    },
    {
      target: 'core ≥ 2× csv-parse on the same lines',
      measured: `${fmtNum(r.core.speedupVsCsvParse, 2)}× (consumer path ${fmtNum(r.core.consumerPathSpeedupVsCsvParse, 2)}×)`,
      met: r.core.speedupVsCsvParse >= 2,
    },
    {
      target: 'aggregated mode ≥ 15,000 readings per shard-second',
      measured: `${fmtInt(kpl.shardReadingsPerSecond)}/s (${kpl.bindingLimit} limit)`,
      met: kpl.shardReadingsPerSecond >= 15_000,
    },
    {
      target: 'aggregated mode ≥ 70 % of the byte limit carrying readings',
      measured: `${fmtNum(kpl.usefulByteLimitUtilisation * 100, 1)} % (${fmtNum(kpl.byteLimitUtilisation * 100, 1)} % with framing)`,
      met: kpl.usefulByteLimitUtilisation >= 0.7,
    },
    {
      target: 'local end to end ≥ 70 % of the dynalite ceiling',
      measured: `${fmtNum(r.localE2e.ratioToCeiling * 100, 1)} % (stored only: ${fmtNum(r.localE2e.storedRatioToCeiling * 100, 1)} %)`,
      met: r.localE2e.ratioToCeiling >= 0.7,
    },
    {
      target: 'p99 push → stored ≤ 1 s at 1,000 readings/s',
      measured: `${fmtMs(r.latency.p99Ms)} (${r.latency.missing} missing)`,
      met: r.latency.p99Ms <= 1000 && r.latency.missing === 0,
    },
    {
      target: 'modelled cost ≤ $0.70 per million readings (default config)',
      measured: `${fmtUsd(def.totalProvisionedUsd)} (on-demand stream: ${fmtUsd(def.totalOnDemandUsd)})`,
      met: r.cost.defaultMeetsTarget,
    },
  ];
}

/** The early-warning targets of issue 10, checked against section 6. */
function earlyWarningTargets(e: EarlyWarningResult): TargetCheck[] {
  return [
    {
      target: 'early warning: recall ≥ 90 % of degradation episodes',
      measured: `${fmtNum(e.recall * 100, 1)} % of ${e.episodes} (seeds ${e.seeds.join(', ')})`,
      met: e.recall >= 0.9,
    },
    {
      target: 'early warning: median lead time ≥ 6 h',
      measured: `${fmtNum(e.leadHoursMedian, 1)} h (p10 ${fmtNum(e.leadHoursP10, 1)} h)`,
      met: e.leadHoursMedian >= 6,
    },
    {
      target: 'early warning: ≤ 1 false warning per 1,000 healthy pump-days',
      measured: `${fmtNum(e.falseWarningsPer1000HealthyPumpDays, 2)}`,
      met: e.falseWarningsPer1000HealthyPumpDays <= 1,
    },
    {
      target: 'early warning: core throughput with detectors ≥ 70 % of without',
      measured: `${fmtNum(e.throughput.ratio * 100, 1)} % (${fmtInt(e.throughput.onReadingsPerSecond)} vs ${fmtInt(e.throughput.offReadingsPerSecond)}/s)`,
      met: e.throughput.ratio >= 0.7,
    },
  ];
}

/** Section 6 as text. */
function renderEarlyWarning(e: EarlyWarningResult): string {
  const out: string[] = [];
  out.push(`6. Early warning — default detectors on generated degradations, ${e.pumps} pumps × ${e.days} days per seed, seeds ${e.seeds.join(', ')} (tuned on others)`);
  out.push(
    table(
      ['seed', 'episodes', 'warned before failure', 'false warnings (healthy pump-days)', 'off-episode warnings', 'warnings per rule'],
      e.perSeed.map((s) => [
        String(s.seed),
        String(s.episodes),
        `${s.detected} (${fmtNum((s.detected / Math.max(1, s.episodes)) * 100, 1)} %)`,
        `${s.falseWarnings} (${s.healthyPumpDays})`,
        String(s.offEpisodeWarnings),
        Object.entries(s.byRule).map(([k, v]) => `${k} ${v}`).join(', '),
      ]),
    ),
  );
  out.push(
    table(
      ['measure', 'value'],
      [
        ['recall (all seeds)', `${fmtNum(e.recall * 100, 1)} % of ${e.episodes} episodes`],
        ...Object.entries(e.byKind).map(([kind, k]) => [`  ${kind}`, `${k.detected}/${k.episodes} (${fmtNum(k.recall * 100, 1)} %)`]),
        ['lead time before failure, median / p10', `${fmtNum(e.leadHoursMedian, 1)} h / ${fmtNum(e.leadHoursP10, 1)} h`],
        ['false warnings per 1,000 healthy pump-days', fmtNum(e.falseWarningsPer1000HealthyPumpDays, 2)],
        ['warnings on degrading pumps outside their episode', String(e.offEpisodeWarnings)],
        ['state checkpoints (one item per pump every N readings)', `every ${fmtInt(e.checkpoint.everyReadings)} readings, ≤ ${fmtInt(e.checkpoint.itemBytes)} B → ${fmtInt(e.checkpoint.wruPerMillionReadings)} WRU = ${fmtUsd(e.checkpoint.usdPerMillionReadings)} per million readings`],
        [`core readings/s, detectors off / on (median of ${e.throughput.rounds} passes each, ${fmtInt(e.throughput.lines)} lines)`, `${fmtInt(e.throughput.offReadingsPerSecond)} / ${fmtInt(e.throughput.onReadingsPerSecond)} → ${fmtNum(e.throughput.ratio * 100, 1)} %`],
      ],
    ),
  );
  return out.join('\n');
}

function render(r: BenchReport): string {
  const out: string[] = [];
  const m = r.meta;
  out.push(`wellwatch benchmark — ${m.startedAt} — ${m.cpu} (${m.cpus} vCPU, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform}${m.quick ? ' — QUICK RUN, not comparable' : ''}`);
  out.push(
    `data: ${fmtInt(m.dataset.lines)} generated lines (${m.dataset.pumps} pumps × ${m.dataset.days} day from ${m.dataset.start}, seed ${m.dataset.seed}), ${fmtNum(m.dataset.bytesPerLine, 1)} B/line; ` +
      `load average ${m.loadAverageAtStart.map((x) => x.toFixed(1)).join(' ')} at start, ${m.loadAverageAtEnd.map((x) => x.toFixed(1)).join(' ')} at end; total ${fmtMs(m.totalMs)}`,
  );

  out.push('', `1. Core throughput — one core, median of ${r.core.timedRounds} passes over ${fmtInt(r.core.lines)} lines (after ${r.core.warmupPasses} warm-up), fresh process`);
  const csv = r.core.variants.find((v) => v.name.startsWith('csv-parse'))!.readingsPerSecond;
  const loaded = r.coreInConsumerProcess;
  const csvLoaded = loaded.variants.find((v) => v.name.startsWith('csv-parse'))!.readingsPerSecond;
  out.push(
    table(
      ['variant', 'readings/s', 'vs csv-parse', 'passes (readings/s)', `consumer modules loaded (${loaded.timedRounds} passes)`, 'vs csv-parse'],
      r.core.variants.map((v, i) => [
        v.name,
        fmtInt(v.readingsPerSecond),
        `${fmtNum(v.readingsPerSecond / csv, 2)}×`,
        v.rounds.map((x) => fmtInt(x)).join(' '),
        fmtInt(loaded.variants[i]!.readingsPerSecond),
        `${fmtNum(loaded.variants[i]!.readingsPerSecond / csvLoaded, 2)}×`,
      ]),
    ),
  );

  out.push('', `2. Producer efficiency — the producer's own packing, ${fmtBytes(r.producer.recordBytesBudget)} record budget, same lines`);
  out.push(
    table(
      ['mode', 'readings/record', 'bytes/record', 'bytes/reading', 'PUT units/M readings', 'shard: by 1000 rec/s', 'by 1 MiB/s', 'shard readings/s', 'byte limit used (readings)'],
      r.producer.modes.map((p) => [
        p.mode,
        fmtNum(p.readingsPerRecord, 1),
        fmtInt(p.bytesPerRecord),
        fmtNum(p.bytesPerReading, 1),
        fmtInt(p.putPayloadUnitsPerMillion),
        fmtInt(p.shardReadingsPerSecondByRecords),
        fmtInt(p.shardReadingsPerSecondByBytes),
        fmtInt(p.shardReadingsPerSecond),
        `${fmtNum(p.byteLimitUtilisation * 100, 1)} % (${fmtNum(p.usefulByteLimitUtilisation * 100, 1)} %)`,
      ]),
    ),
  );

  const e = r.localE2e;
  out.push('', `3. Local end to end — ${fmtInt(e.readings)} readings (${e.pumps} pumps, ${e.day}) via \`wellwatch push --local\`, stored and rolled up`);
  out.push(
    table(
      ['measure', 'value'],
      [
        ['push (CLI) returned', fmtMs(e.pushMs)],
        ['all records processed (stored)', `${fmtMs(e.storedMs)} → ${fmtInt(e.storedReadingsPerSecond)} readings/s`],
        ['rollup of the day', fmtMs(e.rollupMs)],
        ['wall time, stored + rolled up', `${fmtMs(e.wallMs)} → ${fmtInt(e.readingsPerSecond)} readings/s`],
        ['dynalite ceiling (bare BatchWriteItem, same items)', `${fmtInt(e.ceilingItemsPerSecond)} items/s (${e.ceilingConcurrency} in flight; before ${fmtInt(e.ceilingRuns[0]!)}, after ${fmtInt(e.ceilingRuns[1]!)})`],
        ['ratio to ceiling (stored + rolled up | stored)', `${fmtNum(e.ratioToCeiling * 100, 1)} % | ${fmtNum(e.storedRatioToCeiling * 100, 1)} %`],
        ['Kinesis records / readings per record', `${fmtInt(e.kinesisRecords)} / ${fmtNum(e.readingsPerRecord, 1)}`],
        ['consumer invocations (records each, p50 / max time)', `${e.invocations.invocations} (${fmtNum(e.invocations.recordsPerInvocation, 1)}, ${fmtMs(e.invocations.durationMsP50)} / ${fmtMs(e.invocations.durationMsMax)})`],
        ['consumer time per reading', `${fmtNum(e.handlerMsPerReading * 1000, 0)} µs`],
        ['writes counted: readings / alert indexes / catalog / stats', `${fmtInt(e.writes.readings.wru)} / ${fmtInt(e.writes.readings.gsiWru)} / ${fmtInt(e.writes.catalog.wru)} / ${fmtInt(e.writes.stats.wru + e.writes.stats.gsiWru)} WRU`],
        ['alerting readings / mean reading item', `${fmtNum(e.alertingShare * 100, 1)} % / ${fmtNum(e.readingItemBytes, 1)} B`],
      ],
    ),
  );

  const l = r.latency;
  out.push('', `4. Latency — ${fmtInt(l.rate)} readings/s offered for ${l.seconds} s (${fmtInt(l.pumps)} pumps × 1/s, linger ${l.lingerMs} ms), scheduled time → stored`);
  out.push(
    table(
      ['measure', 'value'],
      [
        ['offered / stored / missing', `${fmtInt(l.offered)} / ${fmtInt(l.stored)} / ${fmtInt(l.missing)} (offer rate achieved ${fmtInt(l.achievedOfferRate)}/s)`],
        ['p50 / p95 / p99 / max', `${fmtMs(l.p50Ms)} / ${fmtMs(l.p95Ms)} / ${fmtMs(l.p99Ms)} / ${fmtMs(l.maxMs)}`],
        ['stage p50 (p99): scheduled → in Kinesis', `${fmtMs(l.stages.producerToKinesis.p50)} (${fmtMs(l.stages.producerToKinesis.p99)})`],
        ['stage p50 (p99): in Kinesis → invocation', `${fmtMs(l.stages.kinesisToInvoke.p50)} (${fmtMs(l.stages.kinesisToInvoke.p99)})`],
        ['stage p50 (p99): invocation → stored', `${fmtMs(l.stages.invokeToStored.p50)} (${fmtMs(l.stages.invokeToStored.p99)})`],
        ['Kinesis records / readings per record', `${fmtInt(l.kinesisRecords)} / ${fmtNum(l.readingsPerRecord, 1)}`],
        ['invocations (records each, p50 / p95 time)', `${l.invocations.invocations} (${fmtNum(l.invocations.recordsPerInvocation, 1)}, ${fmtMs(l.invocations.durationMsP50)} / ${fmtMs(l.invocations.durationMsP95)})`],
        ['event loop busy (everything shares one thread)', `${fmtNum(l.eventLoopUtilisation * 100, 1)} %`],
      ],
    ),
  );

  const c = r.cost;
  out.push(
    '',
    `5. Cost per million readings — ${c.prices.region} list prices of ${c.prices.asOf}; ${fmtInt(c.assumptions.loadPerSecond)} readings/s sustained, ` +
      `≥ ${c.assumptions.minShards} shards, ${c.assumptions.memoryMb} MB arm64, batch ${c.assumptions.batchSize}, window ${c.assumptions.maxBatchingWindowSeconds} s`,
  );
  const names = c.scenarios.map((s) => s.name);
  const rows: string[][] = c.scenarios[0]!.lines.map((line, i) => [line.item, ...c.scenarios.map((s) => `${fmtUsd(s.lines[i]!.usd)}  (${fmtNum(s.lines[i]!.quantity, s.lines[i]!.quantity < 100 ? 2 : 0)} ${s.lines[i]!.unit})`)]);
  rows.push(['shards / readings per invocation', ...c.scenarios.map((s) => `${s.shards} / ${fmtInt(s.readingsPerInvocation)}`)]);
  rows.push(['TOTAL, provisioned stream', ...c.scenarios.map((s) => fmtUsd(s.totalProvisionedUsd))]);
  rows.push(['TOTAL, on-demand stream', ...c.scenarios.map((s) => `${fmtUsd(s.totalOnDemandUsd)}  (Kinesis ${fmtUsd(s.onDemandKinesisUsd)})`)]);
  out.push(table(['item', ...names], rows));
  out.push(`verdict: ${c.verdict}`);

  out.push('', `Lambda bundles — esbuild as in lib/wellwatch-function.ts (target ${r.bundles.target}, minified); load = median of ${r.bundles.runs} \`node -e require()\` minus Node start-up (${fmtMs(r.bundles.nodeStartupMs)})`);
  out.push(
    table(
      ['function', 'bundle', 'gzip', 'load'],
      r.bundles.functions.map((f) => [f.name, fmtBytes(f.bytes), fmtBytes(f.gzipBytes), fmtMs(f.loadMs)]),
    ),
  );

  if (r.earlyWarning !== undefined) out.push('', renderEarlyWarning(r.earlyWarning));
  out.push('', renderQueryApi(r.queryApi));
  if (r.planCheck !== undefined) out.push('', renderPlanCheck(r.planCheck));

  out.push('', 'Targets of issue 3');
  out.push(table(['target', 'measured', 'met'], r.targets.map((t) => [t.target, t.measured, t.met ? 'yes' : 'NO'])));
  return out.join('\n');
}

/** Section 8 as two tables. */
function renderPlanCheck(r: PlanCheckResult): string {
  return [
    `8. Sizing model (\`wellwatch plan\`) against this run — assumed figures (SIZING in lambdas/config.ts) vs measured`,
    table(['figure', 'assumed', 'measured', 'measured ÷ assumed', 'from'], r.figures.map((f) => [f.figure, fmtNum(f.assumed, 4), fmtNum(f.measured, 4), fmtNum(f.ratio, 3), f.source])),
    `plan of ${fmtInt(r.fleet.pumps)} pumps every ${r.fleet.intervalSeconds} s, with the assumed and with the measured figures`,
    table(['figure', 'with assumed', 'with measured', 'ratio'], r.plan.map((p) => [p.figure, fmtNum(p.withAssumed, 1), fmtNum(p.withMeasured, 1), fmtNum(p.ratio, 3)])),
  ].join('\n');
}

/** Section 7 as a table. */
function renderQueryApi(r: QueryApiResult): string {
  return [
    `7. Query API, local (one pump, ${fmtInt(r.readings)} readings over ${r.days} days; load ${fmtMs(r.loadMs)}, rollup of every day ${fmtMs(r.rollupMs)})`,
    table(
      ['request', 'points', 'items read', 'response', 'p50', 'p99', 'max'],
      r.cases.map((c) => [c.name, fmtInt(c.points), fmtInt(c.itemsRead), fmtBytes(c.responseBytes), fmtMs(c.p50Ms), fmtMs(c.p99Ms), fmtMs(c.maxMs)]),
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      json: { type: 'boolean' },
      quick: { type: 'boolean' },
      'no-save': { type: 'boolean' },
      out: { type: 'string' },
      load: { type: 'string' },
      only: { type: 'string' },
    },
    strict: true,
  });
  if (values.only !== undefined) {
    const progress = (line: string) => process.stderr.write(line + '\n');
    if (values.only === 'early-warning') {
      progress('6. early warning…');
      const e = await runEarlyWarning({ log: progress, ...(values.quick ? { seeds: [201], pumps: 60, rounds: 2 } : {}) });
      const targets = earlyWarningTargets(e);
      if (values.json) process.stdout.write(JSON.stringify({ earlyWarning: e, targets }) + '\n');
      else process.stdout.write(`${renderEarlyWarning(e)}\n\nTargets of issue 10\n${table(['target', 'measured', 'met'], targets.map((t) => [t.target, t.measured, t.met ? 'yes' : 'NO']))}\n`);
    } else if (values.only === 'plan') {
      // Sections 2 (on a smaller data set: the packing does not depend on its size) and 3, then section 8.
      progress('2. producer efficiency (for section 8)…');
      const producer = await runProducerEfficiency(buildDataset({ ...MAIN_DATASET, pumps: values.quick ? 42 : 210 }), { log: progress });
      progress('3. local end to end (for section 8)…');
      const localE2e = await runLocalE2e({ pumps: values.quick ? 12 : 55, log: progress });
      const check = runPlanCheck(producer, localE2e);
      process.stdout.write(values.json ? JSON.stringify({ planCheck: check }) + '\n' : renderPlanCheck(check) + '\n');
    } else if (values.only === 'api') {
      progress('7. query API…');
      const result = await runQueryApi({ days: values.quick ? 14 : 90, log: progress });
      process.stdout.write(values.json ? JSON.stringify({ queryApi: result }) + '\n' : renderQueryApi(result) + '\n');
    } else {
      throw new Error(`--only supports early-warning, api or plan, got ${values.only}`);
    }
    return;
  }
  const quick = values.quick === true;
  const load = values.load === undefined ? REFERENCE_LOAD_PER_SECOND : Number(values.load);
  if (!(load > 0)) throw new Error(`--load must be a positive number of readings/s, got ${values.load}`);
  const progress = (line: string) => process.stderr.write(line + '\n');
  const started = performance.now();
  const startedAt = new Date();
  const loadAverageAtStart = os.loadavg().map((x) => round(x, 3));

  const defaults = readDeployDefaults();
  progress('bundles…');
  const bundles = await runBundles(defaults.bundleTarget, { runs: quick ? 3 : 7, log: progress });

  const options = quick ? { ...MAIN_DATASET, pumps: 210 } : MAIN_DATASET;
  progress('1. core throughput (fresh process)…');
  const core = await runCoreThroughputInChild({ dataset: options, rounds: quick ? 2 : 7 }, progress);
  progress('1. core throughput (fresh process with the consumer handler loaded)…');
  const coreInConsumerProcess = await runCoreThroughputInChild({ dataset: options, rounds: quick ? 1 : 3, preload: ['../lambdas/consumer/handler'] }, progress);

  progress(`generating the same ${quick ? '~200,000' : '~1,000,000'} lines…`);
  let data: Dataset | undefined = buildDataset(options);
  if (data.lines !== core.lines) throw new Error(`data set has ${data.lines} lines here but ${core.lines} in section 1`);
  const datasetMeta = {
    pumps: options.pumps,
    days: options.days,
    seed: options.seed,
    start: options.start!,
    lines: data.lines,
    bytesPerLine: round(data.bytes / data.lines),
  };
  progress('2. producer efficiency…');
  const producer = await runProducerEfficiency(data, { log: progress });
  data = undefined; // the local sections do not need the big data set

  progress('3. local end to end…');
  const localE2e = await runLocalE2e({ pumps: quick ? 12 : 55, log: progress });
  progress('4. latency…');
  const latency = await runLatency({ seconds: quick ? 8 : 30, log: progress });

  progress('5. cost model…');
  const e = localE2e;
  const perReading = (n: number) => n / e.readings;
  const cost = runCostModel(scenarioInputs(producer, e, latency, 100), {
    loadPerSecond: load,
    wruPerReading: {
      readings: perReading(e.writes.readings.wru),
      alertIndexes: perReading(e.writes.readings.gsiWru),
      catalog: perReading(e.writes.catalog.wru),
      stats: perReading(e.writes.stats.wru + e.writes.stats.gsiWru),
    },
    readingItemBytes: e.readingItemBytes,
    rollupMsPerReading: e.rollupMsPerReading,
  }, defaults);

  progress('6. early warning…');
  const earlyWarning = await runEarlyWarning({ log: progress, ...(quick ? { seeds: [201], pumps: 60, rounds: 2 } : {}) });
  progress('7. query API…');
  const queryApi = await runQueryApi({ days: quick ? 14 : 90, log: progress });

  progress('8. sizing model against the measurements…');
  const planCheck = runPlanCheck(producer, localE2e, latency);

  const base: Omit<BenchReport, 'targets'> = {
    meta: {
      startedAt: startedAt.toISOString(),
      machine: machineSlug(),
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
      memoryGiB: round(os.totalmem() / 2 ** 30, 3),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      quick,
      loadAverageAtStart,
      loadAverageAtEnd: os.loadavg().map((x) => round(x, 3)),
      totalMs: round(performance.now() - started),
      dataset: datasetMeta,
    },
    bundles,
    core,
    coreInConsumerProcess,
    producer,
    localE2e,
    latency,
    cost,
    earlyWarning,
    queryApi,
    planCheck,
  };
  const report: BenchReport = { ...base, targets: [...checkTargets(base), ...earlyWarningTargets(earlyWarning)] };

  if (values['no-save'] !== true) {
    const file = values.out ?? path.join(__dirname, 'results', `${startedAt.toISOString().slice(0, 10)}-${report.meta.machine}${quick ? '-quick' : ''}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    progress(`saved ${path.relative(process.cwd(), file)}`);
  }
  process.stdout.write(values.json ? JSON.stringify(report) + '\n' : render(report) + '\n');
}

main().then(
  // The emulators' sockets and timers are closed, but the SDK's keep-alive agents may linger: exit explicitly.
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
