/**
 * The detectors of many pumps: per pump, one series per configured measure, fed reading by reading.
 *
 * Readings of a pump must be fed in its time order; a reading not newer than the pump's last one (a late reading,
 * or a duplicate from at-least-once delivery) is counted and ignored, so it never moves a baseline twice.
 *
 * Cold starts are exact: {@link PumpDetectors.checkpoint} gives a pump's state as a small JSON-able object (a
 * DynamoDB item), and {@link PumpDetectors.restore} plus feeding the pump's stored readings newer than the
 * checkpoint's `lastTs`, oldest first, reproduces the state (and the conditions) a warm container would have.
 * That holds because a state depends only on the accepted readings, in order, and those are exactly the stored
 * readings newer than the checkpoint — with one exception the writer must handle: a late reading that was ignored
 * live but is newer than the last checkpoint would be accepted by a replay. {@link PumpDetectors.takeDue} therefore
 * marks a pump for an immediate checkpoint whenever it ignores such a reading (rare: producers send in order), so
 * the next checkpoint's `lastTs` lies past it. Checkpoints are otherwise amortised: every `checkpointReadings`
 * accepted readings of a pump.
 */
import type { Measure, MeasureValues, Reading } from '../types';
import { activeAt, compileSpec, initSeries, judgeAt, readSeries, stepScoreAt, VERDICT, writeSeries, type CompiledSpec, type SeriesState } from './series-detector';
import type { DetectorCondition, DetectorDetail, DetectorKind, DetectorSpec } from './types';

/** What the detectors read of a reading. */
export type ObservedReading = Pick<Reading, 'pump' | 'day' | 'time' | 'ts' | 'values'>;

/** A pump's detector state as stored: JSON-able as it is. */
export interface PumpCheckpoint {
  /** Format version. */
  readonly v: 1;
  /** Epoch milliseconds of the newest reading the state includes. */
  readonly lastTs: number;
  /** One state per configured measure. */
  readonly series: Readonly<Partial<Record<Measure, SeriesState>>>;
}

interface PumpState {
  lastTs: number;
  /** Every series of the pump side by side (see {@link PumpDetectors.offsets}). */
  readonly state: Float64Array;
  /** Accepted readings since the last checkpoint. */
  pending: number;
  /** A reading newer than the last checkpoint was ignored: checkpoint now (see the module comment). */
  urgent: boolean;
  /** `lastTs` of the last checkpoint taken or restored (-Infinity: none). */
  checkpointTs: number;
}

/** Options of {@link PumpDetectors}. */
export interface PumpDetectorsOptions {
  /**
   * Accepted readings of a pump between two checkpoints.
   *
   * @default 1000
   */
  readonly checkpointReadings?: number;
}

// Local aliases of the hot imports: a CommonJS build (ts-jest, tsx) reads every imported binding through a getter
// on each use, which costs more here than the arithmetic it reaches.
const judgeSeries = judgeAt;
const activeOf = activeAt;
const RAISE = VERDICT.raise;
const CLEAR = VERDICT.clear;

/**
 * `values[measure]` as a switch of named loads: a keyed load with six different names goes megamorphic and costs
 * more than a detector's arithmetic.
 */
function valueOf(values: MeasureValues, measure: Measure): number {
  switch (measure) {
    case 'psi':
      return values.psi;
    case 'hz':
      return values.hz;
    case 'disp':
      return values.disp;
    case 'flo':
      return values.flo;
    case 'sedPPM':
      return values.sedPPM;
    default:
      return values.chlPPM;
  }
}

/** Shared result when a reading changes no condition: frozen, do not mutate. */
const NONE: DetectorCondition[] = Object.freeze([]) as unknown as DetectorCondition[];

/** The last day seen by {@link readingMillis} and its midnight (epoch milliseconds). */
let cachedDay = '';
let cachedDayMs = 0;

/**
 * Epoch milliseconds of a reading's UTC `day` (`YYYY-MM-DD`) and `time` (`HH:MM:SS`), several times faster than
 * `Date.parse(ts)`: the day's midnight is cached (readings arrive day by day, and the parser hands out one string per
 * day, so the check is usually a pointer comparison) and the time is read digit by digit. The reading's `ts` is a
 * concatenation the engine would have to flatten before parsing.
 *
 * @example
 * readingMillis('2014-03-10', '01:02:03'); // → Date.parse('2014-03-10T01:02:03Z')
 */
export function readingMillis(day: string, time: string): number {
  if (day !== cachedDay) {
    cachedDayMs = Date.parse(`${day}T00:00:00Z`);
    cachedDay = day;
  }
  // 528 = 11 × 48: the '0' offsets of both digits of each two-digit field.
  const h = time.charCodeAt(0) * 10 + time.charCodeAt(1) - 528;
  const m = time.charCodeAt(3) * 10 + time.charCodeAt(4) - 528;
  const sec = time.charCodeAt(6) * 10 + time.charCodeAt(7) - 528;
  return cachedDayMs + ((h * 60 + m) * 60 + sec) * 1000;
}

/** `YYYY-MM-DDTHH:MM:SSZ` of epoch milliseconds (the readings' timestamp format). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

/**
 * Per-pump detectors for a list of specs (one per measure).
 *
 * @example
 * const detectors = new PumpDetectors(config.detectors);
 * for (const r of readings) for (const c of detectors.observe(r)) alarms.push(c);
 */
export class PumpDetectors {
  readonly specs: readonly CompiledSpec[];
  /** Readings ignored because they were not newer than their pump's last one. */
  ignored = 0;
  /** Accepted readings of a pump between two amortised checkpoints. */
  readonly checkpointEvery: number;
  private readonly pumps = new Map<string, PumpState>();
  private readonly checkpointReadings: number;
  /** Offset of each spec's series in a pump's state array, and the array's length. */
  private readonly offsets: readonly number[];
  private readonly width: number;

  constructor(specs: readonly DetectorSpec[], options: PumpDetectorsOptions = {}) {
    this.specs = specs.map(compileSpec);
    this.checkpointReadings = options.checkpointReadings ?? 1000;
    this.checkpointEvery = this.checkpointReadings;
    let width = 0;
    this.offsets = this.specs.map((s) => {
      const o = width;
      width += s.width;
      return o;
    });
    this.width = width;
  }

  private fresh(): Float64Array {
    const state = new Float64Array(this.width);
    this.specs.forEach((spec, i) => initSeries(state, this.offsets[i]!, spec));
    return state;
  }

  /** Feeds one reading (a validated Reading: UTC `day` and `time`); returns the conditions it raised or cleared (usually none: a shared empty array). */
  observe(reading: ObservedReading): DetectorCondition[] {
    const { pump, values } = reading;
    const t = readingMillis(reading.day, reading.time);
    let p = this.pumps.get(pump);
    if (p === undefined) {
      p = { lastTs: -Infinity, state: this.fresh(), pending: 0, urgent: false, checkpointTs: -Infinity };
      this.pumps.set(pump, p);
    }
    if (!(t > p.lastTs)) {
      this.ignored++;
      if (t > p.checkpointTs) p.urgent = true;
      return NONE;
    }
    p.lastTs = t;
    p.pending++;
    let out: DetectorCondition[] | undefined;
    const specs = this.specs;
    const offsets = this.offsets;
    const state = p.state;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const o = offsets[i]!;
      const x = valueOf(values, spec.measure);
      const before = activeOf(state, o);
      const verdict = judgeSeries(state, o, spec, x, t);
      if (verdict === RAISE || verdict === CLEAR) {
        const s = readSeries(state, o, spec);
        const detector = verdict === RAISE ? activeOf(state, o) : before;
        (out ??= []).push(condition(pump, reading.ts, x, spec, s, detector as DetectorKind, verdict === RAISE, stepScoreAt(state, o)));
      }
    }
    return out ?? NONE;
  }

  /** The live state of a pump's series for a measure (read-only use: `wellwatch explain`), or undefined. */
  seriesOf(pump: string, measure: Measure): SeriesState | undefined {
    const i = this.specs.findIndex((s) => s.measure === measure);
    const p = this.pumps.get(pump);
    return i < 0 || p === undefined ? undefined : readSeries(p.state, this.offsets[i]!, this.specs[i]!);
  }

  /** A deep copy of a pump's state for storage, or undefined for a pump never seen. Marks the pump checkpointed. */
  checkpoint(pump: string): PumpCheckpoint | undefined {
    const p = this.pumps.get(pump);
    if (p === undefined) return undefined;
    const series: Partial<Record<Measure, SeriesState>> = {};
    this.specs.forEach((spec, i) => {
      series[spec.measure] = readSeries(p.state, this.offsets[i]!, spec);
    });
    p.pending = 0;
    p.urgent = false;
    p.checkpointTs = p.lastTs;
    return { v: 1, lastTs: p.lastTs, series };
  }

  /**
   * Replaces a pump's state with a checkpoint (cold start); then feed the pump's stored readings newer than
   * `checkpoint.lastTs`, oldest first. A measure missing from the checkpoint (configuration changed) starts fresh.
   */
  restore(pump: string, checkpoint: PumpCheckpoint): void {
    const state = this.fresh();
    this.specs.forEach((spec, i) => {
      const saved = checkpoint.series[spec.measure];
      if (saved !== undefined && (saved.slots != null || saved.counts != null) === (spec.baseline === 'daily')) {
        writeSeries(state, this.offsets[i]!, spec, saved);
      }
    });
    this.pumps.set(pump, { lastTs: checkpoint.lastTs, state, pending: 0, urgent: false, checkpointTs: checkpoint.lastTs });
  }

  /** Forgets a pump (e.g. after a failed batch, so its state is rebuilt from the last checkpoint). */
  forget(pump: string): void {
    this.pumps.delete(pump);
  }

  /**
   * Pumps whose state should be checkpointed now: `checkpointReadings` accepted readings since the last one, or an
   * ignored late reading newer than it.
   */
  takeDue(): string[] {
    const due: string[] = [];
    for (const [pump, p] of this.pumps) if (p.urgent || p.pending >= this.checkpointReadings) due.push(pump);
    return due;
  }
}

function condition(pump: string, ts: string, value: number, spec: CompiledSpec, s: SeriesState, detector: DetectorKind, raise: boolean, step: number): DetectorCondition {
  const detail: DetectorDetail = {
    measure: spec.measure,
    detector,
    baseline: s.base,
    level: s.base + s.fast,
    spread: s.spread,
    deviation: s.fast / s.spread,
    score: detector === 'step' ? step : Math.max(s.up, s.down),
    since: isoSeconds(raise ? s.activeSince : Date.parse(ts)),
  };
  return { pump, rule: `${spec.measure}-${detector}`, kind: 'early-warning', severity: spec.severity, ts, value, raise, clear: !raise, detail };
}
