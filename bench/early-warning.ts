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
import { DEFAULT_ALERT_RULES, DEFAULT_DETECTORS } from '../lambdas/config';
import { PumpDetectors } from '../lambdas/core/detectors/pump-detectors';
import type { DetectorSpec } from '../lambdas/core/detectors/types';
import { degradationEpisodes, generateReadings, type DegradationEpisode, type GeneratorOptions } from '../lambdas/core/generator';
import { readingItem } from '../lambdas/core/keys';
import { parseLine, splitLines } from '../lambdas/core/parse-reading';
import { compileRules } from '../lambdas/core/rules';
import { median, percentile, round } from './stats';

/** Seeds the defaults were tuned on. */
export const TUNING_SEEDS: readonly number[] = [101, 102, 103];
/** Seeds reported (never used for tuning). */
export const REPORT_SEEDS: readonly number[] = [201, 202, 203, 204];

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
  readonly throughput: {
    readonly lines: number;
    readonly offReadingsPerSecond: number;
    readonly onReadingsPerSecond: number;
    /** on / off. */
    readonly ratio: number;
    readonly rounds: number;
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
  };
}

// Kept in a module-level slot so V8 cannot drop the work.
let sink: unknown;

function consumerPass(blocks: readonly string[], detectors: PumpDetectors | undefined): number {
  const rules = compileRules(DEFAULT_ALERT_RULES);
  let n = 0;
  for (const block of blocks) {
    const lines = splitLines(block);
    for (let i = 0; i < lines.length; i++) {
      const outcome = parseLine(lines[i]!);
      if (outcome.kind !== 'reading') continue;
      const r = outcome.reading;
      sink = readingItem({ pump: r.pump, day: r.day, time: r.time, ts: r.ts, values: r.values, alerts: rules(r.values) });
      if (detectors !== undefined) sink = detectors.observe(r);
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
  consumerPass(blocks, undefined);
  consumerPass(blocks, new PumpDetectors(specs));
  for (let i = 0; i < rounds; i++) {
    for (const withDetectors of i % 2 === 0 ? [false, true] : [true, false]) {
      // CPU time of this process, not wall time: on a shared machine a pass may wait for a core for a while, and that
      // wait says nothing about the work (GC threads' CPU counts, as it should).
      const started = process.cpuUsage();
      const n = consumerPass(blocks, withDetectors ? new PumpDetectors(specs) : undefined);
      const used = process.cpuUsage(started);
      const rate = n / ((used.user + used.system) / 1e6);
      (withDetectors ? on : off).push(rate);
    }
  }
  const offRate = median(off);
  const onRate = median(on);
  void sink;
  return { lines, offReadingsPerSecond: round(offRate, 0), onReadingsPerSecond: round(onRate, 0), ratio: round(onRate / offRate), rounds };
}

/**
 * Runs the section: every seed's evaluation, then the throughput comparison on the first seed.
 *
 * @example
 * const result = runEarlyWarning({ log: console.error });
 */
export function runEarlyWarning(
  options: { seeds?: readonly number[]; pumps?: number; days?: number; rounds?: number; specs?: readonly DetectorSpec[]; log?: (line: string) => void } = {},
): EarlyWarningResult {
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
  log('  detector cost (core with detectors off vs on)…');
  const throughput = detectorThroughput({ pumps, days, seed: seeds[0]!, start: EARLY_WARNING_DATA.start }, specs, options.rounds ?? 4);
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
    throughput,
  };
}

