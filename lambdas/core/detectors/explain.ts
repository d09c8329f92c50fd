/**
 * The rows of `wellwatch explain`: what every detector saw and thought at every reading of one pump.
 *
 * Pure: readings in, rows out. The detectors run from the first reading given (the lookback before the range
 * included, so the baseline is learnt by the time the range starts), and rows are produced for readings from
 * `from` on — one row per reading and configured measure.
 */
import type { Reading } from '../types';
import { PumpDetectors } from './pump-detectors';
import { stepScore } from './series-detector';
import type { DetectorSpec } from './types';

/** One row: a measure of one reading, with the state of its detectors after the reading. */
export interface ExplainRow {
  readonly ts: string;
  readonly measure: string;
  readonly value: number;
  /**
   * `warming` (learning the baseline), `stopped` (value at or below `stoppedAtOrBelow`: not judged), `ok`, or the
   * detector whose warning is active (`drift`, `step`).
   */
  readonly state: string;
  /** Baseline and spread the reading was judged against (empty during warm-up). */
  readonly baseline: number | null;
  readonly spread: number | null;
  /** Short-term level, and its deviation from the baseline in spreads. */
  readonly level: number | null;
  readonly deviation: number | null;
  /** CUSUM sums (drift fires past `driftThreshold`) and the step score (fires past `stepSpreads`). */
  readonly cusumUp: number | null;
  readonly cusumDown: number | null;
  readonly step: number | null;
  /** `raise <rule>` or `clear <rule>` when this reading changed a condition, else ''. */
  readonly event: string;
}

/** CSV columns of {@link ExplainRow}, in order. */
export const EXPLAIN_COLUMNS = ['ts', 'measure', 'value', 'state', 'baseline', 'spread', 'level', 'deviation', 'cusumUp', 'cusumDown', 'step', 'event'] as const;

const r4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/**
 * Runs the detectors over one pump's readings (oldest first) and yields a row per reading at or after `from` and
 * configured measure.
 *
 * @example
 * for (const row of explainReadings(readings, config.detectors, '2014-03-12T00:00:00Z')) console.log(row);
 */
export function* explainReadings(readings: Iterable<Reading>, specs: readonly DetectorSpec[], from?: string): Generator<ExplainRow> {
  const detectors = new PumpDetectors(specs);
  for (const r of readings) {
    const conditions = detectors.observe(r);
    if (from !== undefined && r.ts < from) continue;
    for (const spec of detectors.specs) {
      const s = detectors.seriesOf(r.pump, spec.measure)!;
      const value = r.values[spec.measure];
      const events = conditions.filter((c) => c.detail.measure === spec.measure).map((c) => `${c.raise ? 'raise' : 'clear'} ${c.rule}`);
      const warming = s.spread === 0;
      const stopped = !(value > spec.stoppedAtOrBelow);
      yield {
        ts: r.ts,
        measure: spec.measure,
        value,
        state: stopped ? 'stopped' : warming ? 'warming' : s.active === '' ? 'ok' : s.active,
        baseline: warming ? null : r4(s.base),
        spread: warming ? null : r4(s.spread),
        level: warming ? null : r4(s.base + s.fast),
        deviation: warming ? null : r4(s.fast / s.spread),
        cusumUp: warming ? null : r4(s.up),
        cusumDown: warming ? null : r4(s.down),
        step: warming ? null : r4(stepScore(s)),
        event: events.join('; '),
      };
    }
  }
}
