/**
 * The detectors of one (pump, measure) series: a robust baseline, a two-sided CUSUM and a rate-of-change check.
 *
 * Everything a series needs is a fixed run of numbers ({@link SERIES_FIELDS} fields; a `daily` baseline adds 24
 * slot levels and, during its warm-up, 3 × 24 sums), updated purely sequentially, one reading at a time, with no
 * clock and no randomness: the same readings in the same order give bit-identical states and verdicts however they
 * were batched. The live state sits in a Float64Array (one per pump, all its series side by side: contiguous, no
 * boxed numbers to chase, which made the detectors three times cheaper inside the consumer's loop than plain
 * objects); {@link readSeries} and {@link writeSeries} convert to and from the JSON-able {@link SeriesState}, and a
 * state round-tripped through JSON (JavaScript prints doubles exactly) continues exactly where it stopped.
 *
 * Per judged reading `x` at time `t`:
 * 1. Warm-up: the first `warmupReadings` readings (a `daily` baseline: until every hourly slot has seen enough, about
 *    one day) only learn the baseline — the mean and standard deviation of what the pump itself does, so a pump at
 *    psi 55 and one at psi 88 are each judged against themselves.
 * 2. Residual `r = x − baseline(t)`, in spreads `z = r / spread`, clipped to ±{@link Z_CLIP} so one wild reading
 *    cannot trip a detector on its own.
 * 3. `drift`: two-sided CUSUM `up = max(0, up + z − k)`, `down = max(0, down − z − k)`; fires when either exceeds
 *    `driftThreshold`. It accumulates small sustained shifts (a 1-spread sag in tens of readings) that no single
 *    reading shows. The change started at the last reading where that sum was zero (`since`).
 * 4. `step`: a fast and a medium EWMA of the residual; their difference is a rate of change that a step makes large
 *    for a few dozen readings, while a slow ramp or the daily cycle keeps it small. Fires after `stepReadings`
 *    consecutive readings beyond `stepSpreads`.
 * 5. Baseline update (EWMA, half-life `halfLifeReadings`) with the residual clipped to ±3 spreads (Huber style,
 *    robust to outliers), and frozen while a warning is active or the CUSUM is past half its threshold — otherwise a
 *    slow sag would drag the baseline along and hide itself.
 * 6. Clear (hysteresis): an active warning clears once the fast level is within `clearSpreads` of the baseline for
 *    `clearReadings` consecutive readings. Silence never clears anything: no reading, no verdict.
 *
 * A value at or below `stoppedAtOrBelow` means the pump is stopped: not judged (the threshold rules own stops), and a
 * stop of `relearnAfterStopMinutes` or more (a pump down that long was likely serviced) makes the series learn its
 * baseline afresh; an active warning stays active and clears against the new baseline.
 */
import type { BaselineKind, DetectorKind, DetectorSpec } from './types';

/** Deviations are clipped to this many spreads before they reach the CUSUM (one reading moves it at most this far). */
export const Z_CLIP = 4;
/** Weight of the newest residual in the fast EWMA (the "current level", ~5 readings). */
export const FAST_ALPHA = 0.2;
/** Weight of the newest residual in the medium EWMA (~50 readings) that the step check compares the fast one with. */
export const MEDIUM_ALPHA = 0.02;
/** Residuals are clipped to this many spreads before they reach the fast and medium levels. */
export const STEP_CLIP = 8;
/** Residuals are clipped to this many spreads when they update the baseline. */
const UPDATE_CLIP = 3;
/** E|X| = σ·√(2/π) for a normal X: scales a mean absolute deviation to a standard deviation. */
const MAD_TO_SD = Math.sqrt(Math.PI / 2);
/** Hourly slots of a daily baseline. */
export const DAILY_SLOTS = 24;
const MINUTE_MS = 60_000;
const SLOT_MINUTES = 1440 / DAILY_SLOTS;

/** A spec with its derived constants, computed once per configuration. */
export interface CompiledSpec extends DetectorSpec {
  readonly drift: boolean;
  readonly step: boolean;
  readonly daily: boolean;
  /** EWMA weight of the baseline mean and spread per judged reading. */
  readonly alpha: number;
  /** EWMA weight of a daily slot per reading it receives (a slot gets ~1/24 of the readings). */
  readonly slotAlpha: number;
  /** Readings each hourly slot needs before a daily baseline leaves warm-up. */
  readonly warmupPerSlot: number;
  readonly relearnMs: number;
  /** Numbers this series takes in a state array ({@link seriesWidth}). */
  readonly width: number;
}

/**
 * Derives a spec's constants.
 *
 * @example
 * const spec = compileSpec({ ...DETECTOR_DEFAULTS.psi });
 */
export function compileSpec(spec: DetectorSpec): CompiledSpec {
  // One explicit literal, the fractional settings stored as doubles (see asDouble): whatever the spec's source
  // (defaults, JSON), every compiled spec gets the same hidden class, so the judge stays monomorphic. With the
  // plain spread, specs holding 5 in one field and 0.5 in another deoptimised the judge pass after pass (~20 %).
  return {
    measure: spec.measure,
    detectors: spec.detectors,
    baseline: spec.baseline,
    severity: spec.severity,
    warmupReadings: spec.warmupReadings,
    halfLifeReadings: spec.halfLifeReadings,
    driftSlack: asDouble(spec.driftSlack),
    driftThreshold: asDouble(spec.driftThreshold),
    stepSpreads: asDouble(spec.stepSpreads),
    stepReadings: spec.stepReadings,
    clearSpreads: asDouble(spec.clearSpreads),
    clearReadings: spec.clearReadings,
    stoppedAtOrBelow: asDouble(spec.stoppedAtOrBelow),
    relearnAfterStopMinutes: spec.relearnAfterStopMinutes,
    minSpread: asDouble(spec.minSpread),
    drift: spec.detectors.includes('drift'),
    step: spec.detectors.includes('step'),
    daily: spec.baseline === 'daily',
    alpha: 1 - Math.pow(2, -1 / spec.halfLifeReadings),
    slotAlpha: 1 - Math.pow(2, -DAILY_SLOTS / spec.halfLifeReadings),
    warmupPerSlot: Math.max(3, Math.ceil(spec.warmupReadings / DAILY_SLOTS)),
    relearnMs: spec.relearnAfterStopMinutes * MINUTE_MS,
    width: seriesWidth(spec.baseline),
  };
}

/**
 * The number itself, but read back from a Float64Array: V8 then keeps it as a heap double even when it is whole,
 * so a field that holds 5 in one spec and 0.5 in another has one representation from the start.
 */
const DOUBLE = new Float64Array(1);
function asDouble(x: number): number {
  DOUBLE[0] = x;
  return DOUBLE[0];
}

/**
 * The state of one series in JSON-able form (checkpoints, `wellwatch explain`, tests).
 *
 * Times are epoch milliseconds; -1 means "none".
 */
export interface SeriesState {
  /** Readings the warm-up has learnt from (it stops counting once the baseline is ready). */
  n: number;
  /** Flat baseline mean (during warm-up: the running mean). */
  mean: number;
  /** Baseline spread (robust standard deviation); 0 until warm-up ends. */
  spread: number;
  /** Warm-up sum of squared deviations (Welford). */
  m2: number;
  /** Daily baseline: level of each hourly slot (null during warm-up, and for a flat baseline). */
  slots: number[] | null;
  /** Daily warm-up: per-slot count, sum and sum of squares (null outside a daily warm-up). */
  counts: number[] | null;
  sums: number[] | null;
  squares: number[] | null;
  /** The baseline at the last judged reading. */
  base: number;
  /** Fast and medium EWMAs of the residual (clipped to ±{@link STEP_CLIP} spreads). */
  fast: number;
  medium: number;
  /** CUSUM sums (upward and downward) and the time each was last zero. */
  up: number;
  down: number;
  upSince: number;
  downSince: number;
  /** Consecutive readings beyond the step threshold, and the time of the first. */
  stepRun: number;
  stepSince: number;
  /** The active warning's detector, or '' when none; when it began. */
  active: DetectorKind | '';
  activeSince: number;
  /** Consecutive calm readings while a warning is active. */
  calm: number;
  /** First stopped reading of the current stop, or -1 while the pump runs. */
  stoppedSince: number;
}

// Offsets of the fields in a series' run of a state array. `active` is coded 0 (none), 1 (drift), 2 (step).
const N = 0;
const MEAN = 1;
const SPREAD = 2;
const M2 = 3;
const BASE = 4;
const FAST = 5;
const MEDIUM = 6;
const UP = 7;
const DOWN = 8;
const UP_SINCE = 9;
const DOWN_SINCE = 10;
const STEP_RUN = 11;
const STEP_SINCE = 12;
const ACTIVE = 13;
const ACTIVE_SINCE = 14;
const CALM = 15;
const STOPPED_SINCE = 16;
/** Numbers of a flat series; a daily one adds slots, counts, sums and squares (24 each) after them. */
export const SERIES_FIELDS = 17;
const SLOTS = SERIES_FIELDS;
const COUNTS = SLOTS + DAILY_SLOTS;
const SUMS = COUNTS + DAILY_SLOTS;
const SQUARES = SUMS + DAILY_SLOTS;
/** Codes of `active`. */
const NO_WARNING = 0;
const DRIFT = 1;
const STEP = 2;
const ACTIVE_NAMES: readonly (DetectorKind | '')[] = ['', 'drift', 'step'];

/**
 * Numbers a series of this baseline kind takes in a state array.
 *
 * @example
 * seriesWidth('flat'); // → 17
 */
export function seriesWidth(baseline: BaselineKind): number {
  return baseline === 'daily' ? SERIES_FIELDS + 4 * DAILY_SLOTS : SERIES_FIELDS;
}

/** The active warning's detector at offset `o`, or ''. */
export function activeAt(a: Float64Array, o: number): DetectorKind | '' {
  return ACTIVE_NAMES[a[o + ACTIVE]!]!;
}

/** What one reading did to a series. */
export const VERDICT = { none: 0, raise: 1, clear: 2, warming: 3 } as const;
export type Verdict = (typeof VERDICT)[keyof typeof VERDICT];

/**
 * Writes a fresh series (nothing learnt, no warning) at offset `o`.
 *
 * @example
 * const a = new Float64Array(spec.width); initSeries(a, 0, spec);
 */
export function initSeries(a: Float64Array, o: number, spec: CompiledSpec): void {
  a.fill(0, o, o + spec.width);
  a[o + UP_SINCE] = -1;
  a[o + DOWN_SINCE] = -1;
  a[o + STEP_SINCE] = -1;
  a[o + ACTIVE_SINCE] = -1;
  a[o + STOPPED_SINCE] = -1;
}

/** Forgets the learnt baseline and detector sums (warm-up again); keeps the active warning, if any. */
function relearn(a: Float64Array, o: number, spec: CompiledSpec): void {
  const active = a[o + ACTIVE]!;
  const activeSince = a[o + ACTIVE_SINCE]!;
  initSeries(a, o, spec);
  a[o + ACTIVE] = active;
  a[o + ACTIVE_SINCE] = activeSince;
}

const DAY_MS = 86_400_000;
const SLOT_MS = SLOT_MINUTES * MINUTE_MS;

/** Milliseconds since the UTC day's midnight (a floor and a multiply: a floating-point `%` costs more). */
function msOfDay(t: number): number {
  return t - Math.floor(t / DAY_MS) * DAY_MS;
}

/** One warm-up reading; returns true when warm-up has just ended (the baseline is ready). */
function warmup(a: Float64Array, o: number, spec: CompiledSpec, x: number, t: number): boolean {
  const n = a[o + N]! + 1;
  a[o + N] = n;
  const mean = a[o + MEAN]!;
  const d = x - mean;
  const nextMean = mean + d / n;
  a[o + MEAN] = nextMean;
  a[o + M2] = a[o + M2]! + d * (x - nextMean);
  if (!spec.daily) {
    a[o + BASE] = nextMean;
    if (n < spec.warmupReadings) return false;
    a[o + SPREAD] = Math.max(spec.minSpread, Math.sqrt(a[o + M2]! / (n - 1)));
  } else {
    const slot = Math.floor(msOfDay(t) / SLOT_MS);
    const count = ++a[o + COUNTS + slot]!;
    a[o + SUMS + slot] = a[o + SUMS + slot]! + x;
    a[o + SQUARES + slot] = a[o + SQUARES + slot]! + x * x;
    a[o + BASE] = a[o + SUMS + slot]! / count;
    if (n < spec.warmupReadings) return false;
    for (let i = 0; i < DAILY_SLOTS; i++) if (a[o + COUNTS + i]! < spec.warmupPerSlot) return false;
    // Slot levels are the slot means; the spread is the pooled within-slot standard deviation.
    let ss = 0;
    let dof = 0;
    for (let i = 0; i < DAILY_SLOTS; i++) {
      const c = a[o + COUNTS + i]!;
      const sum = a[o + SUMS + i]!;
      a[o + SLOTS + i] = sum / c;
      ss += a[o + SQUARES + i]! - (sum * sum) / c;
      dof += c - 1;
    }
    a.fill(0, o + COUNTS, o + SQUARES + DAILY_SLOTS);
    a[o + SPREAD] = Math.max(spec.minSpread, Math.sqrt(Math.max(0, ss) / dof));
  }
  a[o + FAST] = 0;
  a[o + MEDIUM] = 0;
  // The sums start at zero here: a deviation found later began after this reading.
  a[o + UP_SINCE] = t;
  a[o + DOWN_SINCE] = t;
  return true;
}

/**
 * Judges one reading of the series at offset `o` of a state array and updates it; returns what happened.
 *
 * The caller guarantees readings arrive in strictly increasing time (PumpDetectors drops older ones). After
 * `VERDICT.raise`, {@link activeAt} names the detector that fired; `VERDICT.clear` resets it, so a caller that wants
 * to name the detector that cleared reads it before the call.
 *
 * @example
 * const v = judgeAt(state, 0, spec, 41, Date.parse('2014-03-10T05:00:00Z'));
 */
export function judgeAt(a: Float64Array, o: number, spec: CompiledSpec, x: number, t: number): Verdict {
  if (!(x > spec.stoppedAtOrBelow)) {
    // Stopped (or NaN): not judged. Remember when the stop began to decide on re-learning when it ends.
    if (a[o + STOPPED_SINCE]! < 0) a[o + STOPPED_SINCE] = t;
    return VERDICT.none;
  }
  const stoppedSince = a[o + STOPPED_SINCE]!;
  if (stoppedSince >= 0) {
    if (t - stoppedSince >= spec.relearnMs) relearn(a, o, spec);
    a[o + STOPPED_SINCE] = -1;
  }
  const spread = a[o + SPREAD]!;
  if (spread === 0) return warmup(a, o, spec, x, t) ? VERDICT.none : VERDICT.warming;

  let base = a[o + MEAN]!;
  // Daily baseline: linear between the levels of the two nearest slot centres, `lo` (the earlier) and `hi`, `w`
  // the weight of `hi`. Plain locals: a module-level variable holding a double would allocate on every write.
  let lo = 0;
  let hi = 0;
  let w = 0;
  if (spec.daily) {
    const pos = msOfDay(t) / SLOT_MS - 0.5;
    const fl = Math.floor(pos);
    w = pos - fl;
    lo = fl < 0 ? fl + DAILY_SLOTS : fl;
    hi = lo === DAILY_SLOTS - 1 ? 0 : lo + 1;
    base = a[o + SLOTS + lo]! * (1 - w) + a[o + SLOTS + hi]! * w;
  }
  a[o + BASE] = base;
  const r = x - base;
  const z = r / spread;
  const zc = z > Z_CLIP ? Z_CLIP : z < -Z_CLIP ? -Z_CLIP : z;
  // The level EWMAs see the residual clipped to ±STEP_CLIP spreads: a single wild reading moves the fast level by
  // at most 0.2 × 8 = 1.6 spreads, while a real step of any size still drives it far past stepSpreads.
  const slim = STEP_CLIP * spread;
  const rs = r > slim ? slim : r < -slim ? -slim : r;
  const fast = a[o + FAST]! + FAST_ALPHA * (rs - a[o + FAST]!);
  const medium = a[o + MEDIUM]! + MEDIUM_ALPHA * (rs - a[o + MEDIUM]!);
  a[o + FAST] = fast;
  a[o + MEDIUM] = medium;

  // Drift: two-sided CUSUM, capped so a long-lasting deviation keeps the state small and bounded.
  const threshold = spec.driftThreshold;
  const cap = 2 * threshold;
  const k = spec.driftSlack;
  let up = a[o + UP]! + zc - k;
  if (up <= 0) {
    up = 0;
    a[o + UP_SINCE] = t;
  } else if (up > cap) up = cap;
  let down = a[o + DOWN]! - zc - k;
  if (down <= 0) {
    down = 0;
    a[o + DOWN_SINCE] = t;
  } else if (down > cap) down = cap;
  a[o + UP] = up;
  a[o + DOWN] = down;

  // Step: rate of change, fast level against medium level (skipped when the spec has no step detector).
  let stepRun = 0;
  if (spec.step) {
    const score = (fast - medium) / spread;
    stepRun = a[o + STEP_RUN]!;
    if (score > spec.stepSpreads || score < -spec.stepSpreads) {
      if (stepRun === 0) a[o + STEP_SINCE] = t;
      stepRun++;
    } else stepRun = 0;
    a[o + STEP_RUN] = stepRun;
  }

  let verdict: Verdict = VERDICT.none;
  if (a[o + ACTIVE] === NO_WARNING) {
    if (stepRun >= spec.stepReadings) {
      a[o + ACTIVE] = STEP;
      a[o + ACTIVE_SINCE] = a[o + STEP_SINCE]!;
      verdict = VERDICT.raise;
    } else if (spec.drift && (up > threshold || down > threshold)) {
      a[o + ACTIVE] = DRIFT;
      a[o + ACTIVE_SINCE] = up >= down ? a[o + UP_SINCE]! : a[o + DOWN_SINCE]!;
      verdict = VERDICT.raise;
    }
  } else {
    const dev = fast / spread;
    const calm = dev < spec.clearSpreads && dev > -spec.clearSpreads ? a[o + CALM]! + 1 : 0;
    a[o + CALM] = calm;
    if (calm >= spec.clearReadings) {
      a[o + ACTIVE] = NO_WARNING;
      a[o + ACTIVE_SINCE] = -1;
      a[o + CALM] = 0;
      a[o + UP] = 0;
      a[o + DOWN] = 0;
      a[o + UP_SINCE] = t;
      a[o + DOWN_SINCE] = t;
      a[o + STEP_RUN] = 0;
      return VERDICT.clear;
    }
    return verdict;
  }

  // Baseline update, frozen while a warning is active or a drift is building up.
  if (verdict === VERDICT.none && up <= threshold / 2 && down <= threshold / 2) {
    const lim = UPDATE_CLIP * spread;
    const rc = r > lim ? lim : r < -lim ? -lim : r;
    if (spec.daily) {
      a[o + SLOTS + lo] = a[o + SLOTS + lo]! + spec.slotAlpha * (1 - w) * rc;
      a[o + SLOTS + hi] = a[o + SLOTS + hi]! + spec.slotAlpha * w * rc;
    } else {
      a[o + MEAN] = a[o + MEAN]! + spec.alpha * rc;
    }
    const abs = r < 0 ? -r : r;
    const next = spread + spec.alpha * ((abs > lim ? lim : abs) * MAD_TO_SD - spread);
    a[o + SPREAD] = next > spec.minSpread ? next : spec.minSpread;
  }
  return verdict;
}

/** The step score at offset `o`: (fast − medium) / spread, 0 during warm-up. */
export function stepScoreAt(a: Float64Array, o: number): number {
  const spread = a[o + SPREAD]!;
  return spread === 0 ? 0 : (a[o + FAST]! - a[o + MEDIUM]!) / spread;
}

const slice = (a: Float64Array, from: number): number[] => Array.from(a.subarray(from, from + DAILY_SLOTS));

/**
 * The series at offset `o` in JSON-able form.
 *
 * @example
 * JSON.stringify(readSeries(state, 0, spec));
 */
export function readSeries(a: Float64Array, o: number, spec: CompiledSpec): SeriesState {
  const warming = a[o + SPREAD] === 0;
  return {
    n: a[o + N]!,
    mean: a[o + MEAN]!,
    spread: a[o + SPREAD]!,
    m2: a[o + M2]!,
    slots: spec.daily && !warming ? slice(a, o + SLOTS) : null,
    counts: spec.daily && warming ? slice(a, o + COUNTS) : null,
    sums: spec.daily && warming ? slice(a, o + SUMS) : null,
    squares: spec.daily && warming ? slice(a, o + SQUARES) : null,
    base: a[o + BASE]!,
    fast: a[o + FAST]!,
    medium: a[o + MEDIUM]!,
    up: a[o + UP]!,
    down: a[o + DOWN]!,
    upSince: a[o + UP_SINCE]!,
    downSince: a[o + DOWN_SINCE]!,
    stepRun: a[o + STEP_RUN]!,
    stepSince: a[o + STEP_SINCE]!,
    active: ACTIVE_NAMES[a[o + ACTIVE]!]!,
    activeSince: a[o + ACTIVE_SINCE]!,
    calm: a[o + CALM]!,
    stoppedSince: a[o + STOPPED_SINCE]!,
  };
}

/**
 * Writes a JSON-form series at offset `o` (restoring a checkpoint).
 *
 * @example
 * writeSeries(state, 0, spec, JSON.parse(saved));
 */
export function writeSeries(a: Float64Array, o: number, spec: CompiledSpec, s: SeriesState): void {
  initSeries(a, o, spec);
  a[o + N] = s.n;
  a[o + MEAN] = s.mean;
  a[o + SPREAD] = s.spread;
  a[o + M2] = s.m2;
  a[o + BASE] = s.base;
  a[o + FAST] = s.fast;
  a[o + MEDIUM] = s.medium;
  a[o + UP] = s.up;
  a[o + DOWN] = s.down;
  a[o + UP_SINCE] = s.upSince;
  a[o + DOWN_SINCE] = s.downSince;
  a[o + STEP_RUN] = s.stepRun;
  a[o + STEP_SINCE] = s.stepSince;
  a[o + ACTIVE] = Math.max(0, ACTIVE_NAMES.indexOf(s.active));
  a[o + ACTIVE_SINCE] = s.activeSince;
  a[o + CALM] = s.calm;
  a[o + STOPPED_SINCE] = s.stoppedSince;
  if (spec.daily) {
    if (s.slots) a.set(s.slots, o + SLOTS);
    if (s.counts) a.set(s.counts, o + COUNTS);
    if (s.sums) a.set(s.sums, o + SUMS);
    if (s.squares) a.set(s.squares, o + SQUARES);
  }
}

/**
 * A fresh series state in JSON form (tests and tools; the consumer's path keeps states in arrays).
 *
 * @example
 * const state = newSeriesState('flat');
 */
export function newSeriesState(baseline: BaselineKind): SeriesState {
  const spec = { daily: baseline === 'daily', width: seriesWidth(baseline) } as CompiledSpec;
  const a = new Float64Array(spec.width);
  initSeries(a, 0, spec);
  return readSeries(a, 0, spec);
}

/**
 * Judges one reading of a JSON-form series in place (tests and tools): {@link judgeAt} on a copy, written back.
 *
 * @example
 * const v = judge(state, spec, 41, Date.parse('2014-03-10T05:00:00Z'));
 */
export function judge(s: SeriesState, spec: CompiledSpec, x: number, t: number): Verdict {
  const a = new Float64Array(spec.width);
  writeSeries(a, 0, spec, s);
  const verdict = judgeAt(a, 0, spec, x, t);
  Object.assign(s, readSeries(a, 0, spec));
  return verdict;
}

/** The step score of a JSON-form state: (fast − medium) / spread, 0 during warm-up. */
export function stepScore(s: SeriesState): number {
  return s.spread === 0 ? 0 : (s.fast - s.medium) / s.spread;
}
