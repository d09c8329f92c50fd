/**
 * Times every consumer invocation of a running local mode, as Lambda would bill it.
 *
 * Local mode hands the consumer handler to its {@link EventSourceRunner}, which keeps it in a `handler` field and
 * offers no hook to observe invocations. The benchmark wraps that field right after `startLocal` (before any
 * record exists): the wrapper calls the real handler and records its wall time and record count. This is the one
 * place where the benchmark reaches into another module's internals; it fails loudly if the field is gone.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { EventSourceRunner } from '../local/event-source-runner';
import { median, percentile, round } from './stats';

type Handler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse | void | undefined>;

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
 * Wraps the runner's handler so every invocation is timed. Call before any record is put.
 *
 * `onInvoked` receives each event with its start and end (`performance.now()` milliseconds) after it returned.
 *
 * @throws Error when the runner no longer keeps its handler in a `handler` field.
 * @example
 * const log = timeInvocations(local.runner);
 */
export function timeInvocations(
  runner: EventSourceRunner,
  onInvoked?: (event: KinesisStreamEvent, startedMs: number, endedMs: number) => void,
): InvocationLog {
  const target = runner as unknown as { handler?: Handler };
  const inner = target.handler;
  if (typeof inner !== 'function') {
    throw new Error('EventSourceRunner has no `handler` field: the benchmark cannot time consumer invocations (see bench/README.md)');
  }
  const log: InvocationLog = { durationsMs: [], records: [], failures: 0, totalMs: 0 };
  target.handler = async (event, context) => {
    const started = performance.now();
    let failed = true;
    try {
      const response = await inner(event, context);
      failed = !!response && Array.isArray(response.batchItemFailures) && response.batchItemFailures.length > 0;
      return response;
    } finally {
      const ended = performance.now();
      const ms = ended - started;
      onInvoked?.(event, started, ended);
      log.durationsMs.push(ms);
      log.records.push(event.Records.length);
      log.totalMs += ms;
      if (failed) log.failures++;
    }
  };
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
