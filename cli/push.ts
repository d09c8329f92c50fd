/**
 * `wellwatch push <file…|->` — sends sensor CSV into the stream through the producer engine.
 *
 * Files are streamed (plain or gzip), stdin with `-`. Each line is checked with the consumer's parser first: bad
 * lines are reported with `file:line` and a reason and not sent (`--no-validate` sends them anyway, so the consumer
 * dead-letters them). See cli/producer/ for packing, ordering and retries.
 */
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { LIMITS, PRODUCER_LINGER_MS } from '../lambdas/config';
import { isWellwatchError, WellwatchError } from '../lambdas/core/errors';
import { parseUtcOffset } from '../lambdas/core/parse-reading';
import { kinesisClient } from '../lambdas/store/clients';
import { explainError, UsageError } from './errors';
import { intOption, numberOption, parseCommandArgs, type CliIO } from './io';
import {
  PAYLOAD_FORMATS,
  openInput,
  produce,
  putRecordsWith,
  type FailedRecord,
  type InputSource,
  type LineSource,
  type PayloadFormat,
  type Producer,
  type ProducerStats,
  type RefusedLine,
} from './producer';
import { formatCount, formatDuration, startProgress } from './progress';
import { streamError, waitForLocalIdle } from './status';
import { listOpenShards, type ShardRange } from './shard-map';
import { TARGET_OPTIONS, resolveTarget, targetFlags, type Target } from './target';

/** How many refused lines and failed records are printed one by one. */
const SHOWN = 20;

const HELP = `usage: wellwatch push <file…|-> [options]

Sends sensor CSV lines (files, .gz files, or - for stdin) into the Kinesis stream, packed per shard.

  --format kpl|lines     record format: KPL aggregated records (default) or newline-joined lines
  --pack shard|pump      share records among the pumps of a shard (default; reads the shard map with ListShards,
                         falls back to pump when it cannot) or one pump per record (partition key = pump)
  --record-bytes N       byte budget of one Kinesis record incl. partition key (default 65536, max ${LIMITS.kinesisMaxRecordBytes})
  --linger MS            send a partly filled record this long after its first line (default ${PRODUCER_LINGER_MS})
  --concurrency N        PutRecords calls in flight (default 4); a shard's (or pump's) records are never in two
                         calls at once, so each pump's readings arrive in order
  --rate N               pace to N readings per second
  --max-attempts N       attempts per record before it is reported as failed (default 8)
  --no-validate          send lines the parser refuses too (the consumer dead-letters them)
  --wait                 local mode: wait until the consumer has processed everything
  --wait-timeout S       give up waiting after S seconds (default 300)
  --quiet                no progress and no summary (errors are still printed)
  --local [--data-dir DIR], --stream NAME, --region R, --deployment NAME

Exit code 0 when every accepted reading was sent; 1 when some could not be; 2 for usage errors.
Refused lines are reported (first ${SHOWN} with file:line and reason) and do not change the exit code.`;

function describeRefused(r: RefusedLine): string {
  return `${r.source}:${r.line}: refused (${r.code}) ${r.reason}`;
}

function describeFailed(f: FailedRecord): string {
  const range = f.first.source === f.last.source ? `${f.first.source}:${f.first.line}-${f.last.line}` : `${f.first.source}:${f.first.line} - ${f.last.source}:${f.last.line}`;
  const whose = f.shardId !== undefined ? `for ${f.shardId}` : `of pump ${f.pump}`;
  return `not sent: ${formatCount(f.readings)} readings ${whose} (${range}) after ${f.attempts} attempts: ${f.reason}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * The summary lines printed after a push: read, sent, calls, refused (by reason) and failed.
 *
 * @example
 * for (const line of summaryLines(stats, 'kpl', elapsedMs, 1)) io.out(line);
 */
export function summaryLines(stats: ProducerStats, format: PayloadFormat, elapsedMs: number, inputs: number): string[] {
  const secs = elapsedMs / 1000;
  const rate = secs > 0 ? stats.sent / secs : 0;
  const reasons = Object.entries(stats.refusedByCode)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${formatCount(n)}`)
    .join(', ');
  return [
    `read     ${formatCount(stats.linesRead)} lines from ${inputs} input${inputs === 1 ? '' : 's'} (${formatCount(stats.skipped)} blank/header skipped)`,
    `sent     ${formatCount(stats.sent)} readings in ${formatCount(stats.records)} records` +
      (format === 'kpl' ? ` (${formatCount(stats.userRecords)} KPL user records)` : '') +
      `, ${formatBytes(stats.bytesSent)} in ${formatDuration(secs)} (${formatCount(rate)} readings/s)`,
    `calls    ${formatCount(stats.calls)} PutRecords, ${formatCount(stats.retriedEntries)} retried entries` +
      (stats.misroutedRecords > 0
        ? `, ${formatCount(stats.misroutedRecords)} records landed on another shard than the map said (stream resharded; map reloaded ${stats.shardMapRefreshes}×)`
        : ''),
    `refused  ${formatCount(stats.refused)} lines before sending${reasons ? ` (${reasons})` : ''}`,
    `failed   ${formatCount(stats.failed)} readings${stats.failedRecords ? ` in ${formatCount(stats.failedRecords)} records` : ''}`,
  ];
}

/** Flags of a send run, shared by `push` and `generate --send`. */
export const SEND_OPTIONS = {
  ...TARGET_OPTIONS,
  format: { type: 'string' },
  pack: { type: 'string' },
  'record-bytes': { type: 'string' },
  linger: { type: 'string' },
  concurrency: { type: 'string' },
  rate: { type: 'string' },
  'max-attempts': { type: 'string' },
  'no-validate': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

/** A send run's settings, read from {@link SEND_OPTIONS} flags. */
export interface SendSettings {
  readonly target: Target;
  readonly format: PayloadFormat;
  readonly pack: 'shard' | 'pump';
  readonly recordBytes: number;
  readonly lingerMs: number;
  readonly concurrency: number;
  readonly rate: number | undefined;
  readonly maxAttempts: number;
  readonly validate: boolean;
  readonly quiet: boolean;
}

/**
 * Reads and checks the {@link SEND_OPTIONS} flags.
 *
 * @throws UsageError naming the flag when a value is out of range.
 */
export function sendSettings(values: Record<string, unknown>): SendSettings {
  const format = (values.format as string | undefined) ?? 'kpl';
  if (!Object.values(PAYLOAD_FORMATS).includes(format as PayloadFormat)) {
    throw new UsageError(`--format must be ${Object.values(PAYLOAD_FORMATS).join(' or ')}, got "${format}"`);
  }
  const pack = (values.pack as string | undefined) ?? 'shard';
  if (pack !== 'shard' && pack !== 'pump') throw new UsageError(`--pack must be shard or pump, got "${pack}"`);
  const recordBytesRaw = values['record-bytes'] as string | undefined;
  const lingerMs = intOption('linger', values.linger as string | undefined, PRODUCER_LINGER_MS, 0, 60_000);
  const concurrency = intOption('concurrency', values.concurrency as string | undefined, 4, 1, 64);
  const rate = numberOption('rate', values.rate as string | undefined, undefined, 0.001, 1e9);
  const maxAttempts = intOption('max-attempts', values['max-attempts'] as string | undefined, 8, 1, 30);
  const target = resolveTarget(targetFlags(values));
  const recordBytes = intOption('record-bytes', recordBytesRaw, target.config.producerRecordBytes, 256, LIMITS.kinesisMaxRecordBytes);
  return {
    target,
    format: format as PayloadFormat,
    pack,
    recordBytes,
    lingerMs,
    concurrency,
    rate,
    maxAttempts,
    validate: values['no-validate'] !== true,
    quiet: values.quiet === true,
  };
}

/** Result of {@link sendLines}: the exit code so far, and what was sent. */
export interface SendResult {
  readonly code: number;
  readonly stats: ProducerStats;
  readonly elapsedMs: number;
}

/**
 * Sends line sources into the target's stream: checks the stream, reads the shard map (`--pack shard`), shows
 * progress, reports refused lines and failed records, handles Ctrl-C, prints the summary.
 *
 * @returns code 0 when every accepted reading was sent, 1 when some could not be, 130 after Ctrl-C.
 * @throws WellwatchError when the stream is missing or not active.
 */
export async function sendLines(
  inputs: readonly LineSource[],
  settings: SendSettings,
  io: CliIO,
  options: { readonly command?: string; readonly totalBytes?: () => { read: number; total: number } | undefined } = {},
): Promise<SendResult> {
  const command = options.command ?? 'push';
  const totalBytes = options.totalBytes;
  const { target, format, quiet } = settings;
  const cfg = target.config;
  const client = kinesisClient(cfg, { maxAttempts: 1, requestTimeoutMs: 30_000 });
  try {
    try {
      const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: cfg.streamName }));
      const status = d.StreamDescriptionSummary?.StreamStatus;
      if (status !== 'ACTIVE' && status !== 'UPDATING') {
        throw new WellwatchError(`stream ${cfg.streamName} is ${status ?? 'in an unknown state'}, not ACTIVE; try again when it is`);
      }
    } catch (e) {
      throw streamError(e, target);
    }
    let shards: readonly ShardRange[] | undefined;
    if (settings.pack === 'shard') {
      try {
        shards = await listOpenShards(client, cfg.streamName);
      } catch (e) {
        // Packing per pump always works; say why the better packing is off.
        io.err(`wellwatch ${command}: packing per pump: cannot read the shard map (${(e as Error)?.message ?? String(e)})`);
      }
    }

    let refusedShown = 0;
    let failedShown = 0;
    let producer: Producer | undefined;
    const progress = quiet
      ? undefined
      : startProgress(io, () => {
          const bytes = totalBytes?.();
          return {
            done: producer?.stats.sent ?? 0,
            unit: 'readings sent',
            ...(bytes ? { bytes } : {}),
            ...(producer && producer.stats.retriedEntries > 0 ? { extra: `${formatCount(producer.stats.retriedEntries)} retried` } : {}),
          };
        });
    const started = Date.now();
    let stats: ProducerStats;
    let fatal: unknown;
    // First Ctrl-C: stop sending, report what was and was not sent. A second one ends the process as usual.
    let interrupted = false;
    const onSigint = (): void => {
      interrupted = true;
      producer?.abort('interrupted (Ctrl-C); readings counted as failed were not confirmed sent');
    };
    process.once('SIGINT', onSigint);
    try {
      stats = await produce(
        inputs,
        {
          streamName: cfg.streamName,
          putRecords: putRecordsWith(client),
          format,
          ...(shards !== undefined ? { shards, refreshShards: () => listOpenShards(client, cfg.streamName) } : {}),
          recordBytes: settings.recordBytes,
          lingerMs: settings.lingerMs,
          concurrency: settings.concurrency,
          maxAttempts: settings.maxAttempts,
          validate: settings.validate,
          parse: { utcOffsetMinutes: parseUtcOffset(cfg.sourceUtcOffset) },
          ...(settings.rate !== undefined ? { ratePerSecond: settings.rate } : {}),
          onRefused: (r) => {
            if (refusedShown++ < SHOWN) io.err(describeRefused(r));
          },
          onFailed: (f) => {
            if (failedShown++ < SHOWN) io.err(describeFailed(f));
          },
        },
        (p) => (producer = p),
      );
    } catch (e) {
      if (producer === undefined) throw e;
      fatal = e;
      stats = producer.stats;
    } finally {
      process.removeListener('SIGINT', onSigint);
      progress?.stop();
    }
    const elapsedMs = Date.now() - started;
    if (refusedShown > SHOWN) io.err(`… and ${formatCount(refusedShown - SHOWN)} more refused lines`);
    if (failedShown > SHOWN) io.err(`… and ${formatCount(failedShown - SHOWN)} more records not sent`);
    if (!quiet || fatal !== undefined || stats.failed > 0) {
      const print = quiet ? io.err : io.out;
      for (const line of summaryLines(stats, format, elapsedMs, inputs.length)) print(line);
    }
    if (fatal !== undefined) {
      if (isWellwatchError(fatal)) {
        // explainError labels a bug (InternalError) as one, so a user can tell it from a Kinesis problem.
        io.err(`wellwatch ${command}: ${explainError(fatal).message}`);
        return { code: interrupted ? 130 : 1, stats, elapsedMs };
      }
      throw fatal;
    }
    if (stats.failed > 0) {
      io.err(`wellwatch ${command}: ${formatCount(stats.failed)} readings could not be sent (see above); send those lines again`);
      return { code: 1, stats, elapsedMs };
    }
    return { code: 0, stats, elapsedMs };
  } finally {
    client.destroy();
  }
}

/**
 * Runs `wellwatch push`.
 *
 * @example
 * const code = await pushCommand(['readings.csv.gz', '--local', '--wait'], processIO());
 */
export async function pushCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'push',
    argv,
    {
      ...SEND_OPTIONS,
      wait: { type: 'boolean' },
      'wait-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('no input: give one or more files, or - for stdin (see `wellwatch push --help`)');
  if (positionals.filter((p) => p === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
  const settings = sendSettings(values);
  const waitTimeoutS = numberOption('wait-timeout', values['wait-timeout'] as string | undefined, 300, 1, 86_400);
  if (values.wait && settings.target.mode !== 'local') {
    throw new UsageError('--wait needs --local (in AWS, watch the consumer iterator age on the dashboard)');
  }
  const inputs: InputSource[] = positionals.map((p) => openInput(p, io.stdin));
  const total = inputs.every((i) => i.size !== undefined) ? inputs.reduce((n, i) => n + i.size!, 0) : undefined;
  const result = await sendLines(inputs, settings, io, {
    totalBytes: () => (total ? { read: inputs.reduce((n, i) => n + i.bytesRead(), 0), total } : undefined),
  });
  if (result.code !== 0) return result.code;
  if (values.wait) {
    const quiet = settings.quiet;
    if (!quiet) io.err('waiting for local mode to process the stream…');
    const ms = await waitForLocalIdle(settings.target.local!.apiUrl, { timeoutMs: waitTimeoutS * 1000 });
    if (!quiet) {
      io.out(
        `processed ${formatDuration(ms / 1000)} after the last record was sent (all shards idle, backlog 0; ${formatDuration((result.elapsedMs + ms) / 1000)} end to end)`,
      );
    }
  }
  return 0;
}
