/**
 * Domain types shared by the handlers, the CLI, local mode and the CDK stack.
 *
 * Pure TypeScript: nothing here imports AWS.
 */

/** The six numeric measures a pump reports, in CSV column order. */
export const MEASURES = ['hz', 'disp', 'flo', 'sedPPM', 'psi', 'chlPPM'] as const;
/** One of the six measures. */
export type Measure = (typeof MEASURES)[number];

/** Values of all six measures. */
export type MeasureValues = Record<Measure, number>;

/** A validated, normalised sensor reading. */
export interface Reading {
  /** Pump id, `[A-Za-z0-9_-]{1,64}`, as sent (case preserved). */
  readonly pump: string;
  /** UTC day `YYYY-MM-DD`. */
  readonly day: string;
  /** UTC time of day `HH:MM:SS` (zero padded, sorts lexicographically). */
  readonly time: string;
  /** UTC timestamp `YYYY-MM-DDTHH:MM:SSZ` (sorts lexicographically). */
  readonly ts: string;
  /** Measures. */
  readonly values: MeasureValues;
}

/** Comparison operators an alert rule may use. */
export const RULE_OPS = ['<', '<=', '>', '>='] as const;
/** One comparison operator. */
export type RuleOp = (typeof RULE_OPS)[number];

/** An alert rule as data: `field op threshold`, e.g. `psi < 5`. */
export interface AlertRule {
  readonly name: string;
  readonly field: Measure;
  readonly op: RuleOp;
  readonly threshold: number;
  /** Alarm settings of the rule (all optional; see `lambdas/core/alarm-rules.ts` for their defaults). */
  readonly severity?: 'critical' | 'major' | 'minor' | 'advisory';
  /** Consecutive offending readings before the alarm becomes active. */
  readonly forReadings?: number;
  /** Event-time seconds the condition must hold before the alarm becomes active. */
  readonly forSeconds?: number;
  /** Hysteresis: the alarm clears only once the value is back past this level. */
  readonly clearThreshold?: number;
  /** Consecutive clearing readings before the alarm clears. */
  readonly clearForReadings?: number;
  /** A cleared condition keeps the alarm visible (LATCHED) until acknowledged. */
  readonly latch?: boolean;
  /** Send notifications for this rule's transitions. */
  readonly notify?: boolean;
}

/** A reading together with the alert rules it triggered (empty when none). */
export interface EvaluatedReading extends Reading {
  readonly alerts: readonly string[];
}

/** Per-measure aggregate over one pump-day. */
export interface MeasureStats {
  readonly min: number;
  readonly max: number;
  readonly avg: number;
}

/** Daily statistics for one pump (one row of the stats table). */
export interface DailyStats {
  readonly pump: string;
  /** UTC day `YYYY-MM-DD`. */
  readonly date: string;
  readonly count: number;
  readonly measures: Record<Measure, MeasureStats>;
}

/** A line (or a whole record) that could not be turned into a reading. */
export interface DeadLetter {
  /** The raw line (truncated to {@link DEAD_LETTER_RAW_LIMIT} characters; see `rawLength`). */
  readonly raw: string;
  /** Length of the raw input in characters before truncation. */
  readonly rawLength: number;
  /** Why it was rejected, precise and human readable. */
  readonly reason: string;
  /** Machine-friendly reason code. */
  readonly code: string;
  /** 1-based line number inside the Kinesis record, when the record held several lines. */
  readonly lineInRecord?: number;
  readonly shardId?: string;
  readonly sequenceNumber?: string;
  readonly partitionKey?: string;
  /** ISO time the consumer rejected it. */
  readonly rejectedAt: string;
}

/** How much of a bad raw line is kept in its dead letter. */
export const DEAD_LETTER_RAW_LIMIT = 4096;

/** A (pump, UTC day) pair, e.g. to mark a day for re-rollup. */
export interface PumpDay {
  readonly pump: string;
  readonly day: string;
}
