/**
 * `wellwatch query readings|alerts|stats|deadletters` — reads stored data back out for analysis tools.
 *
 * Every read is a DynamoDB Query (never a Scan), streamed page by page, printed as CSV (default) or JSON.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ReceiveMessageCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { MEASURES, type DailyStats, type EvaluatedReading } from '../lambdas/core/types';
import { READING_CSV_COLUMNS, STATS_CSV_COLUMNS, csvField, readingToCsvRow, statsToCsvRow } from '../lambdas/core/format';
import { dynamoClient, sqsClient } from '../lambdas/store/clients';
import { timeBound } from '../lambdas/store/days';
import { queryAlerts, queryReadings, queryStats } from '../lambdas/store/queries';
import { parseCommandArgs, type CliIO } from './io';
import { UsageError } from './errors';
import { TARGET_OPTIONS, resolveTarget, targetFlags } from './target';

const KINDS = ['readings', 'alerts', 'stats', 'deadletters'] as const;
type Kind = (typeof KINDS)[number];

const HELP = `usage: wellwatch query <readings|alerts|stats|deadletters> [options]

  readings --pump P [--from T] [--to T]   one pump's readings (T: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)
  alerts [--pump P] [--from T] [--to T]   alerting readings, all pumps or one
  stats [--pump P] [--from D] [--to D]    daily min/max/avg per pump (D: YYYY-MM-DD)
  deadletters [--limit N]                 bad lines with their reasons

  --format csv|json   output format (default csv)
  --local             query the running local mode (--data-dir DIR, default ./.wellwatch)
  --deployment NAME, --region R, --readings-table, --stats-table, --catalog-table   AWS overrides`;

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z?$/;

function checkTime(flag: string, value: string | undefined, dayOnly: boolean): string | undefined {
  if (value === undefined) return undefined;
  const ok = DAY_RE.test(value) || (!dayOnly && TS_RE.test(value));
  if (!ok || Number.isNaN(Date.parse(DAY_RE.test(value) ? `${value}T00:00:00Z` : value.endsWith('Z') ? value : `${value}Z`))) {
    throw new UsageError(`--${flag} must be ${dayOnly ? 'YYYY-MM-DD' : 'YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z'}, got "${value}"`);
  }
  return value;
}

/** Flat JSON form of a reading (same fields as the CSV). */
function readingJson(r: EvaluatedReading): Record<string, unknown> {
  return { pump: r.pump, ts: r.ts, ...r.values, alerts: r.alerts };
}

/** Flat JSON form of a stats row (keys are exactly the CSV columns). */
function statsJson(s: DailyStats): Record<string, unknown> {
  const o: Record<string, unknown> = { pump: s.pump, date: s.date, count: s.count };
  for (const m of MEASURES) {
    o[`${m}_min`] = s.measures[m].min;
    o[`${m}_max`] = s.measures[m].max;
    o[`${m}_avg`] = s.measures[m].avg;
  }
  return o;
}

/** Writes rows as CSV or as one JSON array, streaming. Returns the row count. */
async function emit<T>(io: CliIO, format: string, header: readonly string[], rows: AsyncIterable<T>, csv: (r: T) => string, json: (r: T) => unknown): Promise<number> {
  // The header (or the opening bracket) is printed once the first page has arrived, so an unreachable endpoint
  // yields only the error line, not a half-written document.
  let n = 0;
  const open = () => io.out(format === 'csv' ? header.join(',') : '[');
  for await (const row of rows) {
    if (n === 0) open();
    if (format === 'csv') io.out(csv(row));
    else io.out(`${n ? ',' : ''}${JSON.stringify(json(row))}`);
    n++;
  }
  if (n === 0) open();
  if (format === 'json') io.out(']');
  return n;
}

async function* localDeadLetters(url: string, limit: number): AsyncGenerator<Record<string, unknown>> {
  const file = fileURLToPath(url);
  if (!fs.existsSync(file)) return;
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    if (!line.trim()) continue;
    if (n++ >= limit) break;
    yield JSON.parse(line);
  }
}

async function* awsDeadLetters(config: Parameters<typeof sqsClient>[0], limit: number): AsyncGenerator<Record<string, unknown>> {
  const sqs = sqsClient(config);
  const queueUrl = config.deadLetterUrl ?? (await sqs.send(new GetQueueUrlCommand({ QueueName: config.names.deadLetterQueue }))).QueueUrl!;
  // Peek without consuming: VisibilityTimeout 0 leaves every message on the queue. It also means nothing is hidden
  // from the next receive ("the duration that the received messages are hidden from subsequent retrieve requests",
  // ReceiveMessage API reference), so the same message comes back again and again: print each MessageId once, and
  // stop after three receives that bring nothing new.
  const seen = new Set<string>();
  let n = 0;
  for (let empty = 0; n < limit && empty < 3; ) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 1 }));
    const fresh = (r.Messages ?? []).filter((m) => {
      const id = m.MessageId ?? m.ReceiptHandle ?? m.Body ?? '';
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    if (fresh.length === 0) {
      empty++;
      continue;
    }
    empty = 0;
    for (const m of fresh) {
      if (n++ >= limit) break;
      yield JSON.parse(m.Body ?? '{}');
    }
  }
}

const DEAD_LETTER_COLUMNS = ['rejectedAt', 'code', 'reason', 'shardId', 'sequenceNumber', 'lineInRecord', 'raw'] as const;

/**
 * Runs `wellwatch query`.
 *
 * @example
 * await queryCommand(['stats', '--local', '--format', 'json'], processIO());
 */
export async function queryCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'query',
    argv,
    {
      ...TARGET_OPTIONS,
      pump: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      format: { type: 'string', default: 'csv' },
      limit: { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const kind = positionals[0] as Kind | undefined;
  if (!kind || !KINDS.includes(kind) || positionals.length > 1) {
    throw new UsageError(`expected one of ${KINDS.join('|')}, got ${positionals.length ? `"${positionals.join(' ')}"` : 'nothing'} (see \`wellwatch query --help\`)`);
  }
  const format = values.format!;
  if (format !== 'csv' && format !== 'json') throw new UsageError(`--format must be csv or json, got "${format}"`);
  const pump = values.pump;
  if (pump !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(pump)) throw new UsageError(`--pump must match [A-Za-z0-9_-]{1,64}, got "${pump}"`);
  const dayOnly = kind === 'stats';
  const from = checkTime('from', values.from, dayOnly);
  const to = checkTime('to', values.to, dayOnly);
  // Compare the instants, not the texts: '2014-03-10T05:00Z' is before '2014-03-10' as a --to (the whole day).
  if (from && to && timeBound('from', from).ts > timeBound('to', to).ts) throw new UsageError(`--from ${from} is after --to ${to}`);

  const target = resolveTarget(targetFlags(values));
  const client = kind === 'deadletters' ? undefined : dynamoClient(target.config);
  let count: number;
  switch (kind) {
    case 'readings':
      if (!pump) throw new UsageError('query readings needs --pump P (readings are partitioned by pump and day)');
      count = await emit(io, format, READING_CSV_COLUMNS, queryReadings(client!, target.config, { pump, from, to }), readingToCsvRow, readingJson);
      break;
    case 'alerts':
      count = await emit(io, format, READING_CSV_COLUMNS, queryAlerts(client!, target.config, { pump, from, to }), readingToCsvRow, readingJson);
      break;
    case 'stats':
      count = await emit(io, format, STATS_CSV_COLUMNS, queryStats(client!, target.config, { pump, from, to }), statsToCsvRow, statsJson);
      break;
    case 'deadletters': {
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, got "${values.limit}"`);
      const rows = target.local ? localDeadLetters(target.local.deadLetterUrl, limit) : awsDeadLetters(target.config, limit);
      count = await emit(io, format, DEAD_LETTER_COLUMNS, rows, (r) => DEAD_LETTER_COLUMNS.map((c) => csvField(r[c] === undefined || r[c] === null ? '' : String(r[c]))).join(','), (r) => r);
      break;
    }
  }
  if (io.isTTY) io.err(`${count} ${kind}`);
  return 0;
}
