/**
 * Time buckets of a pump's series: resolutions, bucket boundaries, the choice of a resolution for a point budget,
 * and a streaming bucket builder.
 *
 * Pure: the query API feeds it readings (for 1m/5m, and for days not rolled up yet) and the rollup feeds it a
 * pump-day to precompute hours. Each bucket's aggregates come from {@link RollupAccumulator}, so a bucket computed
 * here and an hour precomputed by the rollup are the same numbers.
 */
import { WellwatchError } from './errors';
import { RollupAccumulator } from './rollup';
import type { DailyStats, Measure, MeasureStats, MeasureValues } from './types';

/** Resolutions of `/pumps/{pump}/readings`: raw readings, or buckets of one minute … one day. */
export const RESOLUTIONS = ['raw', '1m', '5m', '1h', '1d'] as const;
/** One resolution. */
export type Resolution = (typeof RESOLUTIONS)[number];
/** A resolution that aggregates readings into buckets. */
export type BucketResolution = Exclude<Resolution, 'raw'>;

/** Length of a bucket, seconds. Buckets are aligned on the UTC epoch (so hours and days on UTC boundaries). */
export const BUCKET_SECONDS: Readonly<Record<BucketResolution, number>> = { '1m': 60, '5m': 300, '1h': 3_600, '1d': 86_400 };

/** Bucket resolutions from finest to coarsest. */
const BY_SIZE: readonly BucketResolution[] = ['1m', '5m', '1h', '1d'];

/** Aggregates of one bucket: its start, how many readings, and min/max/avg of each measure. */
export interface Bucket {
  /** Start of the bucket, `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly ts: string;
  readonly count: number;
  readonly measures: Record<Measure, MeasureStats>;
}

/**
 * An instant as `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, the readings' own timestamp form).
 *
 * @example
 * isoSeconds(Date.UTC(2014, 2, 10, 5)); // → '2014-03-10T05:00:00Z'
 */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

/**
 * Start (epoch ms) of the bucket holding `ms`.
 *
 * @example
 * bucketStart(Date.parse('2014-03-10T05:07:12Z'), '5m'); // → Date.parse('2014-03-10T05:05:00Z')
 */
export function bucketStart(ms: number, resolution: BucketResolution): number {
  const size = BUCKET_SECONDS[resolution] * 1000;
  return Math.floor(ms / size) * size;
}

/**
 * Number of buckets of `resolution` that a range touches (whole buckets, both ends included).
 *
 * @example
 * bucketCount(Date.parse('2014-03-10T00:00:00Z'), Date.parse('2014-03-10T23:59:59Z'), '1h'); // → 24
 */
export function bucketCount(fromMs: number, toMs: number, resolution: BucketResolution): number {
  if (toMs < fromMs) return 0;
  const size = BUCKET_SECONDS[resolution] * 1000;
  return Math.floor(toMs / size) - Math.floor(fromMs / size) + 1;
}

/**
 * The finest bucket resolution whose buckets over the range fit the point budget (1d when none does).
 *
 * @example
 * chooseResolution(Date.parse('2014-01-01'), Date.parse('2014-03-31T23:59:59Z'), 1000); // → '1d'
 * chooseResolution(Date.parse('2014-03-10'), Date.parse('2014-03-10T23:59:59Z'), 1000); // → '5m'
 */
export function chooseResolution(fromMs: number, toMs: number, points: number): BucketResolution {
  for (const r of BY_SIZE) if (bucketCount(fromMs, toMs, r) <= points) return r;
  return '1d';
}

/**
 * A bucket from an accumulator's result (whose `date` field is ignored).
 *
 * @example
 * toBucket('2014-03-10T05:00:00Z', acc.result('P', 'x'));
 */
export function toBucket(ts: string, stats: Pick<DailyStats, 'count' | 'measures'>): Bucket {
  return { ts, count: stats.count, measures: stats.measures };
}

/**
 * Folds time-ordered readings into buckets, one finished bucket at a time.
 *
 * `add` returns the previous bucket when a reading starts a new one; `flush` returns the last. Readings must come in
 * ascending time (as a Query on one pump returns them).
 *
 * @example
 * const b = new BucketBuilder('5m');
 * for (const r of readings) { const done = b.add(Date.parse(r.ts), r.values); if (done) out.push(done); }
 * const last = b.flush(); if (last) out.push(last);
 */
export class BucketBuilder {
  private start = NaN;
  private acc = new RollupAccumulator();

  constructor(readonly resolution: BucketResolution) {}

  /** Start (epoch ms) of the bucket being filled; NaN when empty. */
  get currentStart(): number {
    return this.start;
  }

  /** Readings in the bucket being filled. */
  get currentCount(): number {
    return this.acc.count;
  }

  /**
   * Adds one reading; returns the finished bucket when this reading opens a new one.
   *
   * @throws WellwatchError when readings go back in time.
   */
  add(ms: number, values: MeasureValues): Bucket | undefined {
    const start = bucketStart(ms, this.resolution);
    let done: Bucket | undefined;
    if (start !== this.start) {
      if (start < this.start) throw new WellwatchError(`buckets: readings must be in ascending time, got ${isoSeconds(ms)} after ${isoSeconds(this.start)}`);
      done = this.flush();
      this.start = start;
    }
    this.acc.add(values);
    return done;
  }

  /** Finishes the bucket being filled (undefined when empty) and starts afresh. */
  flush(): Bucket | undefined {
    if (this.acc.count === 0) return undefined;
    const bucket = toBucket(isoSeconds(this.start), this.acc.result('bucket', isoSeconds(this.start)));
    this.acc = new RollupAccumulator();
    this.start = NaN;
    return bucket;
  }
}

/**
 * Aggregates one pump-day into its daily statistics and its hourly rows at once (one pass over the readings).
 *
 * Hourly rows are {@link DailyStats} whose `date` is the hour `YYYY-MM-DDTHH`; only hours with readings get one.
 *
 * @example
 * const agg = new PumpDayAggregator('COHUTTA', '2014-03-10');
 * for (const r of readings) agg.add(r.time, r.values);
 * agg.daily(); agg.hourly();
 */
export class PumpDayAggregator {
  private readonly day = new RollupAccumulator();
  private readonly hours = new Map<number, RollupAccumulator>();

  constructor(
    readonly pump: string,
    readonly date: string,
  ) {}

  /** Readings added. */
  get count(): number {
    return this.day.count;
  }

  /**
   * Adds a reading at `time` (`HH:MM:SS`) of the day.
   *
   * @throws WellwatchError when the time is not `HH:MM:SS` or a measure is not finite.
   */
  add(time: string, values: MeasureValues): void {
    const hour = Number(time.slice(0, 2));
    if (!/^\d{2}:\d{2}:\d{2}$/.test(time) || hour > 23) throw new WellwatchError(`rollup: reading time must be HH:MM:SS, got ${JSON.stringify(time)}`);
    let acc = this.hours.get(hour);
    if (!acc) this.hours.set(hour, (acc = new RollupAccumulator()));
    acc.add(values);
    this.day.add(values);
  }

  /** The day's statistics. @throws WellwatchError when nothing was added. */
  daily(): DailyStats {
    return this.day.result(this.pump, this.date);
  }

  /** One row per hour with readings, ascending. */
  hourly(): DailyStats[] {
    return [...this.hours.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([hour, acc]) => acc.result(this.pump, `${this.date}T${String(hour).padStart(2, '0')}`));
  }
}
