import { compileSpec, judge, newSeriesState, stepScore, VERDICT, type SeriesState, type Verdict } from '../../../../lambdas/core/detectors/series-detector';
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
