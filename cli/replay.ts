/**
 * `wellwatch replay failed-batches | stream` — hands records the event source gave up on, or a time range of the
 * stream, back to the consumer, exactly as the event source would (see cli/consumer-invoker.ts).
 *
 * failed-batches: for each on-failure record (SQS in AWS, `failed-batches.jsonl` locally) the shard's sequence range
 * is read back (cli/stream-range.ts) and replayed; the on-failure record is deleted only once every record of the
 * range was processed (the consumer returned no batch item failure). Records past the stream's retention are
 * reported by range and count and their on-failure record is kept.
 * stream: every shard's records that arrived in `[--from, --to]` (AT_TIMESTAMP); `--rollup` marks every pump-day
 * they touched as pending, so the next `rollup --pending` (or the hourly schedule) recomputes its stats.
 *
 * Replaying is safe because every consumer write is idempotent: a reading is stored under its pump-day and time with
 * the same item, a marker is the same marker, and a bad line is dead-lettered again with the same coordinates.
 */
import * as path from 'node:path';
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { WellwatchConfig } from '../lambdas/config';
import { WriteError } from '../lambdas/core/errors';
import { failedBatchId } from '../lambdas/core/message-ids';
import type { PumpDay } from '../lambdas/core/types';
import { createCatalogStore } from '../lambdas/store/catalog-store';
import { clientSettings, dynamoClient, kinesisClient, sqsClient } from '../lambdas/store/clients';
import { LOCAL_FILES } from '../local';
import type { FailedBatchRecord } from '../local/event-source-runner';
import { lambdaInvoker, localInvoker, type ConsumerInvoker } from './consumer-invoker';
import { UsageError } from './errors';
import { parseCommandArgs, type CliIO } from './io';
import { localQueue, queueUrlOf, sqsQueue, type HeldMessage, type OperatorQueue } from './operator-queues';
import { formatCount, startProgress } from './progress';
import { emptyTotals, recordCounter, replayShardRecords, type ReplayTotals } from './replay-session';
import { listAllShards, readSequenceRange, readTimeRange, retentionHorizon, StreamRangeError } from './stream-range';
import { TARGET_OPTIONS, resolveTarget, targetFlags, type Target } from './target';

const HELP = `usage: wellwatch replay failed-batches [--from T] [--to T] [--queue NAME|URL] [--dry-run]
       wellwatch replay stream --from T [--to T] [--shard ID] [--rollup] [--dry-run]

failed-batches  replays every batch the event source gave up on (the failed-batch queue in AWS,
                failed-batches.jsonl locally): reads its shard's sequence range back from the stream and
                hands it to the consumer; deletes the on-failure record once the whole range was processed.
                --from/--to keep the batches whose records arrived in that time range.
stream          re-reads every shard's records that arrived in [--from, --to] (default --to: now) into the
                consumer; --shard limits it to one shard; --rollup marks every pump-day it touched for the
                rollup (run \`wellwatch rollup --pending\`, or wait for the hourly schedule).

  T                  YYYY-MM-DD (00:00 UTC) or YYYY-MM-DDTHH:MM[:SS]Z
  --dry-run          only report what would be replayed; nothing is invoked or deleted
  --queue NAME|URL   AWS: the failed-batch queue (default: the deployment's)
  --local [--data-dir DIR], --deployment NAME, --region R, --stream NAME

Every write of the consumer is idempotent, so replaying a range twice stores nothing twice.
Exit code 0 when everything asked for was processed, 1 when something is still failing or past retention.`;

const TIME_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z)?$/;

/** Parses a `--from`/`--to` value. */
export function parseTimeFlag(flag: string, raw: string | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  const ms = TIME_RE.test(raw) ? Date.parse(raw.length === 10 ? `${raw}T00:00:00Z` : raw) : Number.NaN;
  // Date.parse rolls 2/30 over into March; a date that does not survive the round trip does not exist.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== raw.slice(0, 10)) throw new UsageError(`--${flag} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z, got "${raw}"`);
  return new Date(ms);
}

/** The consumer of the target: local mode's runner, or the deployed function. */
async function invokerFor(target: Target, kinesis: KinesisClient): Promise<ConsumerInvoker> {
  if (target.local) return localInvoker(target.local.apiUrl);
  const cfg = target.config;
  const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: cfg.streamName }));
  const lambda = new LambdaClient(clientSettings(cfg, undefined, { maxAttempts: 3, requestTimeoutMs: 900_000 }));
  return lambdaInvoker(lambda, cfg.names.consumerFunction, { region: cfg.region, streamArn: d.StreamDescriptionSummary!.StreamARN! });
}

function failedBatchQueue(target: Target, queue: string | undefined): Promise<OperatorQueue<FailedBatchRecord>> | OperatorQueue<FailedBatchRecord> {
  if (target.local) {
    if (queue !== undefined) throw new UsageError('--queue names an SQS queue; local mode keeps its failed batches in failed-batches.jsonl');
    return localQueue<FailedBatchRecord>(target.local.apiUrl, path.join(target.local.dataDir, LOCAL_FILES.failedBatches), '/api/failed-batches/delete', failedBatchId);
  }
  const sqs = sqsClient(target.config);
  return queueUrlOf(sqs, queue ?? target.config.names.failedBatchQueue).then((url) => sqsQueue<FailedBatchRecord>(sqs, url, failedBatchId));
}

/** Whether an on-failure record's batch arrived (partly) in `[from, to]`. */
function arrivedIn(record: FailedBatchRecord, from: Date | undefined, to: Date | undefined): boolean {
  const first = Date.parse(record.KinesisBatchInfo?.approximateArrivalOfFirstRecord ?? '');
  const last = Date.parse(record.KinesisBatchInfo?.approximateArrivalOfLastRecord ?? '');
  if (from && !(last >= from.getTime())) return false;
  if (to && !(first <= to.getTime())) return false;
  return true;
}

function summary(io: CliIO, what: string, totals: ReplayTotals, extra: string[]): void {
  io.out(
    `${what}: ${formatCount(totals.records)} records replayed in ${formatCount(totals.invocations)} invocation(s), ` +
      `${formatCount(totals.readings)} readings stored, ${formatCount(totals.badLines)} bad lines dead-lettered again`,
  );
  for (const line of extra) io.out(line);
}

async function replayFailedBatches(values: Record<string, unknown>, io: CliIO): Promise<number> {
  const from = parseTimeFlag('from', values.from as string | undefined);
  const to = parseTimeFlag('to', values.to as string | undefined);
  if (values.shard !== undefined || values.rollup) throw new UsageError('--shard and --rollup belong to `replay stream`');
  const target = resolveTarget(targetFlags(values));
  const cfg = target.config;
  const dryRun = values['dry-run'] === true;
  const queue = await failedBatchQueue(target, values.queue as string | undefined);
  const kinesis = kinesisClient(cfg);
  try {
    const all = await queue.receiveAll();
    const chosen = all.filter((m) => arrivedIn(m.body, from, to));
    await queue.release(all.filter((m) => !chosen.includes(m)));
    const expected = chosen.reduce((n, m) => n + (m.body.KinesisBatchInfo?.batchSize ?? 0), 0);
    io.err(`${chosen.length} failed batch(es) to replay (${formatCount(expected)} records) from ${queue.description}${all.length > chosen.length ? `; ${all.length - chosen.length} outside --from/--to left alone` : ''}`);
    if (dryRun) {
      for (const m of chosen) io.out(`would replay ${m.id} (${m.body.KinesisBatchInfo.batchSize} records, ${m.body.requestContext?.condition ?? 'failed'}${m.body.reason ? `: ${m.body.reason}` : ''})`);
      await queue.release(chosen);
      return 0;
    }
    const invoker = await invokerFor(target, kinesis);
    const count = recordCounter(cfg);
    const totals = emptyTotals();
    const progress = startProgress(io, () => ({ done: totals.records, unit: 'records replayed', extra: `of ${formatCount(expected)}` }));
    const done: HeldMessage<FailedBatchRecord>[] = [];
    const kept: HeldMessage<FailedBatchRecord>[] = [];
    const problems: string[] = [];
    let trimmedRecords = 0;
    try {
      for (const m of chosen) {
        const info = m.body.KinesisBatchInfo;
        let read: Awaited<ReturnType<typeof readSequenceRange>>;
        try {
          read = await readSequenceRange(kinesis, cfg.streamName, info?.shardId ?? '?', info?.startSequenceNumber ?? '', info?.endSequenceNumber ?? '', info?.batchSize);
        } catch (e) {
          // One unreadable on-failure record (another stream's, a hand-edited one) must not stop the others.
          if (!(e instanceof StreamRangeError)) throw e;
          problems.push(`cannot replay ${m.id}: ${e.message}; it is kept`);
          kept.push(m);
          continue;
        }
        if (read.trimmed) {
          trimmedRecords += read.trimmed.count ?? 0;
          problems.push(
            `past retention: ${info.shardId} ${read.trimmed.from}…${read.trimmed.to} (${read.trimmed.count ?? 'unknown number of'} records) can no longer be read; ${m.id} is kept`,
          );
        }
        const result = await replayShardRecords(invoker, info.shardId, read.records, totals, count);
        if (result.error !== undefined) {
          problems.push(`still failing: ${m.id} stopped at ${result.stoppedAt} after ${result.processed} of ${read.records.length} records: ${result.error}`);
          kept.push(m);
        } else if (read.trimmed) {
          kept.push(m);
        } else {
          done.push(m);
        }
      }
    } finally {
      progress.stop();
      // Deleted only once fully processed; everything else becomes visible again for the next run.
      if (done.length) await queue.delete(done);
      await queue.release(kept.concat(chosen.filter((m) => !done.includes(m) && !kept.includes(m))));
    }
    summary(io, 'replay failed-batches', totals, [
      `${done.length} of ${chosen.length} range(s) fully processed and removed from the queue; ${kept.length} kept` +
        (trimmedRecords ? `; ${formatCount(trimmedRecords)} records past retention` : ''),
    ]);
    for (const p of problems) io.err(p);
    return kept.length ? 1 : 0;
  } finally {
    kinesis.destroy();
  }
}

/** The UTC day after today: every pump-day up to today is "before" it, so `markTouched` marks them all pending. */
function tomorrowUtc(now: Date = new Date()): string {
  return new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);
}

async function markForRollup(cfg: WellwatchConfig, pumpDays: Map<string, PumpDay>): Promise<number> {
  const dynamo = dynamoClient(cfg);
  try {
    const list = [...pumpDays.values()];
    const result = await createCatalogStore(dynamo, cfg).markTouched(list, tomorrowUtc());
    if (result.failed.length) {
      throw new WriteError(`could not mark ${result.failed.length} pump-day(s) for the rollup: ${result.lastError ?? 'unknown error'}`, {
        table: cfg.catalogTable,
        failedCount: result.failed.length,
      });
    }
    return list.length;
  } finally {
    dynamo.destroy();
  }
}

async function replayStream(values: Record<string, unknown>, io: CliIO): Promise<number> {
  const from = parseTimeFlag('from', values.from as string | undefined);
  if (!from) throw new UsageError('replay stream needs --from T (see `wellwatch replay --help`)');
  const to = parseTimeFlag('to', values.to as string | undefined) ?? new Date();
  if (from > to) throw new UsageError(`--from ${from.toISOString()} is after --to ${to.toISOString()}`);
  if (from.getTime() > Date.now()) throw new UsageError(`--from ${from.toISOString()} is in the future`);
  if (values.queue !== undefined) throw new UsageError('--queue belongs to `replay failed-batches`');
  const target = resolveTarget(targetFlags(values));
  const cfg = target.config;
  const kinesis = kinesisClient(cfg);
  try {
    const { horizon, hours } = await retentionHorizon(kinesis, cfg.streamName);
    if (from < horizon) {
      throw new UsageError(
        `--from ${from.toISOString()} is beyond the stream's retention (${hours} h): records that arrived before ${horizon.toISOString()} are gone; start at or after it`,
      );
    }
    const shards = await listAllShards(kinesis, cfg.streamName);
    const wanted = values.shard as string | undefined;
    const chosen = wanted ? shards.filter((s) => s.ShardId === wanted) : shards;
    if (wanted && chosen.length === 0) throw new UsageError(`--shard ${wanted} is not a shard of ${cfg.streamName} (it has ${shards.map((s) => s.ShardId).join(', ')})`);
    const dryRun = values['dry-run'] === true;
    const invoker = dryRun ? undefined : await invokerFor(target, kinesis);
    const count = recordCounter(cfg);
    const totals = emptyTotals();
    const pumpDays = new Map<string, PumpDay>();
    const problems: string[] = [];
    let seen = 0;
    const progress = startProgress(io, () => ({ done: totals.records, unit: 'records replayed' }));
    try {
      for (const shard of chosen) {
        const shardId = shard.ShardId!;
        for await (const page of readTimeRange(kinesis, cfg.streamName, shardId, from, to)) {
          seen += page.length;
          if (!invoker) continue;
          const result = await replayShardRecords(invoker, shardId, page, totals, count, {
            onPumpDays: (days) => days.forEach((d) => pumpDays.set(`${d.pump}#${d.day}`, d)),
          });
          if (result.error !== undefined) {
            problems.push(`still failing: ${shardId} stopped at ${result.stoppedAt}: ${result.error}; the rest of this shard's range was not replayed`);
            break;
          }
        }
      }
    } finally {
      progress.stop();
    }
    if (dryRun) {
      io.out(`would replay ${formatCount(seen)} records of ${chosen.length} shard(s) that arrived ${from.toISOString()} … ${to.toISOString()}`);
      return 0;
    }
    const extra: string[] = [];
    if (values.rollup) {
      const marked = await markForRollup(cfg, pumpDays);
      extra.push(`marked ${formatCount(marked)} pump-day(s) for the rollup; \`wellwatch rollup --pending${target.local ? ' --local' : ''}\` recomputes them now`);
    }
    summary(io, `replay stream (${from.toISOString()} … ${to.toISOString()}, ${chosen.length} shard(s))`, totals, extra);
    for (const p of problems) io.err(p);
    return problems.length ? 1 : 0;
  } finally {
    kinesis.destroy();
  }
}

/**
 * Runs `wellwatch replay`.
 *
 * @example
 * const code = await replayCommand(['failed-batches', '--local'], processIO());
 */
export async function replayCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'replay',
    argv,
    {
      ...TARGET_OPTIONS,
      from: { type: 'string' },
      to: { type: 'string' },
      shard: { type: 'string' },
      queue: { type: 'string' },
      rollup: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const what = positionals[0];
  if (positionals.length !== 1 || (what !== 'failed-batches' && what !== 'stream')) {
    throw new UsageError(`expected failed-batches or stream, got ${positionals.length ? `"${positionals.join(' ')}"` : 'nothing'} (see \`wellwatch replay --help\`)`);
  }
  return what === 'failed-batches' ? replayFailedBatches(values, io) : replayStream(values, io);
}
