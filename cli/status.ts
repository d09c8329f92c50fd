/**
 * `wellwatch status` — how far the consumer is behind the stream.
 *
 * Local mode knows exactly: its event-source runner keeps a checkpoint per shard and serves the backlog (records
 * pushed but not yet processed) at `GET /api/status`. In AWS the Kinesis API alone cannot tell how far a Lambda
 * consumer has read: this command lists the shards and adds the stream's iterator age from CloudWatch (the consumer's
 * lag in time) and the depth of the dead-letter and failed-batch queues (see consumer-health.ts).
 */
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { consumerHealth, describeHealth, type HealthClients } from './consumer-health';
import { listShards } from './shard-map';
import { NAMES } from '../lambdas/config';
import { WellwatchError } from '../lambdas/core/errors';
import { kinesisClient } from '../lambdas/store/clients';
import { networkCode, UsageError } from './errors';
import { parseCommandArgs, type CliIO } from './io';
import { formatCount, formatDuration } from './progress';
import { TARGET_OPTIONS, resolveTarget, targetFlags, type Target } from './target';

/** One shard as local mode reports it. */
export interface LocalShardStatus {
  readonly shardId: string;
  /** Sequence number of the last processed record, absent before the first. */
  readonly checkpoint?: string | null;
  /** Records pushed to the shard but not yet processed. */
  readonly backlog: number;
}

/** Body of local mode's `GET /api/status`. */
export interface LocalStatus {
  readonly shards: readonly LocalShardStatus[];
  /** True when the runner has nothing in flight. */
  readonly idle: boolean;
  readonly counters?: Record<string, unknown>;
}

/**
 * Fetches local mode's status.
 *
 * @throws WellwatchError with one clear line when local mode does not answer or answers something else.
 * @example
 * const s = await fetchLocalStatus(target.local!.apiUrl);
 */
export async function fetchLocalStatus(apiUrl: string, timeoutMs = 10_000): Promise<LocalStatus> {
  const url = `${apiUrl.replace(/\/+$/, '')}/api/status`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new WellwatchError(`cannot reach local mode at ${url} (${why}); is \`wellwatch local\` running?`);
  }
  const text = await res.text();
  if (!res.ok) throw new WellwatchError(`local mode answered ${res.status} for ${url}: ${text.slice(0, 200)}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new WellwatchError(`local mode answered non-JSON for ${url}: ${text.slice(0, 200)}`);
  }
  const s = body as Partial<LocalStatus>;
  if (!s || !Array.isArray(s.shards) || typeof s.idle !== 'boolean') {
    throw new WellwatchError(`unexpected answer from ${url}: ${text.slice(0, 200)}`);
  }
  return s as LocalStatus;
}

/**
 * Total backlog over all shards (records pushed but not yet processed).
 *
 * @example
 * totalBacklog({ shards: [{ shardId: 'a', backlog: 2 }, { shardId: 'b', backlog: 3 }], idle: false }); // → 5
 */
export function totalBacklog(status: LocalStatus): number {
  return status.shards.reduce((n, s) => n + (Number.isFinite(s.backlog) ? s.backlog : 0), 0);
}

/**
 * Polls local mode until the consumer is idle with an empty backlog on every shard.
 *
 * @throws WellwatchError on timeout, naming the records still waiting.
 * @example
 * const ms = await waitForLocalIdle(apiUrl, { timeoutMs: 300_000 });
 */
export async function waitForLocalIdle(apiUrl: string, options: { timeoutMs: number; intervalMs?: number }): Promise<number> {
  const started = Date.now();
  const interval = options.intervalMs ?? 200;
  let idleSeen = 0;
  for (;;) {
    const status = await fetchLocalStatus(apiUrl);
    const backlog = totalBacklog(status);
    // Two consecutive idle answers: the runner may be between a poll and the next batch.
    if (status.idle && backlog === 0) {
      if (++idleSeen >= 2) return Date.now() - started;
    } else {
      idleSeen = 0;
    }
    if (Date.now() - started > options.timeoutMs) {
      throw new WellwatchError(
        `timed out after ${formatDuration(options.timeoutMs / 1000)} waiting for local mode to process the stream ` +
          `(backlog ${formatCount(backlog)} records${status.idle ? '' : ', consumer busy'}); raise --wait-timeout or check \`wellwatch status --local\``,
      );
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

const HELP = `usage: wellwatch status [--local [--data-dir DIR]] [--format text|json] [--deployment NAME] [--stream NAME] [--region R]

Shows how far the consumer is behind the stream.
  local mode  per shard: the last processed sequence number (checkpoint) and the backlog
              (records pushed but not yet processed), and totals.
  AWS         the stream's shards and their state; the consumer's lag (the stream's iterator age in
              CloudWatch, newest minute of the last 15); messages waiting in the dead-letter and
              failed-batch queues. A lookup the credentials may not make is shown as unavailable.

  --format text|json   output format (default text)`;

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function localStatus(target: Target, format: string, io: CliIO): Promise<number> {
  const status = await fetchLocalStatus(target.local!.apiUrl);
  const backlog = totalBacklog(status);
  if (format === 'json') {
    io.out(JSON.stringify({ mode: 'local', stream: target.config.streamName, totalBacklog: backlog, ...status }, null, 2));
    return 0;
  }
  io.out(`stream ${target.config.streamName} (local mode, ${target.local!.apiUrl})`);
  io.out(`${pad('shard', 22)}  ${pad('backlog', 9)}  checkpoint`);
  for (const s of status.shards) {
    io.out(`${pad(s.shardId, 22)}  ${pad(formatCount(s.backlog), 9)}  ${s.checkpoint ?? '(nothing processed yet)'}`);
  }
  io.out(`total backlog ${formatCount(backlog)} records; consumer ${status.idle ? 'idle' : 'busy'}`);
  const counters = Object.entries(status.counters ?? {}).filter(([, v]) => typeof v === 'number' || typeof v === 'string');
  if (counters.length > 0) io.out(`counters: ${counters.map(([k, v]) => `${k}=${typeof v === 'number' ? formatCount(v) : v}`).join(', ')}`);
  return 0;
}

const BACKLOG_NOTE =
  "backlog in records: not visible through the Kinesis API; the consumer lag (the stream's iterator age, also on the Wellwatch CloudWatch dashboard) is the backlog as a time";

async function awsStatus(target: Target, format: string, io: CliIO, clients: HealthClients): Promise<number> {
  const cfg = target.config;
  const client = kinesisClient(cfg, { maxAttempts: 2 });
  try {
    let summary;
    try {
      summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName: cfg.streamName }))).StreamDescriptionSummary;
    } catch (e) {
      throw streamError(e, target);
    }
    const [shards, health] = await Promise.all([listShards(client, cfg.streamName), consumerHealth(cfg, clients)]);
    const rows = shards.map((s) => ({
      shardId: s.ShardId ?? '?',
      state: s.SequenceNumberRange?.EndingSequenceNumber ? 'closed' : 'open',
      parentShardId: s.ParentShardId,
      startingSequenceNumber: s.SequenceNumberRange?.StartingSequenceNumber,
      hashKeyRange: s.HashKeyRange ? `${s.HashKeyRange.StartingHashKey}-${s.HashKeyRange.EndingHashKey}` : undefined,
    }));
    if (format === 'json') {
      io.out(
        JSON.stringify(
          {
            mode: 'aws',
            stream: cfg.streamName,
            region: cfg.region,
            status: summary?.StreamStatus,
            streamMode: summary?.StreamModeDetails?.StreamMode,
            retentionHours: summary?.RetentionPeriodHours,
            openShards: summary?.OpenShardCount,
            consumers: summary?.ConsumerCount,
            shards: rows,
            consumerLag: health.lag,
            queues: health.queues,
            backlog: null,
            note: BACKLOG_NOTE,
          },
          null,
          2,
        ),
      );
      return 0;
    }
    const openShards = summary?.OpenShardCount ?? rows.filter((r) => r.state === 'open').length;
    const facts = [
      summary?.StreamStatus ?? 'status unknown',
      summary?.StreamModeDetails?.StreamMode,
      `${openShards} open shard${openShards === 1 ? '' : 's'}`,
      summary?.RetentionPeriodHours !== undefined ? `retention ${summary.RetentionPeriodHours} h` : undefined,
    ].filter((f) => f !== undefined);
    io.out(`stream ${cfg.streamName} in ${cfg.region}: ${facts.join(', ')}`);
    io.out(`${pad('shard', 22)}  ${pad('state', 6)}  starting sequence number`);
    for (const r of rows) io.out(`${pad(r.shardId, 22)}  ${pad(r.state, 6)}  ${r.startingSequenceNumber ?? '?'}`);
    for (const line of describeHealth(health)) io.out(line);
    io.out(BACKLOG_NOTE);
    return 0;
  } finally {
    client.destroy();
  }
}

/**
 * Rephrases a failed stream lookup as one clear line: missing stream or unreachable endpoint.
 *
 * @example
 * try { await client.send(new DescribeStreamSummaryCommand({ StreamName })) } catch (e) { throw streamError(e, target); }
 */
export function streamError(e: unknown, target: Target): unknown {
  const { streamName, region } = target.config;
  const endpoint = target.config.endpoints.kinesis;
  const err = e as { name?: string; message?: string } | undefined;
  if (err?.name === 'ResourceNotFoundException') {
    return new WellwatchError(
      target.mode === 'local'
        ? `stream ${streamName} not found at ${endpoint} (local mode creates ${NAMES.streamName}; check --data-dir and --stream)`
        : `stream ${streamName} not found in ${region}${endpoint ? ` at ${endpoint}` : ''} (deploy with \`npx cdk deploy\` or pass --stream)`,
    );
  }
  const code = networkCode(e);
  if (code) {
    const where = endpoint ?? `kinesis.${region}.amazonaws.com`;
    const detail = /(connect |getaddrinfo )?E[A-Z_]{4,}( [\w.:[\]-]+)?/.exec(err?.message ?? '')?.[0] ?? code;
    return new WellwatchError(`cannot reach Kinesis at ${where} (${detail})`);
  }
  return e;
}

/**
 * Runs `wellwatch status`. `clients` replaces the CloudWatch and SQS clients of AWS mode (tests).
 *
 * @example
 * await statusCommand(['--local', '--format', 'json'], processIO());
 */
export async function statusCommand(argv: string[], io: CliIO, clients: HealthClients = {}): Promise<number> {
  const { values } = parseCommandArgs('status', argv, {
    ...TARGET_OPTIONS,
    format: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, got "${format}"`);
  const target = resolveTarget(targetFlags(values));
  return target.mode === 'local' ? localStatus(target, format, io) : awsStatus(target, format, io, clients);
}
