/**
 * The detectors of one (pump, measure) series: a robust baseline, a two-sided CUSUM and a rate-of-change check.
 *
 * Everything a series needs fits in one small, JSON-able {@link SeriesState} (about 20 numbers; a `daily` baseline
 * adds 24 slot levels), updated purely sequentially, one reading at a time, with no clock and no randomness: the same
 * readings in the same order give bit-identical states and verdicts however they were batched, and a state
 * round-tripped through JSON (JavaScript prints doubles exactly) continues exactly where it stopped.
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
}

/**
 * Derives a spec's constants.
 *
 * @example
 * const spec = compileSpec({ ...DETECTOR_DEFAULTS.psi });
 */
export function compileSpec(spec: DetectorSpec): CompiledSpec {
  return {
    ...spec,
    drift: spec.detectors.includes('drift'),
    step: spec.detectors.includes('step'),
    daily: spec.baseline === 'daily',
    alpha: 1 - Math.pow(2, -1 / spec.halfLifeReadings),
    slotAlpha: 1 - Math.pow(2, -DAILY_SLOTS / spec.halfLifeReadings),
    warmupPerSlot: Math.max(3, Math.ceil(spec.warmupReadings / DAILY_SLOTS)),
    relearnMs: spec.relearnAfterStopMinutes * MINUTE_MS,
  };
}

/**
 * The state of one series: plain numbers (and arrays of numbers for a daily baseline), JSON-able as it is.
 *
 * Times are epoch milliseconds; -1 means "none".
 */
export interface SeriesState {
  /** Judged readings since learning (re)started. */
  n: number;
  /** Flat baseline mean (during warm-up: the running mean). */
  mean: number;
  /** Baseline spread (robust standard deviation); 0 until warm-up ends. */
  spread: number;
  /** Warm-up sum of squared deviations (Welford), flat baseline. */
  m2: number;
  /** Daily baseline: level of each hourly slot (absent until warm-up ends). */
  slots?: number[];
  /** Daily warm-up: per-slot count, sum and sum of squares (dropped when warm-up ends). */
  counts?: number[];
  sums?: number[];
  squares?: number[];
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
  /** The active warning's detector, or '' when none; when and why it began. */
  active: DetectorKind | '';
  activeSince: number;
  /** Consecutive calm readings while a warning is active. */
  calm: number;
  /** First stopped reading of the current stop, or -1 while the pump runs. */
  stoppedSince: number;
}

/** What one reading did to a series. */
export const VERDICT = { none: 0, raise: 1, clear: 2, warming: 3 } as const;
export type Verdict = (typeof VERDICT)[keyof typeof VERDICT];

/**
 * A fresh series state for a baseline kind.
 *
 * @example
 * const state = newSeriesState('flat');
 */
export function newSeriesState(baseline: BaselineKind): SeriesState {
  const s: SeriesState = {
    n: 0,
    mean: 0,
    spread: 0,
    m2: 0,
    base: 0,
    fast: 0,
    medium: 0,
    up: 0,
    down: 0,
    upSince: -1,
    downSince: -1,
    stepRun: 0,
    stepSince: -1,
    active: '',
    activeSince: -1,
    calm: 0,
    stoppedSince: -1,
  };
  if (baseline === 'daily') startDailyWarmup(s);
  return s;
}

function startDailyWarmup(s: SeriesState): void {
  s.counts = new Array<number>(DAILY_SLOTS).fill(0);
  s.sums = new Array<number>(DAILY_SLOTS).fill(0);
  s.squares = new Array<number>(DAILY_SLOTS).fill(0);
  delete s.slots;
}

/** Forgets the learnt baseline and detector sums (warm-up again); keeps the active warning, if any. */
function relearn(s: SeriesState, spec: CompiledSpec): void {
  s.n = 0;
  s.mean = 0;
  s.spread = 0;
  s.m2 = 0;
  s.fast = 0;
  s.medium = 0;
  s.up = 0;
  s.down = 0;
  s.upSince = -1;
  s.downSince = -1;
  s.stepRun = 0;
  s.stepSince = -1;
  s.calm = 0;
  if (spec.daily) startDailyWarmup(s);
}

/** Minute of the UTC day, fractional. */
function minuteOfDay(t: number): number {
  const m = (t / MINUTE_MS) % 1440;
  return m < 0 ? m + 1440 : m;
}

/** The daily baseline at `t`: linear between the centres of the two nearest hourly slots. */
function dailyBase(slots: readonly number[], t: number): number {
  const p = minuteOfDay(t) / SLOT_MINUTES - 0.5;
  const lo = Math.floor(p);
  const w = p - lo;
  const i0 = (lo + DAILY_SLOTS) % DAILY_SLOTS;
  const i1 = (i0 + 1) % DAILY_SLOTS;
  return slots[i0]! * (1 - w) + slots[i1]! * w;
}

/** One warm-up reading; returns true when warm-up has just ended (the baseline is ready). */
function warmup(s: SeriesState, spec: CompiledSpec, x: number, t: number): boolean {
  s.n++;
  const d = x - s.mean;
  s.mean += d / s.n;
  s.m2 += d * (x - s.mean);
  if (!spec.daily) {
    s.base = s.mean;
    if (s.n < spec.warmupReadings) return false;
    s.spread = Math.max(spec.minSpread, Math.sqrt(s.m2 / (s.n - 1)));
  } else {
    const counts = s.counts!;
    const slot = Math.floor(minuteOfDay(t) / SLOT_MINUTES);
    counts[slot]!++;
    s.sums![slot]! += x;
    s.squares![slot]! += x * x;
    s.base = s.sums![slot]! / counts[slot]!;
    if (s.n < spec.warmupReadings) return false;
    for (let i = 0; i < DAILY_SLOTS; i++) if (counts[i]! < spec.warmupPerSlot) return false;
    // Slot levels are the slot means; the spread is the pooled within-slot standard deviation.
    let ss = 0;
    let dof = 0;
    const slots = new Array<number>(DAILY_SLOTS);
    for (let i = 0; i < DAILY_SLOTS; i++) {
      const c = counts[i]!;
      slots[i] = s.sums![i]! / c;
      ss += s.squares![i]! - (s.sums![i]! * s.sums![i]!) / c;
      dof += c - 1;
    }
    s.slots = slots;
    s.spread = Math.max(spec.minSpread, Math.sqrt(Math.max(0, ss) / dof));
    delete s.counts;
    delete s.sums;
    delete s.squares;
  }
  s.fast = 0;
  s.medium = 0;
  // The sums start at zero here: a deviation found later began after this reading.
  s.upSince = t;
  s.downSince = t;
  return true;
}

/**
 * Judges one reading of a series and updates its state; returns what happened.
 *
 * The caller guarantees readings arrive in strictly increasing time (see PumpDetectors, which drops older ones).
 * After `VERDICT.raise`, `state.active` names the detector that fired; `VERDICT.clear` resets it, so a caller that
 * wants to name the detector that cleared reads `state.active` before the call.
 *
 * @example
 * const v = judge(state, spec, 41, Date.parse('2014-03-10T05:00:00Z'));
 */
export function judge(s: SeriesState, spec: CompiledSpec, x: number, t: number): Verdict {
  if (!(x > spec.stoppedAtOrBelow)) {
    // Stopped (or NaN): not judged. Remember when the stop began to decide on re-learning when it ends.
    if (s.stoppedSince < 0) s.stoppedSince = t;
    return VERDICT.none;
  }
  if (s.stoppedSince >= 0) {
    if (t - s.stoppedSince >= spec.relearnMs) relearn(s, spec);
    s.stoppedSince = -1;
  }
  if (s.spread === 0) return warmup(s, spec, x, t) ? VERDICT.none : VERDICT.warming;

  const base = spec.daily ? dailyBase(s.slots!, t) : s.mean;
  s.base = base;
  const spread = s.spread;
  const r = x - base;
  const z = r / spread;
  const zc = z > Z_CLIP ? Z_CLIP : z < -Z_CLIP ? -Z_CLIP : z;
  s.n++;
  // The level EWMAs see the residual clipped to ±STEP_CLIP spreads: a single wild reading moves the fast level by
  // at most 0.2 × 8 = 1.6 spreads, while a real step of any size still drives it far past stepSpreads.
  const slim = STEP_CLIP * spread;
  const rs = r > slim ? slim : r < -slim ? -slim : r;
  s.fast += FAST_ALPHA * (rs - s.fast);
  s.medium += MEDIUM_ALPHA * (rs - s.medium);

  // Drift: two-sided CUSUM, capped so a long-lasting deviation keeps the state small and bounded.
  const cap = 2 * spec.driftThreshold;
  const k = spec.driftSlack;
  let up = s.up + zc - k;
  if (up <= 0) {
    up = 0;
    s.upSince = t;
  } else if (up > cap) up = cap;
  let down = s.down - zc - k;
  if (down <= 0) {
    down = 0;
    s.downSince = t;
  } else if (down > cap) down = cap;
  s.up = up;
  s.down = down;

  // Step: rate of change, fast level against medium level.
  const stepScore = (s.fast - s.medium) / spread;
  if (stepScore > spec.stepSpreads || stepScore < -spec.stepSpreads) {
    if (s.stepRun === 0) s.stepSince = t;
    s.stepRun++;
  } else s.stepRun = 0;

  let verdict: Verdict = VERDICT.none;
  if (s.active === '') {
    if (spec.step && s.stepRun >= spec.stepReadings) {
      s.active = 'step';
      s.activeSince = s.stepSince;
      verdict = VERDICT.raise;
    } else if (spec.drift && (up > spec.driftThreshold || down > spec.driftThreshold)) {
      s.active = 'drift';
      s.activeSince = up >= down ? s.upSince : s.downSince;
      verdict = VERDICT.raise;
    }
  } else {
    const dev = s.fast / spread;
    if (dev < spec.clearSpreads && dev > -spec.clearSpreads) s.calm++;
    else s.calm = 0;
    if (s.calm >= spec.clearReadings) {
      s.active = '';
      s.activeSince = -1;
      s.calm = 0;
      s.up = 0;
      s.down = 0;
      s.upSince = t;
      s.downSince = t;
      s.stepRun = 0;
      verdict = VERDICT.clear;
    }
  }

  // Baseline update, frozen while a warning is active or a drift is building up.
  if (s.active === '' && verdict === VERDICT.none && up <= spec.driftThreshold / 2 && down <= spec.driftThreshold / 2) {
    const lim = UPDATE_CLIP * spread;
    const rc = r > lim ? lim : r < -lim ? -lim : r;
    if (spec.daily) {
      const p = minuteOfDay(t) / SLOT_MINUTES - 0.5;
      const lo = Math.floor(p);
      const w = p - lo;
      const i0 = (lo + DAILY_SLOTS) % DAILY_SLOTS;
      const i1 = (i0 + 1) % DAILY_SLOTS;
      const slots = s.slots!;
      slots[i0] = slots[i0]! + spec.slotAlpha * (1 - w) * rc;
      slots[i1] = slots[i1]! + spec.slotAlpha * w * rc;
    } else {
      s.mean += spec.alpha * rc;
    }
    const a = r < 0 ? -r : r;
    const next = spread + spec.alpha * ((a > lim ? lim : a) * MAD_TO_SD - spread);
    s.spread = next > spec.minSpread ? next : spec.minSpread;
  }
  return verdict;
}

/** The step score of a state: (fast − medium) / spread, 0 during warm-up. */
export function stepScore(s: SeriesState): number {
  return s.spread === 0 ? 0 : (s.fast - s.medium) / s.spread;
}
