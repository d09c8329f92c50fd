/**
 * Types of the early-warning detectors: their configuration (data, like the alert rules) and what they report.
 *
 * Pure TypeScript, no AWS imports. The configuration is parsed and validated in lambdas/config.ts
 * (`WELLWATCH_DETECTORS`); the detectors themselves live beside this file.
 */
import type { Severity } from '../alarm-rules';
import type { Measure } from '../types';

/** The detectors a series can run: a two-sided CUSUM for sustained shifts and slow drift, a rate-of-change check for steps. */
export const DETECTOR_KINDS = ['drift', 'step'] as const;
/** One detector kind; the alarm rule name is `<measure>-<kind>`, e.g. `psi-drift`. */
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

/**
 * How a series' normal level is learnt.
 *
 * - `flat`: one level (EWMA mean and spread), for measures that stay flat on a healthy pump (psi, hz).
 * - `daily`: a level per time of day (24 hourly slots, interpolated between slot centres), for measures that follow
 *   the daily demand cycle (flo, disp), so a healthy cycle is not a deviation.
 */
export const BASELINE_KINDS = ['flat', 'daily'] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

/**
 * Severity of an early warning: the alarm layer's one severity type (`SEVERITIES` in ../alarm-rules.ts:
 * critical|major|minor|advisory), `advisory` by default, so a warning sorts and notifies like any alarm.
 */
export type DetectorSeverity = Severity;

/**
 * The detectors of one measure, as data. Every field but `measure` and `detectors` has a default (see
 * `DETECTOR_DEFAULTS` in lambdas/config.ts). Units: readings, and baseline spreads (robust standard deviations of
 * the series around its own baseline).
 */
export interface DetectorSpec {
  readonly measure: Measure;
  /** Which detectors run on this measure. */
  readonly detectors: readonly DetectorKind[];
  readonly baseline: BaselineKind;
  /**
   * Judged readings before any verdict: the baseline is learnt from them. A `daily` baseline also waits until every
   * hourly slot has seen `warmupReadings / 24` readings (rounded up, at least 3), i.e. about one day.
   */
  readonly warmupReadings: number;
  /** Half-life of the baseline's EWMA mean and spread, in judged readings. */
  readonly halfLifeReadings: number;
  /** CUSUM slack: deviations smaller than this many spreads do not accumulate. */
  readonly driftSlack: number;
  /** CUSUM threshold, in spread-readings: `drift` fires when either sum exceeds it. */
  readonly driftThreshold: number;
  /** `step` fires when the short-term level moves this many spreads away from the medium-term level… */
  readonly stepSpreads: number;
  /** …on this many consecutive judged readings. */
  readonly stepReadings: number;
  /** An active warning clears once the short-term level is within this many spreads of the baseline… */
  readonly clearSpreads: number;
  /** …for this many consecutive judged readings (hysteresis). */
  readonly clearReadings: number;
  /** A value at or below this means the pump is stopped: the reading is not judged (the threshold rules own it). */
  readonly stoppedAtOrBelow: number;
  /** A pump stopped this many minutes or longer was likely serviced: it re-learns its baseline (warm-up again). */
  readonly relearnAfterStopMinutes: number;
  /** Smallest spread, in the measure's units (keeps a perfectly quiet sensor from dividing by zero). */
  readonly minSpread: number;
  readonly severity: DetectorSeverity;
}

/** Why a warning was raised or cleared: everything an engineer needs to judge it without a chart. */
export interface DetectorDetail {
  readonly measure: Measure;
  readonly detector: DetectorKind;
  /** The baseline at this reading (the level the series is judged against). */
  readonly baseline: number;
  /** The short-term level: a fast EWMA of the readings (each clipped to 8 spreads from the baseline). */
  readonly level: number;
  /** The baseline spread. */
  readonly spread: number;
  /** (level − baseline) / spread. */
  readonly deviation: number;
  /** The detector's score at this reading (CUSUM sum, or step size in spreads). */
  readonly score: number;
  /** When the deviation began (ISO): the last reading at which the CUSUM was zero, or the first reading of the step. */
  readonly since: string;
}

/**
 * One condition change of one (pump, rule): what an alarm evaluator consumes.
 *
 * `raise` is true on the reading where a detector fires; `clear` on the reading where its series has been back at
 * its baseline for `clearReadings` readings. Between the two the condition holds and nothing is reported, so a
 * healthy pump costs no allocation. `kind` is always `early-warning`.
 */
export interface DetectorCondition {
  readonly pump: string;
  /** `<measure>-<detector>`, e.g. `psi-drift`. */
  readonly rule: string;
  readonly kind: 'early-warning';
  readonly severity: DetectorSeverity;
  /** ISO timestamp of the reading. */
  readonly ts: string;
  /** The reading's value of the measure. */
  readonly value: number;
  readonly raise: boolean;
  readonly clear: boolean;
  readonly detail: DetectorDetail;
}
