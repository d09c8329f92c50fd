/**
 * Grouping a batch's stored readings by pump-day, for the catalog markers.
 *
 * Pure. Each pump-day remembers the lowest record index among its readings: a marker that cannot be written fails
 * the batch from that record, so the retry rewrites the marker before anything after it is checkpointed.
 */
import type { EvaluatedReading, PumpDay } from '../core/types';

/** Distinct pump-days in first-seen order, with the first record touching each. */
export interface PumpDayGroups {
  readonly pumpDays: PumpDay[];
  /** Lowest record index of a stored reading of `pumpDays[k]`. */
  readonly firstRecordOf: number[];
}

/**
 * Groups the readings not in `unwritten` by pump-day.
 *
 * @example
 * const { pumpDays, firstRecordOf } = groupPumpDays(readings, origin, new Set(written.failed));
 */
export function groupPumpDays(readings: readonly EvaluatedReading[], origin: readonly number[], unwritten: ReadonlySet<number>): PumpDayGroups {
  const pumpDays: PumpDay[] = [];
  const firstRecordOf: number[] = [];
  const seen = new Map<string, number>();
  readings.forEach((r, i) => {
    if (unwritten.has(i)) return;
    const key = `${r.day}#${r.pump}`;
    const at = seen.get(key);
    const record = origin[i]!;
    if (at === undefined) {
      seen.set(key, pumpDays.length);
      pumpDays.push({ pump: r.pump, day: r.day });
      firstRecordOf.push(record);
    } else if (record < firstRecordOf[at]!) {
      firstRecordOf[at] = record;
    }
  });
  return { pumpDays, firstRecordOf };
}
