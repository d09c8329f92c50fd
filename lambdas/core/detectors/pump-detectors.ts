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
import type { Measure, MeasureValues } from '../types';
import { compileSpec, judge, newSeriesState, stepScore, VERDICT, type CompiledSpec, type SeriesState } from './series-detector';
import type { DetectorCondition, DetectorDetail, DetectorKind, DetectorSpec } from './types';

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
  readonly series: SeriesState[];
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

/** Shared result when a reading changes no condition: frozen, do not mutate. */
const NONE: DetectorCondition[] = Object.freeze([]) as unknown as DetectorCondition[];

/** `YYYY-MM-DDTHH:MM:SSZ` of epoch milliseconds (the readings' timestamp format). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

/**
 * Per-pump detectors for a list of specs (one per measure).
 *
 * @example
 * const detectors = new PumpDetectors(config.detectors);
 * for (const r of readings) for (const c of detectors.observe(r.pump, r.ts, r.values)) alarms.push(c);
 */
export class PumpDetectors {
  readonly specs: readonly CompiledSpec[];
  /** Readings ignored because they were not newer than their pump's last one. */
  ignored = 0;
  private readonly pumps = new Map<string, PumpState>();
  private readonly checkpointReadings: number;

  constructor(specs: readonly DetectorSpec[], options: PumpDetectorsOptions = {}) {
    this.specs = specs.map(compileSpec);
    this.checkpointReadings = options.checkpointReadings ?? 1000;
  }

  /**
   * Feeds one reading; returns the conditions it raised or cleared (usually none: a shared empty array).
   *
   * `ts` is the reading's ISO timestamp (`YYYY-MM-DDTHH:MM:SSZ`).
   */
  observe(pump: string, ts: string, values: MeasureValues): DetectorCondition[] {
    const t = Date.parse(ts);
    let p = this.pumps.get(pump);
    if (p === undefined) {
      p = { lastTs: -Infinity, series: this.specs.map((s) => newSeriesState(s.baseline)), pending: 0, urgent: false, checkpointTs: -Infinity };
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
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const s = p.series[i]!;
      const before = s.active;
      const x = values[spec.measure];
      const verdict = judge(s, spec, x, t);
      if (verdict === VERDICT.raise) (out ??= []).push(condition(pump, ts, x, spec, s, s.active as DetectorKind, true));
      else if (verdict === VERDICT.clear) (out ??= []).push(condition(pump, ts, x, spec, s, before as DetectorKind, false));
    }
    return out ?? NONE;
  }

  /** The live state of a pump's series for a measure (read-only use: `wellwatch explain`), or undefined. */
  seriesOf(pump: string, measure: Measure): Readonly<SeriesState> | undefined {
    const i = this.specs.findIndex((s) => s.measure === measure);
    return i < 0 ? undefined : this.pumps.get(pump)?.series[i];
  }

  /** A deep copy of a pump's state for storage, or undefined for a pump never seen. Marks the pump checkpointed. */
  checkpoint(pump: string): PumpCheckpoint | undefined {
    const p = this.pumps.get(pump);
    if (p === undefined) return undefined;
    const series: Partial<Record<Measure, SeriesState>> = {};
    this.specs.forEach((spec, i) => {
      series[spec.measure] = structuredClone(p.series[i]!);
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
    const series = this.specs.map((spec) => {
      const saved = checkpoint.series[spec.measure];
      return saved !== undefined && (saved.slots !== undefined || saved.counts !== undefined) === (spec.baseline === 'daily')
        ? structuredClone(saved)
        : newSeriesState(spec.baseline);
    });
    this.pumps.set(pump, { lastTs: checkpoint.lastTs, series, pending: 0, urgent: false, checkpointTs: checkpoint.lastTs });
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

function condition(pump: string, ts: string, value: number, spec: CompiledSpec, s: SeriesState, detector: DetectorKind, raise: boolean): DetectorCondition {
  const detail: DetectorDetail = {
    measure: spec.measure,
    detector,
    baseline: s.base,
    level: s.base + s.fast,
    spread: s.spread,
    deviation: s.fast / s.spread,
    score: detector === 'step' ? stepScore(s) : Math.max(s.up, s.down),
    since: isoSeconds(raise ? s.activeSince : Date.parse(ts)),
  };
  return { pump, rule: `${spec.measure}-${detector}`, kind: 'early-warning', severity: spec.severity, ts, value, raise, clear: !raise, detail };
}
