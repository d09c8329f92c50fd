/**
 * A compact synthetic fleet for the scale test: every pump reports once per interval, at its own second of the
 * minute, at the real rate, with timestamps on a simulated clock.
 *
 * Pump i reports at the seconds s with s ≡ i (mod interval), so each second carries pumps/interval readings — the
 * steady feed of a fleet whose pumps are spread over the minute. During the storm window every tenth pump (share
 * 0.1 by default) reads psi 2, below the default `psi < 5` rule; the others read a healthy 80–90. Lines use the
 * seed's CSV format with ISO dates; a Kinesis record carries up to `linesPerRecord` lines, as the producer packs
 * them, with the first pump as partition key.
 */
import { pumpName } from '../../lambdas/core/generator';

/** Options of {@link feedSecond}. */
export interface FleetShape {
  readonly pumps: number;
  /** Seconds between two readings of one pump. */
  readonly intervalSeconds: number;
  /** Share of pumps in the alert storm (every round(1/share)-th pump). */
  readonly stormShare: number;
  readonly linesPerRecord: number;
}

/** One Kinesis record of the feed. */
export interface FeedRecord {
  readonly partitionKey: string;
  readonly data: string;
  readonly lines: number;
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * The records of simulated second `at` (whole seconds): the readings of the pumps whose turn it is.
 *
 * @example
 * feedSecond({ pumps: 600, intervalSeconds: 60, stormShare: 0.1, linesPerRecord: 25 }, new Date('2026-12-01T23:59:00Z'), false);
 * // → 10 readings in one record
 */
export function feedSecond(shape: FleetShape, at: Date, storm: boolean): FeedRecord[] {
  const second = Math.floor(at.getTime() / 1000);
  const slot = ((second % shape.intervalSeconds) + shape.intervalSeconds) % shape.intervalSeconds;
  const day = at.toISOString().slice(0, 10);
  const time = `${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())}`;
  const every = Math.max(1, Math.round(1 / shape.stormShare));
  const records: FeedRecord[] = [];
  let lines: string[] = [];
  let key = '';
  for (let i = slot; i < shape.pumps; i += shape.intervalSeconds) {
    const pump = pumpName(i);
    const psi = storm && i % every === 0 ? 2 : 80 + (i % 10);
    if (lines.length === 0) key = pump;
    lines.push(`${pump},${day},${time},10.${i % 90},1.7,${800 + (i % 100)},1.5,${psi},1.9`);
    if (lines.length === shape.linesPerRecord) {
      records.push({ partitionKey: key, data: lines.join('\n'), lines: lines.length });
      lines = [];
    }
  }
  if (lines.length > 0) records.push({ partitionKey: key, data: lines.join('\n'), lines: lines.length });
  return records;
}
