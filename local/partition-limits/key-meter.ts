/**
 * Token buckets per partition key: what the partition-limit proxy charges requests against.
 *
 * Pure (the clock is injected). Every (resource, direction, key) has its own bucket of `unitsPerSecond ×
 * burstSeconds` units refilled at `unitsPerSecond`; a write is admitted only when every key it touches (the table's
 * and each index's) has the units it costs, and then all of them are debited together — DynamoDB throttles the
 * whole write when one of its index partitions cannot take it ("a throttled GSI throttles writes to its base
 * table"). A read cannot know its size before it runs: it is admitted while the key's bucket is not empty and
 * charged afterwards (the bucket may go below zero, delaying the next read).
 *
 * Besides admitting, the meter keeps per key: units consumed, requests and units throttled, and the peak units per
 * one-second window, consumed and demanded (consumed plus throttled attempts) — the numbers the scale test reports.
 */

/** Reads and writes are limited separately. */
export type Direction = 'read' | 'write';

/** One cost a request puts on one partition key. */
export interface Charge {
  /** Table name, or `table/index` for a global secondary index. */
  readonly resource: string;
  /** The partition key value (`S`, `N` as text; `B` base64). */
  readonly key: string;
  readonly direction: Direction;
  readonly units: number;
  /** The table's or the index's ARN (for the exception's ThrottlingReasons). */
  readonly arn: string;
  /** True for an index, false for the table itself. */
  readonly index: boolean;
}

/** Options of {@link KeyMeter}. */
export interface KeyMeterOptions {
  readonly writeUnitsPerSecond: number;
  readonly readUnitsPerSecond: number;
  /** Seconds of capacity a bucket holds (its burst). */
  readonly burstSeconds: number;
  /** Milliseconds clock. @default - `Date.now` */
  readonly now?: () => number;
}

/** What the meter knows about one key; a snapshot. */
export interface KeyStats {
  readonly resource: string;
  readonly key: string;
  readonly direction: Direction;
  /** The key's limit, units per second. */
  readonly limit: number;
  /** Units admitted. */
  readonly consumedUnits: number;
  /** Requests (or batch entries) refused because this key was over its limit (not those refused for another key). */
  readonly throttledRequests: number;
  readonly throttledUnits: number;
  /** Most units admitted in one wall-clock second. */
  readonly peakConsumedPerSecond: number;
  /** Most units asked for (admitted or refused) in one wall-clock second. */
  readonly peakDemandPerSecond: number;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
  consumed: number;
  throttledRequests: number;
  throttledUnits: number;
  second: number;
  consumedThisSecond: number;
  demandThisSecond: number;
  peakConsumed: number;
  peakDemand: number;
}

/**
 * Per-key token buckets with statistics.
 *
 * @example
 * const meter = new KeyMeter({ writeUnitsPerSecond: 10, readUnitsPerSecond: 30, burstSeconds: 1 });
 * if (meter.tryTake(charges).length === 0) forward(); else throttle();
 */
export class KeyMeter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly o: KeyMeterOptions) {
    for (const [name, v] of [
      ['writeUnitsPerSecond', o.writeUnitsPerSecond],
      ['readUnitsPerSecond', o.readUnitsPerSecond],
      ['burstSeconds', o.burstSeconds],
    ] as const) {
      if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a positive number, got ${v}`);
    }
    this.now = o.now ?? Date.now;
  }

  /** The per-second limit of a direction. */
  limit(direction: Direction): number {
    return direction === 'write' ? this.o.writeUnitsPerSecond : this.o.readUnitsPerSecond;
  }

  private bucket(c: Pick<Charge, 'resource' | 'key' | 'direction'>, now: number): Bucket {
    const id = `${c.direction}\u0000${c.resource}\u0000${c.key}`;
    let b = this.buckets.get(id);
    const capacity = this.limit(c.direction) * this.o.burstSeconds;
    const second = Math.floor(now / 1000);
    if (!b) {
      b = { tokens: capacity, refilledAt: now, consumed: 0, throttledRequests: 0, throttledUnits: 0, second, consumedThisSecond: 0, demandThisSecond: 0, peakConsumed: 0, peakDemand: 0 };
      this.buckets.set(id, b);
    } else {
      b.tokens = Math.min(capacity, b.tokens + ((now - b.refilledAt) / 1000) * this.limit(c.direction));
      b.refilledAt = now;
      if (b.second !== second) {
        b.second = second;
        b.consumedThisSecond = 0;
        b.demandThisSecond = 0;
      }
    }
    return b;
  }

  private admit(b: Bucket, units: number): void {
    b.tokens -= units;
    b.consumed += units;
    b.consumedThisSecond += units;
    b.demandThisSecond += units;
    b.peakConsumed = Math.max(b.peakConsumed, b.consumedThisSecond);
    b.peakDemand = Math.max(b.peakDemand, b.demandThisSecond);
  }

  /** Counts a refused request's demand on `b`, and the refusal itself when `b` is one of the keys over its limit. */
  private refuse(b: Bucket, units: number, short: boolean): void {
    if (short) {
      b.throttledRequests++;
      b.throttledUnits += units;
    }
    b.demandThisSecond += units;
    b.peakDemand = Math.max(b.peakDemand, b.demandThisSecond);
  }

  /**
   * Admits a write that costs `charges` when every key has the units, debiting all; otherwise debits nothing and
   * returns the charges that could not be met (each counted as a throttled request of its key).
   */
  tryTake(charges: readonly Charge[]): Charge[] {
    const now = this.now();
    const buckets = charges.map((c) => this.bucket(c, now));
    // Several charges of one request may hit one bucket (an item and its index on the same key value): sum them.
    const need = new Map<Bucket, number>();
    buckets.forEach((b, i) => need.set(b, (need.get(b) ?? 0) + charges[i]!.units));
    const short = charges.filter((_, i) => buckets[i]!.tokens + 1e-9 < need.get(buckets[i]!)!);
    if (short.length === 0) {
      buckets.forEach((b, i) => this.admit(b, charges[i]!.units));
      return [];
    }
    const shortSet = new Set(short);
    buckets.forEach((b, i) => this.refuse(b, charges[i]!.units, shortSet.has(charges[i]!)));
    return short;
  }

  /** Whether a read of `key` may start (its bucket is not empty); a refusal is counted. */
  mayRead(c: Pick<Charge, 'resource' | 'key'>): boolean {
    const b = this.bucket({ ...c, direction: 'read' }, this.now());
    if (b.tokens > 0) return true;
    this.refuse(b, 0, true);
    return false;
  }

  /** Charges a finished read. */
  chargeRead(c: Pick<Charge, 'resource' | 'key' | 'units'>): void {
    this.admit(this.bucket({ ...c, direction: 'read' }, this.now()), c.units);
  }

  /** Statistics of every key seen, most throttled first, then by peak demand relative to the limit. */
  stats(): KeyStats[] {
    const out: KeyStats[] = [];
    for (const [id, b] of this.buckets) {
      const [direction, resource, key] = id.split('\u0000') as [Direction, string, string];
      out.push({
        resource,
        key,
        direction,
        limit: this.limit(direction),
        consumedUnits: b.consumed,
        throttledRequests: b.throttledRequests,
        throttledUnits: b.throttledUnits,
        peakConsumedPerSecond: b.peakConsumed,
        peakDemandPerSecond: b.peakDemand,
      });
    }
    return out.sort((a, b) => b.throttledRequests - a.throttledRequests || b.peakDemandPerSecond / b.limit - a.peakDemandPerSecond / a.limit);
  }
}
