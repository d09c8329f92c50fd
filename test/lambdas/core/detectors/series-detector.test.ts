import {
  activeAt,
  compileSpec,
  FAST_ALPHA,
  initSeries,
  judge,
  judgeAt,
  MEDIUM_ALPHA,
  newSeriesState,
  readSeries,
  seriesWidth,
  stepScore,
  stepScoreAt,
  VERDICT,
  writeSeries,
  type SeriesState,
  type Verdict,
} from '../../../../lambdas/core/detectors/series-detector';
import type { DetectorSpec } from '../../../../lambdas/core/detectors/types';
import { mulberry32 } from '../../../../lambdas/core/generator';

/**
 * A spec whose numbers are easy to follow by hand: warm-up on constant readings gives spread = minSpread = 2 exactly,
 * and a half-life of a billion readings keeps the baseline at its warm-up mean to ~1e-9.
 */
const HAND: DetectorSpec = {
  measure: 'psi',
  detectors: ['drift', 'step'],
  baseline: 'flat',
  warmupReadings: 10,
  halfLifeReadings: 1e9,
  driftSlack: 1,
  driftThreshold: 10,
  stepSpreads: 3,
  stepReadings: 2,
  clearSpreads: 1,
  clearReadings: 3,
  stoppedAtOrBelow: 5,
  relearnAfterStopMinutes: 240,
  minSpread: 2,
  severity: 'advisory',
};

const T0 = Date.parse('2014-03-10T00:00:00Z');
const MIN = 60_000;

/** Feeds values one minute apart from `start`; returns the verdicts. */
function feed(s: SeriesState, spec: DetectorSpec, values: readonly number[], start: number): Verdict[] {
  const c = compileSpec(spec);
  return values.map((x, i) => judge(s, c, x, start + i * MIN));
}

/** A series warmed up on ten readings of 50 (minutes 0–9): baseline 50, spread 2. */
function warmed(spec: DetectorSpec = HAND): SeriesState {
  const s = newSeriesState(spec.baseline);
  feed(s, spec, new Array(10).fill(50), T0);
  return s;
}

const at = (verdicts: Verdict[], v: Verdict): number[] => verdicts.flatMap((x, i) => (x === v ? [i + 1] : []));

describe('series detector: warm-up', () => {
  it('judges nothing during warm-up, then starts from the warm-up mean and standard deviation', () => {
    const s = newSeriesState('flat');
    const verdicts = feed(s, { ...HAND, minSpread: 0.1 }, [48, 52, 48, 52, 48, 52, 48, 52, 48, 52], T0);
    expect(verdicts.slice(0, 9)).toEqual(new Array(9).fill(VERDICT.warming));
    expect(verdicts[9]).toBe(VERDICT.none);
    expect(s.mean).toBe(50);
    // Sample standard deviation of five 48s and five 52s: sqrt(40 / 9).
    expect(s.spread).toBeCloseTo(Math.sqrt(40 / 9), 12);
  });

  it('never lets the spread fall below minSpread (a perfectly quiet sensor)', () => {
    expect(warmed().spread).toBe(2);
  });
});

describe('series detector: drift (two-sided CUSUM)', () => {
  it('fires on a sustained 3-spread drop at the reading where the sum first exceeds the threshold', () => {
    const s = warmed();
    // z = (44 − 50) / 2 = −3 → down grows by 3 − 1 = 2 per reading: 2, 4, 6, 8, 10 (not > 10), 12 → fires on the 6th.
    const verdicts = feed(s, HAND, new Array(8).fill(44), T0 + 10 * MIN);
    expect(at(verdicts, VERDICT.raise)).toEqual([6]);
    expect(s.active).toBe('drift');
    // Since: the last reading where the sum was zero, the end of warm-up (minute 9).
    expect(s.activeSince).toBe(T0 + 9 * MIN);
  });

  it('fires on a slow ramp once the accumulated excess passes the threshold', () => {
    const s = warmed();
    // x_i = 50 − 0.1·i → z_i = −0.05·i; nothing accumulates up to i = 20, then 0.05·m(m+1)/2 for m = i − 20:
    // m = 19 → 9.5, m = 20 → 10.5 > 10, so the ramp fires on reading 40. The step check stays quiet: a ramp of
    // 0.05 spread per reading moves the fast and medium levels together (lag difference 45 readings → 2.25 < 3).
    const ramp = Array.from({ length: 60 }, (_, i) => 50 - 0.1 * (i + 1));
    const verdicts = feed(s, HAND, ramp, T0 + 10 * MIN);
    expect(at(verdicts, VERDICT.raise)).toEqual([40]);
    expect(s.active).toBe('drift');
    expect(s.activeSince).toBe(T0 + (10 + 19) * MIN); // reading 20 was the last with a zero sum
  });

  it('clips one wild reading (4 spreads for the CUSUM, 8 for the levels), so a single outlier fires nothing', () => {
    const s = warmed();
    // 95 is 22.5 spreads out. CUSUM: 4 − 1 = 3, then −1 per calm reading. Levels: r clipped to 16 → fast 3.2,
    // medium 0.32 → step score 1.44, below 3.
    const verdicts = feed(s, HAND, [50, 95, 50, 50], T0 + 10 * MIN);
    expect(verdicts).toEqual([VERDICT.none, VERDICT.none, VERDICT.none, VERDICT.none]);
    expect(s.up).toBeCloseTo(1, 6);
    expect(s.active).toBe('');
  });
});

describe('series detector: step (rate of change)', () => {
  it('fires on a 10-spread step after stepReadings readings beyond stepSpreads, before the CUSUM does', () => {
    const spec = { ...HAND, stepSpreads: 2.5 };
    const s = warmed(spec);
    // r = −20 (10 spreads), clipped to −16 (8 spreads) for the levels. fast: −3.2, −5.76, −7.808; medium: −0.32,
    // −0.6336, −0.940928; score = (fast − medium) / 2: −1.44, −2.5632, −3.433536 → beyond 2.5 on readings 2 and 3 →
    // fires on reading 3. The CUSUM (z clipped to −4: 3, 6, 9) has not reached 10 yet.
    const verdicts = feed(s, spec, [30, 30, 30], T0 + 10 * MIN);
    expect(verdicts).toEqual([VERDICT.none, VERDICT.none, VERDICT.raise]);
    expect(s.active).toBe('step');
    expect(s.activeSince).toBe(T0 + 11 * MIN);
    expect(stepScore(s)).toBeCloseTo(-3.433536, 5);
    expect(s.down).toBeCloseTo(9, 6);
  });
});

describe('series detector: clearing with hysteresis', () => {
  it('clears once the fast level has stayed within clearSpreads of the baseline for clearReadings readings', () => {
    const s = warmed();
    feed(s, HAND, new Array(6).fill(44), T0 + 10 * MIN); // raises on the 6th (see above)
    // fast = −6·(1 − 0.8^6) = −4.4274; back at 50 it decays by 0.8 per reading: |fast|/2 = 1.77, 1.42, 1.13, then
    // 0.91 (calm 1), 0.73 (calm 2), 0.58 (calm 3) → clears on the 6th reading back.
    const verdicts = feed(s, HAND, new Array(8).fill(50), T0 + 16 * MIN);
    expect(at(verdicts, VERDICT.clear)).toEqual([6]);
    expect(s.active).toBe('');
    expect([s.up, s.down]).toEqual([0, 0]);
  });

  it('restarts the calm count when the series leaves the band again (no flapping)', () => {
    const s = warmed();
    feed(s, HAND, new Array(6).fill(44), T0 + 10 * MIN);
    const verdicts = feed(s, HAND, [50, 50, 50, 50, 50, 40, 50, 50, 50, 50, 50, 50, 50, 50], T0 + 16 * MIN);
    expect(at(verdicts, VERDICT.clear).length).toBe(1);
    expect(at(verdicts, VERDICT.clear)[0]).toBeGreaterThan(8);
  });

  it('keeps the baseline frozen while a warning is active', () => {
    const fastLearner = { ...HAND, halfLifeReadings: 10 };
    const s = warmed(fastLearner);
    // The baseline chases the drop for a few readings, until the CUSUM passes half its threshold; from then on it
    // holds still, through the raise and while the warning is active.
    feed(s, fastLearner, new Array(5).fill(44), T0 + 10 * MIN);
    const held = { mean: s.mean, spread: s.spread };
    expect(held.mean).toBeLessThan(50);
    feed(s, fastLearner, new Array(30).fill(44), T0 + 15 * MIN);
    expect(s.active).toBe('drift');
    expect({ mean: s.mean, spread: s.spread }).toEqual(held);
  });
});

describe('series detector: noise, daily cycle, gaps and stops', () => {
  it('stays quiet on 5,000 readings of noise around a flat level', () => {
    const r = mulberry32(7);
    const noise = Array.from({ length: 5000 }, () => 50 + (r() + r() + r() - 1.5) * 4);
    const s = newSeriesState('flat');
    const verdicts = feed(s, { ...HAND, warmupReadings: 240, minSpread: 0.1, driftSlack: 1.25, driftThreshold: 150, stepSpreads: 4, stepReadings: 5 }, noise, T0);
    expect(at(verdicts, VERDICT.raise)).toEqual([]);
    expect(s.spread).toBeGreaterThan(1);
  });

  it('learns a daily cycle with the daily baseline and does not warn about it; a flat baseline does', () => {
    // Three days, a reading every 10 minutes, level 100 ± 10 peaking at 14:00, no noise.
    const cycle = Array.from({ length: 3 * 144 }, (_, i) => 100 + 10 * Math.cos((2 * Math.PI * (i * 10 - 840)) / 1440));
    const spec: DetectorSpec = { ...HAND, measure: 'disp', baseline: 'daily', detectors: ['drift'], warmupReadings: 72, minSpread: 1 };
    const c = compileSpec(spec);
    const daily = newSeriesState('daily');
    const verdicts = cycle.map((x, i) => judge(daily, c, x, T0 + i * 10 * MIN));
    // Warm-up ends when the last hourly slot (23:00–24:00) has its 3rd reading: 23:20, reading 141.
    expect(verdicts.slice(0, 140).every((v) => v === VERDICT.warming)).toBe(true);
    expect(verdicts[140]).toBe(VERDICT.none);
    expect(at(verdicts, VERDICT.raise)).toEqual([]);
    expect(daily.slots).toHaveLength(24);
    const flatSpec = compileSpec({ ...spec, baseline: 'flat' });
    const flat = newSeriesState('flat');
    expect(cycle.map((x, i) => judge(flat, flatSpec, x, T0 + i * 10 * MIN)).filter((v) => v === VERDICT.raise).length).toBeGreaterThan(0);
  });

  it('treats a gap as nothing: the state resumes as if the readings had been adjacent, and silence clears nothing', () => {
    const a = warmed();
    const b = warmed();
    feed(a, HAND, [44, 44, 44, 44, 44, 44], T0 + 10 * MIN);
    feed(b, HAND, [44, 44, 44], T0 + 10 * MIN);
    feed(b, HAND, [44, 44, 44], T0 + 13 * MIN + 6 * 60 * MIN); // six hours of silence
    expect(b.active).toBe('drift');
    const times = { activeSince: 0, downSince: 0, upSince: 0 };
    expect({ ...b, ...times }).toEqual({ ...a, ...times });
  });

  it('does not judge a stopped pump, and re-learns after a stop of relearnAfterStopMinutes', () => {
    const s = warmed();
    // A 2-hour stop (readings of 0): nothing judged, nothing learnt.
    const before = structuredClone(s);
    expect(feed(s, HAND, new Array(120).fill(0), T0 + 10 * MIN)).toEqual(new Array(120).fill(VERDICT.none));
    expect({ ...s, stoppedSince: -1 }).toEqual(before);
    expect(feed(s, HAND, [50], T0 + 130 * MIN)).toEqual([VERDICT.none]);
    expect([s.n, s.mean]).toEqual([10, 50]); // judged, and the warm-up count stays where warm-up ended
    // A 4-hour stop: the next running reading starts a new warm-up.
    feed(s, HAND, new Array(240).fill(0), T0 + 131 * MIN);
    expect(feed(s, HAND, [60], T0 + 371 * MIN)).toEqual([VERDICT.warming]);
    expect([s.n, s.mean]).toEqual([1, 60]);
  });
});

/** HAND with a baseline that learns fast enough to see (alpha = 1 − 2^(−1/10) ≈ 0.067 per reading). */
const LEARNER: DetectorSpec = { ...HAND, halfLifeReadings: 10 };
const LEARNER_ALPHA = 1 - Math.pow(2, -1 / 10);
const MAD_TO_SD = Math.sqrt(Math.PI / 2);

/**
 * A daily baseline on small values: warm-up of 72 readings every 20 minutes (3 per hourly slot), slot j holding
 * 0.25 + j, 0.5 + j, 0.75 + j (mean 0.5 + j, within-slot standard deviation 0.25).
 */
const DAILY: DetectorSpec = {
  ...HAND,
  measure: 'disp',
  baseline: 'daily',
  detectors: ['drift'],
  warmupReadings: 72,
  halfLifeReadings: 240,
  minSpread: 0.01,
  stoppedAtOrBelow: 0,
};
const DAILY_VALUES = Array.from({ length: 72 }, (_, i) => 0.5 + Math.floor(i / 3) + [-0.25, 0, 0.25][i % 3]!);
const DAY = 1440 * MIN;

describe('series detector: state layout', () => {
  it('gives a flat series 17 numbers and a daily one 17 + 4 × 24', () => {
    expect(seriesWidth('flat')).toBe(17);
    expect(seriesWidth('daily')).toBe(113);
    expect(compileSpec(HAND).width).toBe(17);
  });

  it('starts a fresh series with nothing learnt and every time at -1 ("none")', () => {
    const fresh = {
      n: 0,
      mean: 0,
      spread: 0,
      m2: 0,
      slots: null,
      counts: null,
      sums: null,
      squares: null,
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
    expect(newSeriesState('flat')).toEqual(fresh);
    const zeros = new Array(24).fill(0);
    expect(newSeriesState('daily')).toEqual({ ...fresh, counts: zeros, sums: zeros, squares: zeros });
    expect(stepScore(newSeriesState('flat'))).toBe(0);
  });

  it('keeps series side by side in one array apart: judging one never touches its neighbours', () => {
    const flat = compileSpec(HAND);
    const daily = compileSpec(DAILY);
    const specs = [flat, flat, flat, daily, daily];
    const offsets = [0, 17, 34, 51, 164];
    const a = new Float64Array(277);
    specs.forEach((spec, i) => initSeries(a, offsets[i]!, spec));
    const marked: SeriesState = {
      ...newSeriesState('flat'),
      ...{ n: 10, mean: 7, spread: 2, m2: 1, base: 7.5, fast: 3, medium: 1, up: 4, down: 5, upSince: 11, downSince: 12 },
      ...{ stepRun: 2, stepSince: 13, active: 'drift', activeSince: 14, calm: 3, stoppedSince: -1 },
    };
    const markedDaily: SeriesState = { ...marked, slots: Array.from({ length: 24 }, (_, i) => i + 0.5), counts: null, sums: null, squares: null };
    writeSeries(a, 0, flat, marked);
    writeSeries(a, 17, flat, marked);
    writeSeries(a, 164, daily, markedDaily);
    expect(activeAt(a, 0)).toBe('drift');
    expect(stepScoreAt(a, 17)).toBe(1); // (3 − 1) / 2
    expect(stepScoreAt(a, 34)).toBe(0); // warming
    // Warm up and judge the flat series at 34 and the daily one at 51, stops and a relearn included.
    for (let i = 0; i < 12; i++) judgeAt(a, 34, flat, 50 + (i % 2), T0 + i * MIN);
    DAILY_VALUES.forEach((x, i) => judgeAt(a, 51, daily, x, T0 + i * 20 * MIN));
    judgeAt(a, 51, daily, 0.6, T0 + DAY + 15 * MIN);
    expect(readSeries(a, 34, flat).spread).toBeGreaterThan(0);
    expect(readSeries(a, 51, daily).slots).toHaveLength(24);
    expect(readSeries(a, 0, flat)).toEqual(marked);
    expect(readSeries(a, 17, flat)).toEqual(marked);
    expect(readSeries(a, 164, daily)).toEqual(markedDaily);
  });
});

describe('series detector: warm-up state', () => {
  it('shows the running mean as the baseline of a flat series during warm-up', () => {
    const s = newSeriesState('flat');
    feed(s, HAND, [48, 52, 53], T0);
    expect(s.base).toBe(51);
    expect([s.n, s.mean]).toEqual([3, 51]);
  });

  it('learns a daily baseline from per-slot counts, sums and squares, ending when every slot has its readings', () => {
    const s = newSeriesState('daily');
    const c = compileSpec(DAILY);
    const verdicts = DAILY_VALUES.map((x, i) => {
      const v = judge(s, c, x, T0 + i * 20 * MIN);
      if (i === 4) {
        // Slot 0 has 0.25, 0.5, 0.75; slot 1 so far 1.25, 1.5 (its second reading shows the slot's running mean).
        expect(s.counts!.slice(0, 3)).toEqual([3, 2, 0]);
        expect(s.sums!.slice(0, 3)).toEqual([0.25 + 0.5 + 0.75, 1.25 + 1.5, 0]);
        expect(s.squares!.slice(0, 3)).toEqual([0.25 * 0.25 + 0.5 * 0.5 + 0.75 * 0.75, 1.25 * 1.25 + 1.5 * 1.5, 0]);
        expect(s.base).toBe((1.25 + 1.5) / 2);
      }
      return v;
    });
    // The 72nd reading (23:40) gives every slot its third reading and reaches warmupReadings: warm-up ends there.
    expect(verdicts.slice(0, 71).every((v) => v === VERDICT.warming)).toBe(true);
    expect(verdicts[71]).toBe(VERDICT.none);
    expect(s.slots!.map((x, j) => x - (0.5 + j)).every((d) => Math.abs(d) < 1e-12)).toBe(true);
    // Pooled within-slot standard deviation: each slot 0.125 / 2 → 0.25.
    expect(s.spread).toBeCloseTo(0.25, 9);
    expect([s.counts, s.sums, s.squares]).toEqual([null, null, null]);
  });

  it('needs at least 3 readings in every slot of a daily baseline, however small warmupReadings is', () => {
    const s = newSeriesState('daily');
    const c = compileSpec({ ...DAILY, warmupReadings: 24 });
    const verdicts = DAILY_VALUES.map((x, i) => judge(s, c, x, T0 + i * 20 * MIN));
    expect(verdicts.indexOf(VERDICT.none)).toBe(71);
  });
});

/** A daily series just out of warm-up (see DAILY). */
function dailyWarmed(): SeriesState {
  const s = newSeriesState('daily');
  const c = compileSpec(DAILY);
  DAILY_VALUES.forEach((x, i) => judge(s, c, x, T0 + i * 20 * MIN));
  return s;
}

describe('series detector: daily baseline after warm-up', () => {
  it('interpolates between the two nearest slot centres, across midnight too, and moves both slots toward a reading', () => {
    const s = dailyWarmed();
    const c = compileSpec(DAILY);
    const level = s.slots!.slice();
    const slotAlpha = 1 - Math.pow(2, -24 / 240);
    // 00:15: between the 23:30 centre (slot 23, weight 0.25) and the 00:30 one (slot 0, weight 0.75).
    expect(judge(s, c, 6.35, T0 + DAY + 15 * MIN)).toBe(VERDICT.none);
    const base = level[23]! * 0.25 + level[0]! * 0.75;
    expect(s.base).toBeCloseTo(base, 12);
    const r = 6.35 - base;
    expect(s.slots![23]).toBeCloseTo(level[23]! + slotAlpha * 0.25 * r, 12);
    expect(s.slots![0]).toBeCloseTo(level[0]! + slotAlpha * 0.75 * r, 12);
    expect(s.slots!.slice(1, 23)).toEqual(level.slice(1, 23));
    // 05:45: slot 5 (weight 0.75) and slot 6 (0.25).
    judge(s, c, 5.75, T0 + DAY + 345 * MIN);
    expect(s.base).toBeCloseTo(level[5]! * 0.75 + level[6]! * 0.25, 12);
  });
});

describe('series detector: stops and re-learning', () => {
  it('treats a reading exactly at stoppedAtOrBelow as stopped: not judged, not learnt', () => {
    const s = newSeriesState('flat');
    expect(feed(s, HAND, [5], T0)).toEqual([VERDICT.none]);
    expect([s.n, s.stoppedSince]).toEqual([0, T0]);
  });

  it('remembers a stop that began at time 0 and ends it at the next running reading', () => {
    const s = newSeriesState('flat');
    feed(s, HAND, [0, 0], 0);
    expect(s.stoppedSince).toBe(0);
    expect(feed(s, HAND, [50], 2 * MIN)).toEqual([VERDICT.warming]);
    expect(s.stoppedSince).toBe(-1);
  });

  it('keeps an active warning, and when it began, through the re-learning after a long stop', () => {
    const s = warmed();
    feed(s, HAND, new Array(6).fill(44), T0 + 10 * MIN); // drift raised, since minute 9
    feed(s, HAND, new Array(240).fill(0), T0 + 16 * MIN);
    expect(feed(s, HAND, [50], T0 + 256 * MIN)).toEqual([VERDICT.warming]);
    expect([s.n, s.active, s.activeSince]).toEqual([1, 'drift', T0 + 9 * MIN]);
  });
});

describe('series detector: CUSUM edges', () => {
  it('restarts the change point when a sum lands exactly on zero', () => {
    // z = +1 = k: up = 0 + 1 − 1 = 0 → up was zero at this reading.
    const up = warmed();
    feed(up, HAND, [52], T0 + 10 * MIN);
    expect([up.up, up.upSince]).toEqual([0, T0 + 10 * MIN]);
    const down = warmed();
    feed(down, HAND, [48], T0 + 10 * MIN);
    expect([down.down, down.downSince]).toEqual([0, T0 + 10 * MIN]);
  });

  it('caps each sum at twice the threshold while a deviation lasts', () => {
    const low = warmed();
    feed(low, HAND, new Array(20).fill(44), T0 + 10 * MIN); // +2 per reading → 20 after 10 more
    expect(low.down).toBe(20);
    const high = warmed();
    feed(high, HAND, new Array(20).fill(56), T0 + 10 * MIN);
    expect(high.up).toBe(20);
  });

  it('raises only when a sum is beyond the threshold, not when it reaches it', () => {
    // One reading 10 spreads out: z clipped to ±4 → the sum is 4 − 1 = 3 = driftThreshold.
    const spec: DetectorSpec = { ...HAND, driftThreshold: 3 };
    for (const x of [70, 30]) {
      const s = warmed(spec);
      expect(feed(s, spec, [x], T0 + 10 * MIN)).toEqual([VERDICT.none]);
      expect(Math.max(s.up, s.down)).toBe(3);
    }
  });

  it('dates a drift from the upward sum when both sums are past the threshold and equal (a checkpoint from a higher threshold)', () => {
    const s: SeriesState = { ...warmed(), up: 12, down: 12, upSince: T0 + MIN, downSince: T0 + 2 * MIN };
    expect(feed(s, HAND, [50], T0 + 10 * MIN)).toEqual([VERDICT.raise]); // z = 0: both sums 11
    expect([s.active, s.activeSince]).toEqual(['drift', T0 + MIN]);
  });

  it('dates an upward drift from the last reading where the upward sum was zero', () => {
    const s = warmed();
    const verdicts = feed(s, HAND, new Array(8).fill(56), T0 + 10 * MIN);
    expect(at(verdicts, VERDICT.raise)).toEqual([6]);
    expect([s.active, s.activeSince]).toEqual(['drift', T0 + 9 * MIN]);
  });
});

describe('series detector: step edges', () => {
  it('never raises a step when the spec has no step detector (the CUSUM raises the drift later)', () => {
    const spec: DetectorSpec = { ...HAND, detectors: ['drift'], stepSpreads: 2.5 };
    const s = warmed(spec);
    const verdicts = feed(s, spec, [30, 30, 30, 30], T0 + 10 * MIN);
    expect(at(verdicts, VERDICT.raise)).toEqual([4]);
    expect([s.active, s.stepRun]).toEqual(['drift', 0]);
  });

  it('raises an upward step as well as a downward one', () => {
    const spec = { ...HAND, stepSpreads: 2.5 };
    const s = warmed(spec);
    expect(feed(s, spec, [70, 70, 70], T0 + 10 * MIN)).toEqual([VERDICT.none, VERDICT.none, VERDICT.raise]);
    expect([s.active, s.activeSince]).toEqual(['step', T0 + 11 * MIN]);
  });

  it('scores the rate of change, not the level: a lasting 3-spread offset raises no step', () => {
    // fast − medium peaks near 4.3 (2.15 spreads) and decays; fast + medium would pass 6 within ten readings.
    const spec: DetectorSpec = { ...HAND, detectors: ['step'] };
    const s = warmed(spec);
    expect(at(feed(s, spec, new Array(40).fill(44), T0 + 10 * MIN), VERDICT.raise)).toEqual([]);
  });

  it('needs a score beyond stepSpreads: exactly at it is not a step, either way', () => {
    // First reading after warm-up, r = ±10: fast = 0.2·r, medium = 0.02·r, score = (fast − medium) / 2.
    const edge = (FAST_ALPHA * 10 - MEDIUM_ALPHA * 10) / 2;
    const spec: DetectorSpec = { ...HAND, stepSpreads: edge, stepReadings: 1 };
    const up = warmed(spec);
    expect(feed(up, spec, [60], T0 + 10 * MIN)).toEqual([VERDICT.none]);
    expect(up.stepRun).toBe(0);
    const down = warmed(spec);
    expect(feed(down, spec, [40], T0 + 10 * MIN)).toEqual([VERDICT.none]);
    expect(down.stepRun).toBe(0);
  });
});

describe('series detector: clearing edges', () => {
  it('clears an upward warning only once the fast level is back within clearSpreads', () => {
    const s = warmed();
    feed(s, HAND, new Array(6).fill(56), T0 + 10 * MIN); // raises on the 6th
    const verdicts = feed(s, HAND, new Array(8).fill(50), T0 + 16 * MIN);
    expect(at(verdicts, VERDICT.clear)).toEqual([6]);
  });

  it('does not count a fast level exactly clearSpreads out as calm', () => {
    // fast = ±2 with a residual of ±2 stays ±2: dev = ±1 = clearSpreads, on the edge of the band.
    for (const [fast, x] of [
      [-2, 48],
      [2, 52],
    ] as const) {
      const s: SeriesState = { ...warmed(), active: 'drift', activeSince: T0, fast, calm: 2 };
      expect(feed(s, HAND, [x], T0 + 10 * MIN)).toEqual([VERDICT.none]);
      expect([s.active, s.calm]).toEqual(['drift', 0]);
    }
  });

  it('starts afresh after a clear: no warning, calm 0, sums at zero from this reading, no step run', () => {
    // Active step, two calm readings; the medium level still far off keeps the step score beyond stepSpreads.
    const s: SeriesState = { ...warmed(), active: 'step', activeSince: T0, calm: 2, up: 7, down: 3, upSince: T0, downSince: T0, medium: 10, stepRun: 4 };
    const t = T0 + 10 * MIN;
    expect(feed(s, HAND, [50], t)).toEqual([VERDICT.clear]);
    expect(s).toMatchObject({ active: '', activeSince: -1, calm: 0, up: 0, down: 0, upSince: t, downSince: t, stepRun: 0 });
  });
});

describe('series detector: baseline update', () => {
  it('moves the mean toward a reading by alpha times the residual clipped to 3 spreads, and the spread toward it', () => {
    const high = warmed(LEARNER);
    feed(high, LEARNER, [60], T0 + 10 * MIN); // r = 10 → clipped to 6
    expect(high.mean).toBeCloseTo(50 + LEARNER_ALPHA * 6, 12);
    expect(high.spread).toBeCloseTo(2 + LEARNER_ALPHA * (6 * MAD_TO_SD - 2), 12);
    const low = warmed(LEARNER);
    feed(low, LEARNER, [40], T0 + 10 * MIN);
    expect(low.mean).toBeCloseTo(50 - LEARNER_ALPHA * 6, 12);
    expect(low.spread).toBeCloseTo(high.spread, 12);
  });

  it('keeps the spread at minSpread when quiet readings would pull it below', () => {
    const s = warmed(LEARNER);
    feed(s, LEARNER, [50, 50], T0 + 10 * MIN);
    expect(s.spread).toBe(2);
  });

  it('learns while both sums are at most half the threshold, and freezes beyond', () => {
    // One reading 10 spreads out: z clipped to ±4 → the sum is 4 − 1 = 3.
    const atHalf: DetectorSpec = { ...LEARNER, driftThreshold: 6 };
    const beyondHalf: DetectorSpec = { ...LEARNER, driftThreshold: 5 };
    for (const [x, sign] of [
      [70, 1],
      [30, -1],
    ] as const) {
      const learning = warmed(atHalf);
      feed(learning, atHalf, [x], T0 + 10 * MIN);
      expect(learning.mean).toBeCloseTo(50 + sign * LEARNER_ALPHA * 6, 12);
      const frozen = warmed(beyondHalf);
      feed(frozen, beyondHalf, [x], T0 + 10 * MIN);
      expect([frozen.mean, frozen.spread]).toEqual([50, 2]);
    }
  });

  it('does not learn from the reading that raises a warning', () => {
    const spec = { ...HAND, stepSpreads: 2.5, driftThreshold: 100 };
    const s = warmed(spec);
    feed(s, spec, [30, 30], T0 + 10 * MIN);
    const before = { mean: s.mean, spread: s.spread };
    expect(feed(s, spec, [30], T0 + 12 * MIN)).toEqual([VERDICT.raise]);
    expect({ mean: s.mean, spread: s.spread }).toEqual(before);
  });
});
