/**
 * Times every consumer invocation of a running local mode, as Lambda would bill it, through the runner's public
 * `onInvocation` hook (the handler's wall time from call to settlement, its record count and outcome).
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import type { EventSourceRunner } from '../local/event-source-runner';
import { median, percentile, round } from './stats';

/** Recorded invocations; a live object. */
export interface InvocationLog {
  /** Wall time of each invocation, ms, in completion order. */
  readonly durationsMs: number[];
  /** Kinesis records of each invocation. */
  readonly records: number[];
  /** Invocations that threw or reported batch item failures. */
  failures: number;
  /** Sum of durations, ms. */
  totalMs: number;
}

/** Summary of an {@link InvocationLog}. */
export interface InvocationSummary {
  readonly invocations: number;
  readonly failures: number;
  readonly recordsPerInvocation: number;
  readonly durationMsP50: number;
  readonly durationMsP95: number;
  readonly durationMsMax: number;
  readonly totalHandlerMs: number;
}

/**
 * Records every invocation of the runner from now on. Call before any record is put.
 *
 * `onInvoked` receives each event with its start and end (`performance.now()` milliseconds) after it settled.
 *
 * @example
 * const log = timeInvocations(local.runner);
 */
export function timeInvocations(
  runner: EventSourceRunner,
  onInvoked?: (event: KinesisStreamEvent, startedMs: number, endedMs: number) => void,
): InvocationLog {
  const log: InvocationLog = { durationsMs: [], records: [], failures: 0, totalMs: 0 };
  runner.onInvocation((info) => {
    const ms = info.endedMs - info.startedMs;
    onInvoked?.(info.event, info.startedMs, info.endedMs);
    log.durationsMs.push(ms);
    log.records.push(info.event.Records.length);
    log.totalMs += ms;
    if (info.outcome !== 'success') log.failures++;
  });
  return log;
}

/**
 * Summarises invocations: count, records per invocation, duration percentiles.
 *
 * @example
 * summariseInvocations(log).durationMsP50;
 */
export function summariseInvocations(log: InvocationLog): InvocationSummary {
  const sorted = [...log.durationsMs].sort((a, b) => a - b);
  const n = sorted.length;
  const records = log.records.reduce((a, b) => a + b, 0);
  return {
    invocations: n,
    failures: log.failures,
    recordsPerInvocation: n === 0 ? 0 : round(records / n),
    durationMsP50: round(median(sorted)),
    durationMsP95: round(percentile(sorted, 95)),
    durationMsMax: round(sorted[n - 1] ?? NaN),
    totalHandlerMs: round(log.totalMs),
  };
}
