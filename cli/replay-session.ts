/**
 * What `replay failed-batches` and `replay stream` share: handing one shard's records to the consumer batch by
 * batch, resuming from the record it reports as failed, and counting what was replayed.
 *
 * Per batch the consumer gets up to REPLAY.invokeBatchSize records, fewer when their event would pass Lambda's 6 MB
 * synchronous payload limit (the event source cuts its batches the same way); a partial failure resumes from the reported record
 * (like the event source), a few times with a growing pause, then the rest of the shard's part is left alone, so
 * nothing is reported as processed that was not.
 */
import { REPLAY, type WellwatchConfig } from '../lambdas/config';
import { ingestRecord } from '../lambdas/core/ingest';
import { parseUtcOffset } from '../lambdas/core/parse-reading';
import { compileRules } from '../lambdas/core/rules';
import type { PumpDay } from '../lambdas/core/types';
import type { ReplayRecord } from '../local/event-source-runner';
import { EVENT_OVERHEAD_BYTES, kinesisEventRecord, MAX_INVOKE_PAYLOAD_BYTES } from '../local/event-source/lambda-events';
import type { ConsumerInvoker } from './consumer-invoker';

/** Running totals of a replay. */
export interface ReplayTotals {
  /** Records the consumer processed (returned no failure for). */
  records: number;
  /** Readings in those records (the consumer stores each exactly once in effect). */
  readings: number;
  /** Bad lines in those records (the consumer dead-letters them again, same coordinates). */
  badLines: number;
  /** Invocations made. */
  invocations: number;
}

/** Outcome of {@link replayShardRecords}. */
export interface ShardReplayResult {
  /** Records processed, from the first one on. */
  readonly processed: number;
  /** Why processing stopped before the end; absent when every record was processed. */
  readonly error?: string;
  /** Sequence number of the first record not processed. */
  readonly stoppedAt?: string;
}

/** Options of {@link replayShardRecords}. */
export interface ReplayOptions {
  /** Attempts per batch, the first included. @default 3 */
  readonly attempts?: number;
  /** Pause before the second attempt, ms; doubles. @default 500 */
  readonly retryDelayMs?: number;
  /** Called with the pump-days of every processed record (for `--rollup`). */
  readonly onPumpDays?: (pumpDays: readonly PumpDay[]) => void;
}

/**
 * Serialised size of one event record without its data, partition key and sequence numbers, plus its separating
 * comma, with room for a region and ARNs of 512 characters each (real ones are about 100): the deployed consumer's
 * events carry the stream's and role's ARNs, which this module does not know.
 */
const EVENT_RECORD_SHELL_BYTES =
  Buffer.byteLength(
    JSON.stringify(
      kinesisEventRecord({ shardId: 'shardId-000000000000', sequenceNumber: '', partitionKey: '', data64: '', arrivalMs: Date.UTC(2100, 0), region: 'r'.repeat(512), streamArn: 's'.repeat(512), invokeIdentityArn: 'i'.repeat(512) }),
    ),
  ) + 1;

/**
 * How many records from `from` go into the next invocation: at most `maxRecords`, and no more than fit in Lambda's
 * synchronous payload limit (Invoke API reference: "For synchronous invocations, the maximum payload size is 6 MB"),
 * at least one.
 *
 * A Kinesis record holds up to 1 MiB, so a count alone could build an event Lambda refuses; local mode's event
 * source cuts its batches by size the same way (local/event-source/batching.ts).
 *
 * @example
 * nextInvokeBatchSize(records, 0, REPLAY.invokeBatchSize); // → 5 for records of 1 MiB
 */
export function nextInvokeBatchSize(records: readonly ReplayRecord[], from: number, maxRecords: number): number {
  let bytes = EVENT_OVERHEAD_BYTES;
  let n = 0;
  for (let i = from; i < records.length && n < maxRecords; i++, n++) {
    const r = records[i]!;
    // The sequence number appears twice (sequenceNumber and eventID); data64 is base64, which JSON does not escape.
    bytes += EVENT_RECORD_SHELL_BYTES + r.data64.length + Buffer.byteLength(JSON.stringify(r.partitionKey)) + 2 * r.sequenceNumber.length;
    if (bytes > MAX_INVOKE_PAYLOAD_BYTES && n > 0) break;
  }
  return n;
}

/** Empty totals. */
export function emptyTotals(): ReplayTotals {
  return { records: 0, readings: 0, badLines: 0, invocations: 0 };
}

/**
 * Counts readings and bad lines of records with the consumer's own pure core (same parser, same rules).
 *
 * @example
 * const count = recordCounter(cfg); const { readings } = count(records);
 */
export function recordCounter(cfg: WellwatchConfig): (records: readonly ReplayRecord[], shardId: string) => { readings: number; badLines: number; pumpDays: PumpDay[] } {
  const ctx = { parse: { utcOffsetMinutes: parseUtcOffset(cfg.sourceUtcOffset) }, rules: compileRules(cfg.alertRules), now: new Date() };
  return (records, shardId) => {
    let readings = 0;
    let badLines = 0;
    const days = new Map<string, PumpDay>();
    for (const r of records) {
      const out = ingestRecord({ data: Buffer.from(r.data64, 'base64'), shardId, sequenceNumber: r.sequenceNumber, partitionKey: r.partitionKey }, ctx);
      readings += out.readings.length;
      badLines += out.deadLetters.length;
      for (const x of out.readings) days.set(`${x.pump}#${x.day}`, { pump: x.pump, day: x.day });
    }
    return { readings, badLines, pumpDays: [...days.values()] };
  };
}

/**
 * Hands one shard's records to the consumer in order, batch by batch; stops at a batch that keeps failing.
 *
 * @example
 * const r = await replayShardRecords(invoker, shardId, records, totals, count);
 * if (r.error) io.err(`${shardId}: stopped at ${r.stoppedAt}: ${r.error}`);
 */
export async function replayShardRecords(
  invoker: ConsumerInvoker,
  shardId: string,
  records: readonly ReplayRecord[],
  totals: ReplayTotals,
  count: ReturnType<typeof recordCounter>,
  options: ReplayOptions = {},
): Promise<ShardReplayResult> {
  const attempts = options.attempts ?? 3;
  const baseDelay = options.retryDelayMs ?? 500;
  let next = 0;
  while (next < records.length) {
    const batch = records.slice(next, next + nextInvokeBatchSize(records, next, REPLAY.invokeBatchSize));
    let done = 0;
    let lastError: string | undefined;
    // `failures` counts attempts in a row that made no progress; a partial success resets it.
    for (let failures = 0; done < batch.length && failures < attempts; ) {
      if (failures > 0) await new Promise((r) => setTimeout(r, baseDelay * 2 ** (failures - 1)));
      const rest = batch.slice(done);
      totals.invocations++;
      const outcome = await invoker.invoke(shardId, rest);
      const ok = outcome.failedAt === undefined ? rest.length : outcome.failedAt;
      if (ok > 0) {
        const c = count(rest.slice(0, ok), shardId);
        totals.records += ok;
        totals.readings += c.readings;
        totals.badLines += c.badLines;
        options.onPumpDays?.(c.pumpDays);
        done += ok;
      }
      failures = ok > 0 ? 0 : failures + 1;
      lastError = outcome.error;
    }
    next += done;
    if (done < batch.length) return { processed: next, error: lastError ?? 'the consumer did not process the batch', stoppedAt: records[next].sequenceNumber };
  }
  return { processed: next };
}
