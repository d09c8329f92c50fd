/**
 * What AWS can tell about the deployed consumer beyond the stream's shards, for `wellwatch status`.
 *
 * - Lag: the stream's `GetRecords.IteratorAgeMilliseconds` (CloudWatch, namespace AWS/Kinesis, per stream) — how old
 *   the newest record handed to a reader was. The Lambda event-source mapping is the stream's only reader, so this is
 *   the consumer's backlog expressed in time; 0 means it keeps up.
 * - Queues: messages waiting in the dead-letter queue (bad lines) and the failed-batch queue (Kinesis batches the
 *   consumer gave up on), from SQS queue attributes.
 *
 * Every lookup fails on its own: missing permissions or a missing queue become an `unavailable` reason on that row,
 * and the rest of the status is still printed. Against emulators (any endpoint override, loopback or another host)
 * a service without its own override is skipped, so a local or test setup never calls AWS.
 */
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandOutput } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import type { WellwatchConfig } from '../lambdas/config';
import { clientSettings, sqsClient } from '../lambdas/store/clients';
import { formatCount, formatDuration } from './progress';

/** The one method of an SDK client these lookups use; tests pass a fake. */
export interface Sender {
  send(command: object): Promise<unknown>;
}

/** Metric read for the consumer's lag. */
export const ITERATOR_AGE_METRIC = { namespace: 'AWS/Kinesis', name: 'GetRecords.IteratorAgeMilliseconds', periodSeconds: 60 } as const;

/** How far back the lag lookup searches for a datapoint. */
export const LAG_LOOKBACK_MINUTES = 15;

/** The consumer's lag as CloudWatch reports it. */
export type ConsumerLag =
  /** Largest iterator age in the newest minute that has data, and that minute's start (ISO). */
  | { readonly iteratorAgeMs: number; readonly minute: string }
  /** No datapoint in the lookback: nothing read the stream (no traffic, or the consumer is disabled). */
  | { readonly iteratorAgeMs: null; readonly lookbackMinutes: number }
  | { readonly unavailable: string };

/** One queue's depth. */
export type QueueDepth = { readonly queue: string; readonly purpose: string } & (
  | { readonly visible: number; readonly inFlight: number }
  | { readonly unavailable: string }
);

/** Everything {@link consumerHealth} found. */
export interface ConsumerHealth {
  readonly lag: ConsumerLag;
  readonly queues: readonly QueueDepth[];
}

/** Clients to use; each is created from the config when absent. */
export interface HealthClients {
  readonly cloudWatch?: Sender;
  readonly sqs?: Sender;
}

function reason(e: unknown): string {
  const err = e as { name?: string; message?: string };
  const name = err?.name && err.name !== 'Error' ? `${err.name}: ` : '';
  return `${name}${err?.message ?? String(e)}`.split('\n')[0]!.slice(0, 200);
}

/**
 * Reads the stream's newest iterator-age datapoint.
 *
 * @example
 * const lag = await consumerLag(cloudWatch, 'wellwatch-readings', new Date());
 */
export async function consumerLag(cloudWatch: Sender, streamName: string, now: Date): Promise<ConsumerLag> {
  const end = new Date(Math.ceil(now.getTime() / 60_000) * 60_000);
  const start = new Date(end.getTime() - LAG_LOOKBACK_MINUTES * 60_000);
  try {
    const out = (await cloudWatch.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        ScanBy: 'TimestampDescending',
        MetricDataQueries: [
          {
            Id: 'age',
            MetricStat: {
              Metric: { Namespace: ITERATOR_AGE_METRIC.namespace, MetricName: ITERATOR_AGE_METRIC.name, Dimensions: [{ Name: 'StreamName', Value: streamName }] },
              Period: ITERATOR_AGE_METRIC.periodSeconds,
              Stat: 'Maximum',
            },
          },
        ],
      }),
    )) as GetMetricDataCommandOutput;
    const result = out.MetricDataResults?.find((r) => r.Id === 'age');
    const points = (result?.Timestamps ?? []).map((t, i) => ({ t: new Date(t), v: result?.Values?.[i] })).filter((p) => Number.isFinite(p.v));
    if (points.length === 0) return { iteratorAgeMs: null, lookbackMinutes: LAG_LOOKBACK_MINUTES };
    // ScanBy descending puts the newest first; sort anyway rather than trust the order.
    points.sort((a, b) => b.t.getTime() - a.t.getTime());
    return { iteratorAgeMs: points[0]!.v!, minute: points[0]!.t.toISOString() };
  } catch (e) {
    return { unavailable: reason(e) };
  }
}

/**
 * Reads a queue's approximate depth (messages waiting, and received but not yet deleted).
 *
 * @example
 * const d = await queueDepth(sqs, 'wellwatch-dead-letters', 'bad lines');
 */
export async function queueDepth(sqs: Sender, queue: string, purpose: string, queueUrl?: string): Promise<QueueDepth> {
  try {
    const url = queueUrl ?? ((await sqs.send(new GetQueueUrlCommand({ QueueName: queue }))) as { QueueUrl?: string }).QueueUrl;
    if (!url) return { queue, purpose, unavailable: 'GetQueueUrl returned no URL' };
    const out = (await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    )) as { Attributes?: Record<string, string> };
    const visible = Number(out.Attributes?.ApproximateNumberOfMessages);
    const inFlight = Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    if (!Number.isFinite(visible)) return { queue, purpose, unavailable: 'no ApproximateNumberOfMessages attribute' };
    return { queue, purpose, visible, inFlight: Number.isFinite(inFlight) ? inFlight : 0 };
  } catch (e) {
    return { queue, purpose, unavailable: reason(e) };
  }
}

/** Why a service is skipped for this config, or undefined when it can be asked. */
function skipReason(cfg: WellwatchConfig, endpoint: string | undefined, service: string): string | undefined {
  // Any override means emulators (on this machine or another host): a service without one would be real AWS.
  const overridden = Object.values(cfg.endpoints).some((e) => e !== undefined && e !== '');
  if (overridden && endpoint === undefined) return `not asked: the other services have endpoint overrides (emulators) and ${service} has none`;
  return undefined;
}

/**
 * Looks up the consumer's lag and its queues' depths, each independently.
 *
 * @example
 * const health = await consumerHealth(loadConfig(), {});
 */
export async function consumerHealth(cfg: WellwatchConfig, clients: HealthClients = {}, now = new Date()): Promise<ConsumerHealth> {
  const owned: { destroy(): void }[] = [];
  // A client given by the caller, else one built here (and destroyed at the end) unless the service is skipped.
  const own = <C extends Sender & { destroy(): void }>(client: C): C => (owned.push(client), client);
  try {
    const cwSkip = clients.cloudWatch ? undefined : skipReason(cfg, undefined, 'CloudWatch');
    const cloudWatch = clients.cloudWatch ?? (cwSkip ? undefined : own(new CloudWatchClient(clientSettings(cfg, undefined, { maxAttempts: 2 }))));
    const sqsSkip = clients.sqs ? undefined : skipReason(cfg, cfg.endpoints.sqs, 'SQS');
    const sqs = clients.sqs ?? (sqsSkip ? undefined : own(sqsClient(cfg, { maxAttempts: 2 })));
    const queues = [
      { queue: cfg.names.deadLetterQueue, purpose: 'bad lines', url: cfg.deadLetterUrl },
      { queue: cfg.names.failedBatchQueue, purpose: 'failed batches', url: undefined },
    ];
    const [lag, ...depths] = await Promise.all([
      cloudWatch ? consumerLag(cloudWatch, cfg.streamName, now) : Promise.resolve<ConsumerLag>({ unavailable: cwSkip! }),
      ...queues.map((q) => (sqs ? queueDepth(sqs, q.queue, q.purpose, q.url) : Promise.resolve<QueueDepth>({ queue: q.queue, purpose: q.purpose, unavailable: sqsSkip! }))),
    ]);
    return { lag: lag as ConsumerLag, queues: depths as QueueDepth[] };
  } finally {
    for (const c of owned) c.destroy();
  }
}

/**
 * Text lines for {@link ConsumerHealth}.
 *
 * @example
 * describeHealth({ lag: { iteratorAgeMs: 0, minute: '2026-11-24T10:00:00.000Z' }, queues: [] });
 * // → ['consumer lag: 0.0s (iterator age, max of the minute from 2026-11-24T10:00:00.000Z)']
 */
export function describeHealth(health: ConsumerHealth): string[] {
  const lines: string[] = [];
  const lag = health.lag;
  if ('unavailable' in lag) lines.push(`consumer lag: unavailable (${lag.unavailable})`);
  else if (lag.iteratorAgeMs === null) lines.push(`consumer lag: no iterator-age data in the last ${lag.lookbackMinutes} min (nothing read the stream)`);
  else lines.push(`consumer lag: ${formatDuration(lag.iteratorAgeMs / 1000)} (iterator age, max of the minute from ${lag.minute})`);
  for (const q of health.queues) {
    if ('unavailable' in q) lines.push(`${q.purpose}: unavailable for ${q.queue} (${q.unavailable})`);
    else lines.push(`${q.purpose}: ${formatCount(q.visible)} waiting in ${q.queue}${q.inFlight > 0 ? `, ${formatCount(q.inFlight)} being received` : ''}`);
  }
  return lines;
}
