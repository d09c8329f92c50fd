/**
 * Alarm settings of a rule and the condition sources that feed the alarm state machine.
 *
 * A rule (`psi < 5`) says which readings offend; its alarm settings say when offending readings become an alarm
 * (`forReadings`, `forSeconds`), when the alarm clears (`clearThreshold` for hysteresis, `clearForReadings`), whether
 * a cleared alarm stays visible until acknowledged (`latch`), its `severity` and whether it notifies. The state
 * machine (alarm-state.ts) never looks at measures: it consumes {@link ConditionSample}s, one per reading and rule,
 * so other sources (the no-data deadman, early-warning detectors) plug in with the same lifecycle.
 */
import { WellwatchError } from './errors';
import type { AlertRule, Reading } from './types';

/** ISA-18.2 style priorities, most urgent first. */
export const SEVERITIES = ['critical', 'major', 'minor', 'advisory'] as const;
/** One severity. */
export type Severity = (typeof SEVERITIES)[number];

/** Where an alarm's condition comes from; later sources add values. */
export const ALARM_KINDS = { threshold: 'threshold', noData: 'no-data', earlyWarning: 'early-warning' } as const;
/** One alarm kind. */
export type AlarmKind = (typeof ALARM_KINDS)[keyof typeof ALARM_KINDS];

/** Rule name of the no-data (deadman) alarm. */
export const NO_DATA_RULE = 'no-data';

/** How a rule's condition becomes an alarm and back; every field resolved. */
export interface AlarmPolicy {
  readonly rule: string;
  readonly kind: AlarmKind;
  readonly severity: Severity;
  /** Consecutive offending readings before the alarm becomes active (≥ 1). */
  readonly forReadings: number;
  /** Event-time seconds from the first offending reading before the alarm becomes active (0 = none). */
  readonly forSeconds: number;
  /** Consecutive clearing readings before the condition counts as cleared (≥ 1). */
  readonly clearForReadings: number;
  readonly latch: boolean;
  readonly notify: boolean;
  /** Which direction of the value is worse (for `worst_value`). */
  readonly worse: 'lower' | 'higher';
}

/**
 * One observation of a condition: what a source says about one (pump, rule) at one event time.
 *
 * `raise` and `clear` are both false inside a hysteresis band (neither offending nor recovered).
 */
export interface ConditionSample {
  readonly pump: string;
  readonly rule: string;
  readonly kind: AlarmKind;
  readonly severity: Severity;
  /** Event time `YYYY-MM-DDTHH:MM:SSZ` (the reading's time). */
  readonly ts: string;
  readonly value: number;
  readonly raise: boolean;
  readonly clear: boolean;
  /** Human-readable explanation, e.g. `psi 0 < 5`. */
  readonly detail?: string;
  /** When this sample raises the alarm, its first time if not the streak's first sample (no-data: the last reading). */
  readonly firstTime?: string;
}

/** A rule with its alarm settings resolved. */
export interface AlarmRule extends AlertRule {
  readonly policy: AlarmPolicy;
  /** Level at which the alarm clears (= threshold unless set). */
  readonly clearLevel: number;
}

const MAX_FOR_READINGS = 10_000;
const MAX_FOR_SECONDS = 7 * 86_400;

function intIn(label: string, name: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new WellwatchError(`${label}: ${name} must be an integer ${min}–${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Checks the alarm fields of one rule object (as parsed from JSON) and returns them; absent fields stay absent.
 *
 * `clearThreshold` must lie on the recovered side of the threshold: for `<`/`<=` rules at or above it, for
 * `>`/`>=` rules at or below it, otherwise a value could raise and clear at once.
 *
 * @throws WellwatchError naming the rule, the field, its range and the value.
 * @example
 * alarmFieldsOf({ name: 'low-psi', field: 'psi', op: '<', threshold: 5, clearThreshold: 20 }, 'alert rule low-psi');
 */
export function alarmFieldsOf(r: Record<string, unknown>, label: string): Partial<AlertRule> {
  const out: Record<string, unknown> = {};
  if (r.severity !== undefined) {
    if (!(SEVERITIES as readonly unknown[]).includes(r.severity)) {
      throw new WellwatchError(`${label}: severity must be one of ${SEVERITIES.join('|')}, got ${JSON.stringify(r.severity)}`);
    }
    out.severity = r.severity;
  }
  const forReadings = intIn(label, 'forReadings', r.forReadings, 1, MAX_FOR_READINGS);
  if (forReadings !== undefined) out.forReadings = forReadings;
  const forSeconds = intIn(label, 'forSeconds', r.forSeconds, 0, MAX_FOR_SECONDS);
  if (forSeconds !== undefined) out.forSeconds = forSeconds;
  const clearForReadings = intIn(label, 'clearForReadings', r.clearForReadings, 1, MAX_FOR_READINGS);
  if (clearForReadings !== undefined) out.clearForReadings = clearForReadings;
  if (r.clearThreshold !== undefined) {
    if (typeof r.clearThreshold !== 'number' || !Number.isFinite(r.clearThreshold)) {
      throw new WellwatchError(`${label}: clearThreshold must be a finite number, got ${JSON.stringify(r.clearThreshold)}`);
    }
    const below = r.op === '<' || r.op === '<=';
    if (typeof r.threshold === 'number' && (below ? r.clearThreshold < r.threshold : r.clearThreshold > r.threshold)) {
      throw new WellwatchError(
        `${label}: clearThreshold must be ${below ? '≥' : '≤'} threshold ${r.threshold} for op ${String(r.op)} (hysteresis clears on the recovered side), got ${r.clearThreshold}`,
      );
    }
    out.clearThreshold = r.clearThreshold;
  }
  for (const flag of ['latch', 'notify'] as const) {
    if (r[flag] === undefined) continue;
    if (typeof r[flag] !== 'boolean') throw new WellwatchError(`${label}: ${flag} must be true or false, got ${JSON.stringify(r[flag])}`);
    out[flag] = r[flag];
  }
  return out as Partial<AlertRule>;
}

/**
 * Resolves a rule's alarm settings against the defaults: severity `major`, forReadings 1, forSeconds 0,
 * clearThreshold = threshold, clearForReadings 1, no latch, notify.
 *
 * @throws WellwatchError when a field is out of range (see {@link alarmFieldsOf}).
 * @example
 * alarmRuleOf({ name: 'low-psi', field: 'psi', op: '<', threshold: 5 }).policy.severity; // → 'major'
 */
export function alarmRuleOf(rule: AlertRule): AlarmRule {
  const fields = alarmFieldsOf(rule as unknown as Record<string, unknown>, `alert rule ${rule.name}`);
  return {
    ...rule,
    clearLevel: fields.clearThreshold ?? rule.threshold,
    policy: {
      rule: rule.name,
      kind: ALARM_KINDS.threshold,
      severity: fields.severity ?? 'major',
      forReadings: fields.forReadings ?? 1,
      forSeconds: fields.forSeconds ?? 0,
      clearForReadings: fields.clearForReadings ?? 1,
      latch: fields.latch ?? false,
      notify: fields.notify ?? true,
      worse: rule.op === '<' || rule.op === '<=' ? 'lower' : 'higher',
    },
  };
}

/**
 * The policy of the no-data alarm: raised by the scheduled check, cleared by the pump's next reading.
 *
 * @example
 * noDataPolicy().rule; // → 'no-data'
 */
export function noDataPolicy(severity: Severity = 'major'): AlarmPolicy {
  return {
    rule: NO_DATA_RULE,
    kind: ALARM_KINDS.noData,
    severity,
    forReadings: 1,
    forSeconds: 0,
    clearForReadings: 1,
    latch: false,
    notify: true,
    worse: 'higher',
  };
}

/**
 * The threshold condition source: one sample per reading and rule.
 *
 * Raise when the rule's comparison holds; clear when the value is back on the recovered side of the clear level
 * (`<` rules: value ≥ clearLevel; `<=`: value > clearLevel; `>`: value ≤ clearLevel; `>=`: value < clearLevel).
 * A NaN value neither raises nor clears.
 *
 * @example
 * thresholdSamples([alarmRuleOf(lowPsi)], reading); // → [{ rule: 'low-psi', raise: true, clear: false, … }]
 */
export function thresholdSamples(rules: readonly AlarmRule[], reading: Reading): ConditionSample[] {
  return rules.map((r) => {
    const v = reading.values[r.field];
    let raise: boolean;
    let clear: boolean;
    switch (r.op) {
      case '<':
        raise = v < r.threshold;
        clear = v >= r.clearLevel;
        break;
      case '<=':
        raise = v <= r.threshold;
        clear = v > r.clearLevel;
        break;
      case '>':
        raise = v > r.threshold;
        clear = v <= r.clearLevel;
        break;
      case '>=':
        raise = v >= r.threshold;
        clear = v < r.clearLevel;
        break;
    }
    return {
      pump: reading.pump,
      rule: r.name,
      kind: r.policy.kind,
      severity: r.policy.severity,
      ts: reading.ts,
      value: v,
      raise,
      clear: clear && !raise,
      detail: `${r.field} ${v} ${r.op} ${r.threshold}`,
    };
  });
}

/**
 * A source of condition samples for the alarm layer: the threshold rules, and later the early-warning detectors.
 *
 * The consumer's alarm step asks every source for the samples of a batch's readings and runs each (pump, rule)
 * through the same state machine with the source's policy for that rule, so every source gets the same lifecycle,
 * de-duplication and notifications.
 */
export interface ConditionSource {
  /** The policy of every rule the source emits samples for, by rule name. */
  readonly policies: ReadonlyMap<string, AlarmPolicy>;
  /** Samples for the readings (any order; one pump's readings may come in several calls). */
  samples(readings: readonly Reading[]): ConditionSample[];
  /**
   * Optional: loads what {@link samples} needs for a batch (a stateful source's stored state), before it is asked.
   * `fresh` says the step's per-shard cache was dropped (another container touched the shard): anything the source
   * keeps about that shard's pumps must be re-read. Returns the pumps it could not load (their records are retried).
   */
  prepare?(readings: readonly Reading[], ctx: SourceContext): Promise<{ readonly failedPumps: readonly string[] }>;
  /**
   * Optional: after the batch's alarm states were written: forgets what it holds of `failedPumps` (they will be
   * retried) and persists what is due. Returns the pumps whose state could not be persisted.
   */
  settle?(ctx: SourceContext & { readonly failedPumps: ReadonlySet<string> }): Promise<{ readonly failedPumps: readonly string[]; readonly lastError?: string }>;
}

/** What a stateful {@link ConditionSource} is told about the batch. */
export interface SourceContext {
  /** The Kinesis shard of the batch (`-` when unknown). */
  readonly shard: string;
  /** The alarm step dropped its cache of this shard: state held in memory may be stale. */
  readonly fresh: boolean;
}

/**
 * The threshold rules as a {@link ConditionSource}.
 *
 * @example
 * const source = thresholdSource(cfg.alertRules.map(alarmRuleOf));
 */
export function thresholdSource(rules: readonly AlarmRule[]): ConditionSource {
  return {
    policies: new Map(rules.map((r) => [r.name, r.policy])),
    samples: (readings) => readings.flatMap((r) => thresholdSamples(rules, r)),
  };
}
