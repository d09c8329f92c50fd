import { DETECTOR_DEFAULTS } from '../../../../lambdas/config';
import { EXPLAIN_COLUMNS, explainReadings, type ExplainRow } from '../../../../lambdas/core/detectors/explain';
import type { DetectorSpec } from '../../../../lambdas/core/detectors/types';
import type { Reading } from '../../../../lambdas/core/types';

/** A pressure-only spec that learns in 20 readings, warns within a reading of a 20 psi drop and clears in 3. */
const SPEC: DetectorSpec = {
  ...DETECTOR_DEFAULTS.psi,
  detectors: ['drift', 'step'],
  warmupReadings: 20,
  halfLifeReadings: 50,
  driftSlack: 0.5,
  driftThreshold: 1,
  stepSpreads: 2,
  stepReadings: 1,
  clearSpreads: 1,
  clearReadings: 3,
  minSpread: 0.5,
  stoppedAtOrBelow: 5,
};

/** Reading `i` of pump P1, one a minute from 2026-11-01T00:00Z, with the given pressure. */
function reading(i: number, psi: number): Reading {
  const ts = new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString().replace('.000Z', 'Z');
  return { pump: 'P1', day: ts.slice(0, 10), time: ts.slice(11, 19), ts, values: { hz: 60, disp: 5, flo: 80, sedPPM: 0.1, psi, chlPPM: 1 } };
}

/** 60 readings near 80 psi (a small deterministic wobble), then the given tail. */
function series(tail: readonly number[]): Reading[] {
  const steady = Array.from({ length: 60 }, (_, i) => 80 + ((i * 7) % 5) * 0.37 - 0.74);
  return [...steady, ...tail].map((psi, i) => reading(i, psi));
}

const rows = (readings: readonly Reading[], from?: string): ExplainRow[] => [...explainReadings(readings, [SPEC], from)];

describe('explainReadings', () => {
  it('marks warm-up rows warming with no statistics, then judges with the baseline rounded to 4 decimals', () => {
    const out = rows(series([]));
    expect(out).toHaveLength(60);
    expect(out[0]).toEqual({ ts: '2026-11-01T00:00:00Z', measure: 'psi', value: 79.26, state: 'warming', baseline: null, spread: null, level: null, deviation: null, cusumUp: null, cusumDown: null, step: null, event: '' });
    const last = out[59]!;
    expect(last.state).toBe('ok');
    for (const k of ['baseline', 'spread', 'level', 'deviation', 'cusumUp', 'cusumDown', 'step'] as const) {
      const v = last[k]!;
      expect(typeof v).toBe('number');
      expect(Math.abs(v * 10_000 - Math.round(v * 10_000))).toBeLessThan(1e-6);
    }
    expect(last.baseline!).toBeGreaterThan(79);
    expect(last.baseline!).toBeLessThan(81);
    expect(last.spread!).toBeGreaterThanOrEqual(0.5);
    expect(last.spread!).toBeLessThan(5);
    // deviation is (level − baseline) / spread, in spreads (to the 4-decimal rounding of each term).
    expect(last.deviation!).toBeCloseTo((last.level! - last.baseline!) / last.spread!, 2);
  });

  it('names a stopped reading, at exactly the stopped-at-or-below value too, and judges one just above it', () => {
    const out = rows(series([5, 4, 5.01]));
    expect(out.slice(60).map((r) => r.state)).toEqual(['stopped', 'stopped', expect.stringMatching(/^(ok|drift|step)$/)]);
    expect(out[59]!.state).toBe('ok');
  });

  it('reports the raise and the clear of a warning as "raise <rule>" / "clear <rule>", and the active detector as the state', () => {
    // A 20 psi drop for 10 readings, then back to normal for 60.
    const out = rows(series([...Array.from({ length: 10 }, () => 60), ...Array.from({ length: 60 }, () => 80)]));
    const events = out.filter((r) => r.event !== '');
    expect(events.map((r) => r.event)).toEqual(['raise psi-drift', 'clear psi-drift']);
    expect(events[0]!.ts).toBe(out[60]!.ts);
    expect(events[0]!.state).toBe('drift');
    expect(events[0]!.deviation!).toBeLessThan(-1);
    expect(out[61]!).toMatchObject({ state: 'drift', event: '' });
    expect(events[1]!.state).toBe('ok');
  });

  it('yields rows from `from` on, the reading exactly at `from` included', () => {
    const readings = series([]);
    const from = readings[40]!.ts;
    const out = rows(readings, from);
    expect(out).toHaveLength(20);
    expect(out[0]!.ts).toBe(from);
    // The detectors still learnt from the readings before `from`: the first row is already judged.
    expect(out[0]!.state).toBe('ok');
    expect(out[0]).toEqual(rows(readings)[40]);
  });

  it('has one CSV column per row field, in order', () => {
    expect(Object.keys(rows(series([]))[0]!)).toEqual([...EXPLAIN_COLUMNS]);
  });
});
