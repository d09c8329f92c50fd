/**
 * Early-warning section: how well the default detectors warn before degradation failures, and what they cost.
 *
 * On generated data with ground truth (lambdas/core/generator.ts: ≥ 100 pumps × 7 days per seed, a quarter of the
 * pumps degrading before one failure, every pump with the daily demand cycle, sudden failures and blips), the
 * readings of each seed go through the parser and then `PumpDetectors` in the generator's order (time order,
 * pumps interleaved, like the live feed). From the conditions raised:
 *
 * - recall: share of degradation episodes with a warning raised on that pump between the episode's start and its
 *   failure; lead time = failure − first such warning (median and 10th percentile over detected episodes). Sudden
 *   failures are not episodes: nobody can warn of them, so they count neither as hits nor as misses.
 * - false warnings per 1,000 healthy pump-days: warnings raised on pumps without an episode, over their pump-days
 *   (the first day included — warm-up is part of a pump's life). Warnings on degrading pumps outside their episode
 *   (before it, or after the repair) are reported beside it.
 * - cost: the consumer's per-reading CPU work (parse, rules, item) with and without the detectors, passes alternated
 *   on the same text blocks of one seed, median of the passes, in readings per CPU-second of this process (so the
 *   figure is per core and a busy machine's waiting time does not count).
 *
 * The defaults were tuned on seeds {@link TUNING_SEEDS}; the section reports {@link REPORT_SEEDS}, which tuning
 * never saw.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { DEFAULT_ALERT_RULES, DEFAULT_DETECTORS } from '../lambdas/config';
import { V8_FLAGS } from '../lambdas/runtime/v8-tuning';
import { PumpDetectors } from '../lambdas/core/detectors/pump-detectors';
import type { DetectorSpec } from '../lambdas/core/detectors/types';
import { degradationEpisodes, generateReadings, pumpName, type DegradationEpisode, type GeneratorOptions } from '../lambdas/core/generator';
import { readingItem } from '../lambdas/core/keys';
import { parseLine, splitLines } from '../lambdas/core/parse-reading';
import { compileRules } from '../lambdas/core/rules';
import { median, percentile, round } from './stats';

/** Seeds the defaults were tuned on. */
export const TUNING_SEEDS: readonly number[] = [101, 102, 103];
/** Seeds reported (never used for tuning). */
export const REPORT_SEEDS: readonly number[] = [201, 202, 203, 204];

/** On-demand DynamoDB write price per million write request units, us-east-1 (as in bench/cost-model.ts). */
const USD_PER_MILLION_WRU = 0.625;
/** Bytes of a checkpoint item besides the JSON state: keys and attribute names (pk, sk, version, lastTs). */
const CHECKPOINT_KEY_BYTES = 100;

/** Generated data per seed: pumps × days. */
export const EARLY_WARNING_DATA = { pumps: 120, days: 7, start: '2014-03-10' } as const;

/** One seed's outcome. */
export interface SeedOutcome {
  readonly seed: number;
  readonly readings: number;
  readonly episodes: number;
  readonly detected: number;
  /** Lead times of detected episodes, hours. */
  readonly leadHours: number[];
  readonly healthyPumpDays: number;
  readonly falseWarnings: number;
  /** Warnings on degrading pumps outside their episode window. */
  readonly offEpisodeWarnings: number;
  /** Recall per episode kind: detected / episodes. */
  readonly byKind: Record<string, { episodes: number; detected: number }>;
  /** Warnings per rule. */
  readonly byRule: Record<string, number>;
  /** JSON bytes of the largest pump checkpoint at the end of the run. */
  readonly checkpointBytes: number;
}

/** Result of the section. */
export interface EarlyWarningResult {
  readonly seeds: readonly number[];
  readonly pumps: number;
  readonly days: number;
  readonly perSeed: SeedOutcome[];
  readonly episodes: number;
  readonly recall: number;
  readonly leadHoursMedian: number;
  readonly leadHoursP10: number;
  readonly falseWarningsPer1000HealthyPumpDays: number;
  readonly offEpisodeWarnings: number;
  readonly byKind: Record<string, { episodes: number; detected: number; recall: number }>;
  /**
   * Persisting the state: one checkpoint item per pump every `checkpointReadings` accepted readings (the
   * PumpDetectors default), its size measured on a real pump at the end of a run, priced at the on-demand write
   * price. The budget is +10 % of the cost per million readings.
   */
  readonly checkpoint: {
    readonly everyReadings: number;
    readonly itemBytes: number;
    readonly wruPerMillionReadings: number;
    readonly usdPerMillionReadings: number;
  };
  readonly throughput: {
    readonly lines: number;
    readonly offReadingsPerSecond: number;
    readonly onReadingsPerSecond: number;
    /** on / off. */
    readonly ratio: number;
    readonly rounds: number;
    /** Readings per CPU-second of every pass, in order. */
    readonly offRounds: number[];
    readonly onRounds: number[];
  };
}


/**
 * Runs the detectors over one seed's readings and scores the warnings against the ground truth.
 *
 * @example
 * const outcome = evaluateSeed({ pumps: 120, days: 7, seed: 201 }, DEFAULT_DETECTORS);
 */
export function evaluateSeed(options: GeneratorOptions, specs: readonly DetectorSpec[]): SeedOutcome {
  const episodes = degradationEpisodes(options);
  const byPump = new Map<string, DegradationEpisode>(episodes.map((e) => [e.pump, e]));
  const detectors = new PumpDetectors(specs);
  const firstWarning = new Map<string, number>();
  const byRule: Record<string, number> = {};
  let readings = 0;
  let falseWarnings = 0;
  let offEpisodeWarnings = 0;
  for (const line of generateReadings(options)) {
    const o = parseLine(line);
    if (o.kind !== 'reading') continue;
    readings++;
    const r = o.reading;
    const conditions = detectors.observe(r);
    for (let i = 0; i < conditions.length; i++) {
      const c = conditions[i]!;
      if (!c.raise) continue;
      byRule[c.rule] = (byRule[c.rule] ?? 0) + 1;
      const e = byPump.get(c.pump);
      if (e === undefined) falseWarnings++;
      else if (c.ts >= e.start && c.ts < e.failure) {
        if (!firstWarning.has(c.pump)) firstWarning.set(c.pump, Date.parse(c.ts));
      } else if (!(c.ts >= e.failure && c.ts < e.repaired)) offEpisodeWarnings++;
    }
  }
  let checkpointBytes = 0;
  for (let p = 0; p < Math.min(options.pumps, 20); p++) {
    const cp = detectors.checkpoint(pumpName(p));
    if (cp !== undefined) checkpointBytes = Math.max(checkpointBytes, JSON.stringify(cp).length);
  }
  const leadHours: number[] = [];
  const byKind: Record<string, { episodes: number; detected: number }> = {};
  for (const e of episodes) {
    const k = (byKind[e.kind] ??= { episodes: 0, detected: 0 });
    k.episodes++;
    const first = firstWarning.get(e.pump);
    if (first !== undefined) {
      k.detected++;
      leadHours.push((Date.parse(e.failure) - first) / 3_600_000);
    }
  }
  return {
    seed: options.seed,
    readings,
    episodes: episodes.length,
    detected: leadHours.length,
    leadHours,
    healthyPumpDays: (options.pumps - episodes.length) * options.days,
    falseWarnings,
    offEpisodeWarnings,
    byKind,
    byRule,
    checkpointBytes,
  };
}

// Kept in a module-level slot so V8 cannot drop the work.
let sink: unknown;

/**
 * The consumer's per-reading CPU work without the detectors. The two passes are separate functions on purpose: one
 * shared loop with an optional detector call gets re-optimised between passes, and the later passes of both
 * variants ran on whichever compiled version won.
 */
function consumerPassOff(blocks: readonly string[]): number {
  const rules = compileRules(DEFAULT_ALERT_RULES);
  let n = 0;
  for (const block of blocks) {
    const lines = splitLines(block);
    for (let i = 0; i < lines.length; i++) {
      const outcome = parseLine(lines[i]!);
      if (outcome.kind !== 'reading') continue;
      const r = outcome.reading;
      sink = readingItem({ pump: r.pump, day: r.day, time: r.time, ts: r.ts, values: r.values, alerts: rules(r.values) });
      n++;
    }
  }
  return n;
}

/** The same work plus the detectors on every reading. */
function consumerPassOn(blocks: readonly string[], detectors: PumpDetectors): number {
  const rules = compileRules(DEFAULT_ALERT_RULES);
  let n = 0;
  for (const block of blocks) {
    const lines = splitLines(block);
    for (let i = 0; i < lines.length; i++) {
      const outcome = parseLine(lines[i]!);
      if (outcome.kind !== 'reading') continue;
      const r = outcome.reading;
      sink = readingItem({ pump: r.pump, day: r.day, time: r.time, ts: r.ts, values: r.values, alerts: rules(r.values) });
      sink = detectors.observe(r);
      n++;
    }
  }
  return n;
}

/**
 * Core throughput with the detectors off and on, passes alternated on the same blocks (a fresh PumpDetectors per
 * pass, so every pass does the same work, warm-up included).
 */
export function detectorThroughput(options: GeneratorOptions, specs: readonly DetectorSpec[], rounds: number): EarlyWarningResult['throughput'] {
  const blocks: string[] = [];
  let chunk: string[] = [];
  let lines = 0;
  for (const line of generateReadings(options)) {
    chunk.push(line);
    lines++;
    if (chunk.length === 1000) {
      blocks.push(chunk.join('\n'));
      chunk = [];
    }
  }
  if (chunk.length) blocks.push(chunk.join('\n'));
  const off: number[] = [];
  const on: number[] = [];
  consumerPassOff(blocks);
  consumerPassOn(blocks, new PumpDetectors(specs));
  for (let i = 0; i < rounds; i++) {
    for (const withDetectors of i % 2 === 0 ? [false, true] : [true, false]) {
      // CPU time of this process, not wall time: on a shared machine a pass may wait for a core for a while, and that
      // wait says nothing about the work (GC threads' CPU counts, as it should).
      const started = process.cpuUsage();
      const n = withDetectors ? consumerPassOn(blocks, new PumpDetectors(specs)) : consumerPassOff(blocks);
      const used = process.cpuUsage(started);
      const rate = n / ((used.user + used.system) / 1e6);
      (withDetectors ? on : off).push(rate);
    }
  }
  const offRate = median(off);
  const onRate = median(on);
  void sink;
  return {
    lines,
    offReadingsPerSecond: round(offRate, 0),
    onReadingsPerSecond: round(onRate, 0),
    ratio: round(onRate / offRate),
    rounds,
    offRounds: off.map((x) => round(x, 0)),
    onRounds: on.map((x) => round(x, 0)),
  };
}

/**
 * {@link detectorThroughput} in a fresh Node process with the handlers' V8 flags, like section 1 (see
 * `runCoreThroughputInChild`): the evaluation's garbage and JIT history in this process made the detector passes
 * ~20 % slower than in the consumer's situation.
 */
export function detectorThroughputInChild(options: GeneratorOptions, specs: readonly DetectorSpec[], rounds: number): Promise<EarlyWarningResult['throughput']> {
  const runner = path.resolve(__dirname, '..', 'bin', 'run-ts.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...V8_FLAGS, runner, __filename, CHILD_FLAG, JSON.stringify({ options, specs, rounds })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`detector cost child exited with ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(out) as EarlyWarningResult['throughput']);
    });
  });
}

const CHILD_FLAG = '--detector-cost-child';

if (process.argv[2] === CHILD_FLAG) {
  const { options, specs, rounds } = JSON.parse(process.argv[3]!) as { options: GeneratorOptions; specs: DetectorSpec[]; rounds: number };
  process.stdout.write(JSON.stringify(detectorThroughput(options, specs, rounds)));
}

/**
 * Runs the section: every seed's evaluation, then the throughput comparison on the first seed (in a child process).
 *
 * @example
 * const result = await runEarlyWarning({ log: console.error });
 */
export async function runEarlyWarning(
  options: { seeds?: readonly number[]; pumps?: number; days?: number; rounds?: number; specs?: readonly DetectorSpec[]; log?: (line: string) => void } = {},
): Promise<EarlyWarningResult> {
  const seeds = options.seeds ?? REPORT_SEEDS;
  const pumps = options.pumps ?? EARLY_WARNING_DATA.pumps;
  const days = options.days ?? EARLY_WARNING_DATA.days;
  const specs = options.specs ?? DEFAULT_DETECTORS;
  const log = options.log ?? (() => undefined);
  const perSeed: SeedOutcome[] = [];
  for (const seed of seeds) {
    const outcome = evaluateSeed({ pumps, days, seed, start: EARLY_WARNING_DATA.start }, specs);
    log(
      `  seed ${seed}: ${outcome.detected}/${outcome.episodes} episodes warned, ${outcome.falseWarnings} false warnings ` +
        `on ${outcome.healthyPumpDays} healthy pump-days, ${outcome.offEpisodeWarnings} off-episode`,
    );
    perSeed.push(outcome);
  }
  const lead = perSeed.flatMap((s) => s.leadHours).sort((a, b) => a - b);
  const episodes = perSeed.reduce((n, s) => n + s.episodes, 0);
  const detected = perSeed.reduce((n, s) => n + s.detected, 0);
  const healthyDays = perSeed.reduce((n, s) => n + s.healthyPumpDays, 0);
  const falseWarnings = perSeed.reduce((n, s) => n + s.falseWarnings, 0);
  const byKind: EarlyWarningResult['byKind'] = {};
  for (const s of perSeed) {
    for (const [kind, k] of Object.entries(s.byKind)) {
      const t = (byKind[kind] ??= { episodes: 0, detected: 0, recall: 0 });
      t.episodes += k.episodes;
      t.detected += k.detected;
    }
  }
  for (const k of Object.values(byKind)) k.recall = round(k.detected / k.episodes);
  const everyReadings = new PumpDetectors(specs).checkpointEvery;
  const itemBytes = Math.max(...perSeed.map((s) => s.checkpointBytes)) + CHECKPOINT_KEY_BYTES;
  const wruPerMillionReadings = (1e6 / everyReadings) * Math.ceil(itemBytes / 1024);
  log('  detector cost (core with detectors off vs on)…');
  const throughput = await detectorThroughputInChild({ pumps, days, seed: seeds[0]!, start: EARLY_WARNING_DATA.start }, specs, options.rounds ?? 5);
  return {
    seeds,
    pumps,
    days,
    perSeed,
    episodes,
    recall: round(detected / Math.max(1, episodes)),
    leadHoursMedian: round(lead.length ? median(lead) : 0, 2),
    leadHoursP10: round(lead.length ? percentile(lead, 10) : 0, 2),
    falseWarningsPer1000HealthyPumpDays: round((falseWarnings / Math.max(1, healthyDays)) * 1000, 3),
    offEpisodeWarnings: perSeed.reduce((n, s) => n + s.offEpisodeWarnings, 0),
    byKind,
    checkpoint: { everyReadings, itemBytes, wruPerMillionReadings, usdPerMillionReadings: round((wruPerMillionReadings / 1e6) * USD_PER_MILLION_WRU, 4) },
    throughput,
  };
}

