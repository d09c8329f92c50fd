/**
 * `wellwatch redrive deadletters [--code C] [--fix FILE] [--dry-run]` — sends bad lines back into the stream, as
 * they were (after a parser or rule change made them valid) or corrected by a fix file (cli/fix-file.ts), and deletes
 * each dead letter only once the consumer has dealt with its line.
 *
 * How it knows: the lines go through the producer (the same send path as `push`, validation off so the deployed
 * consumer, not this CLI's parser, judges them); then, per line, either
 * - accepted: the reading the line describes is in the readings table with exactly these values (GetItem,
 *   strongly consistent), or
 * - re-dead-lettered: a new dead letter with this raw line and new coordinates (the re-sent record) appeared.
 * Locally it waits until local mode is idle (every shard's backlog 0) and looks once; in AWS it polls until every
 * line is resolved or `--wait-timeout` passes. Only then is the old dead letter deleted; a line still bad keeps its
 * new dead letter (the latest reason). A line neither seen stored nor rejected in time keeps its old dead letter.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REPLAY, type WellwatchConfig } from '../lambdas/config';
import { WellwatchError } from '../lambdas/core/errors';
import { readingItem } from '../lambdas/core/keys';
import { deadLetterId } from '../lambdas/core/message-ids';
import { parseLine, parseUtcOffset } from '../lambdas/core/parse-reading';
import type { DeadLetter } from '../lambdas/core/types';
import { dynamoClient, sqsClient } from '../lambdas/store/clients';
import { UsageError } from './errors';
import { readFixFile, FixFileError } from './fix-file';
import { numberOption, parseCommandArgs, type CliIO } from './io';
import { localQueue, queueUrlOf, sqsQueue, type HeldMessage, type OperatorQueue } from './operator-queues';
import { formatCount, startProgress } from './progress';
import { sendLines, type SendSettings } from './push';
import { waitForLocalIdle } from './status';
import { TARGET_OPTIONS, resolveTarget, targetFlags, type Target } from './target';

const HELP = `usage: wellwatch redrive deadletters [--code C] [--fix FILE] [--dry-run] [--wait-timeout S] [--queue NAME|URL]

Sends dead-lettered lines back into the stream and deletes each dead letter once its line was stored, or
rejected again with a new dead letter (which then stays, with the latest reason).

  --code C           only dead letters with this reason code (e.g. date, range, field-count)
  --fix FILE         send corrected lines instead, only for the dead letters the file names: JSON Lines (or
                     an array) of {shardId, sequenceNumber, lineInRecord, line}; \`query deadletters --format
                     json\` with a "line" added per entry works as is
  --dry-run          only report what would be sent; nothing is sent or deleted
  --wait-timeout S   how long to wait for the consumer to deal with the lines (default ${REPLAY.redriveWaitSeconds})
  --queue NAME|URL   AWS: the dead-letter queue (default: the deployment's)
  --local [--data-dir DIR], --deployment NAME, --region R, --stream NAME, --readings-table NAME

Exit code 0 when every line sent was accepted, 1 when some are still bad or unresolved.`;

/** What became of one re-sent line. */
type Fate = { kind: 'accepted' } | { kind: 'rejected'; reason: string; code: string } | { kind: 'unresolved' };

/** One dead letter (all its duplicate deliveries) and the line sent for it. */
interface Redrive {
  readonly id: string;
  readonly messages: HeldMessage<DeadLetter>[];
  readonly letter: DeadLetter;
  readonly line: string;
  fate: Fate;
}

function deadLetterQueue(target: Target, queue: string | undefined): Promise<OperatorQueue<DeadLetter>> | OperatorQueue<DeadLetter> {
  if (target.local) {
    if (queue !== undefined) throw new UsageError('--queue names an SQS queue; local mode keeps its dead letters in dead-letters.jsonl');
    return localQueue<DeadLetter>(target.local.apiUrl, target.local.deadLetterUrl, '/api/deadletters/delete', deadLetterId);
  }
  const sqs = sqsClient(target.config);
  return queueUrlOf(sqs, queue ?? target.config.names.deadLetterQueue).then((url) => sqsQueue<DeadLetter>(sqs, url, deadLetterId));
}

/** Whether the readings table holds exactly the reading `line` describes. */
async function isStored(dynamo: DynamoDBClient, cfg: WellwatchConfig, line: string): Promise<boolean> {
  const parsed = parseLine(line, { utcOffsetMinutes: parseUtcOffset(cfg.sourceUtcOffset) });
  if (parsed.kind !== 'reading') return false;
  const want = readingItem({ ...parsed.reading, alerts: [] });
  const out = await dynamo.send(new GetItemCommand({ TableName: cfg.readingsTable, Key: { pk: want.pk, sk: want.sk }, ConsistentRead: true }));
  return out.Item !== undefined && JSON.stringify(out.Item.d) === JSON.stringify(want.d);
}

/** Settles the fate of every unresolved line from the current table and the dead letters not among the originals. */
async function settle(redrives: readonly Redrive[], fresh: readonly DeadLetter[], dynamo: DynamoDBClient, cfg: WellwatchConfig, since: string): Promise<void> {
  const rejectedByRaw = new Map<string, DeadLetter>();
  for (const l of fresh) if (l.rejectedAt >= since) rejectedByRaw.set(l.raw, l);
  for (const r of redrives) {
    if (r.fate.kind !== 'unresolved') continue;
    const again = rejectedByRaw.get(r.line);
    if (again) r.fate = { kind: 'rejected', reason: again.reason, code: again.code };
    else if (await isStored(dynamo, cfg, r.line)) r.fate = { kind: 'accepted' };
  }
}

/**
 * Runs `wellwatch redrive deadletters`.
 *
 * @example
 * const code = await redriveCommand(['deadletters', '--local', '--fix', 'fixes.jsonl'], processIO());
 */
export async function redriveCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'redrive',
    argv,
    {
      ...TARGET_OPTIONS,
      code: { type: 'string' },
      fix: { type: 'string' },
      queue: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'wait-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'deadletters') {
    throw new UsageError(`expected deadletters, got ${positionals.length ? `"${positionals.join(' ')}"` : 'nothing'} (see \`wellwatch redrive --help\`)`);
  }
  const waitMs = numberOption('wait-timeout', values['wait-timeout'], REPLAY.redriveWaitSeconds, 1, 86_400) * 1000;
  const fixes = values.fix !== undefined ? await readFixFile(values.fix) : undefined;
  const target = resolveTarget(targetFlags(values));
  const cfg = target.config;
  if (!target.local && waitMs > (REPLAY.visibilityTimeoutSeconds - 60) * 1000) {
    // The dead letters are held invisible for REPLAY.visibilityTimeoutSeconds; waiting longer would let them
    // reappear (and be taken by someone else) before this run deletes them.
    throw new UsageError(`--wait-timeout must be at most ${REPLAY.visibilityTimeoutSeconds - 60} s in AWS (the dead letters are held for ${REPLAY.visibilityTimeoutSeconds} s)`);
  }
  const queue = await deadLetterQueue(target, values.queue);

  const held = await queue.receiveAll();
  const byId = new Map<string, HeldMessage<DeadLetter>[]>();
  for (const m of held) byId.set(m.id, [...(byId.get(m.id) ?? []), m]);
  const selected = [...byId.entries()].filter(([, ms]) => values.code === undefined || ms[0].body.code === values.code);
  const selectedIds = new Set(selected.map(([id]) => id));
  const released: HeldMessage<DeadLetter>[] = held.filter((m) => !selectedIds.has(m.id));
  const redrives: Redrive[] = [];
  const skipped: string[] = [];
  try {
    if (fixes) {
      const unknown = [...fixes.keys()].filter((id) => !selectedIds.has(id));
      if (unknown.length) {
        throw new FixFileError(
          `${values.fix} names ${unknown.length} dead letter(s) not in ${queue.description}${values.code !== undefined ? ` with code ${values.code}` : ''}: ${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', …' : ''}; nothing was sent`,
        );
      }
    }
    for (const [id, messages] of selected) {
      const letter = messages[0].body;
      const line = fixes ? fixes.get(id) : letter.raw;
      if (line === undefined) {
        released.push(...messages);
        continue;
      }
      if (!fixes && letter.rawLength > letter.raw.length) {
        skipped.push(`${id}: the dead letter keeps only the first ${letter.raw.length} of ${letter.rawLength} characters; fix it with --fix`);
        released.push(...messages);
        continue;
      }
      redrives.push({ id, messages, letter, line, fate: { kind: 'unresolved' } });
    }
  } catch (e) {
    await queue.release(held);
    throw e;
  }
  await queue.release(released);
  for (const s of skipped) io.err(s);
  io.err(`${redrives.length} dead letter(s) to redrive${fixes ? ` (${fixes.size} corrected by ${values.fix})` : ' as they were'} from ${queue.description}`);
  if (values['dry-run']) {
    for (const r of redrives) io.out(`would send ${r.id} (${r.letter.code}): ${r.line}`);
    await queue.release(redrives.flatMap((r) => r.messages));
    return 0;
  }
  if (redrives.length === 0) return skipped.length ? 1 : 0;

  const dynamo = dynamoClient(cfg);
  const since = new Date().toISOString();
  try {
    const settings: SendSettings = {
      target,
      format: 'kpl',
      pack: 'shard',
      recordBytes: cfg.producerRecordBytes,
      lingerMs: 0,
      concurrency: 4,
      rate: undefined,
      maxAttempts: 8,
      // The deployed consumer judges the lines (a parser or rule change may have made them valid), not this CLI.
      validate: false,
      quiet: true,
    };
    const sent = await sendLines([{ name: 'redrive', lines: redrives.map((r) => r.line) }], settings, io, { command: 'redrive deadletters' });
    if (sent.code !== 0) throw new WellwatchError('not every line could be sent; no dead letter was deleted');

    const progress = startProgress(io, () => ({ done: redrives.filter((r) => r.fate.kind !== 'unresolved').length, unit: 'lines resolved', extra: `of ${redrives.length}` }));
    const fresh: HeldMessage<DeadLetter>[] = [];
    const originals = new Set(held.map((m) => m.id));
    try {
      if (target.local) {
        await waitForLocalIdle(target.local.apiUrl, { timeoutMs: waitMs });
        fresh.push(...(await queue.receiveAll()).filter((m) => !originals.has(m.id)));
        await settle(redrives, fresh.map((m) => m.body), dynamo, cfg, since);
      } else {
        for (const deadline = Date.now() + waitMs; redrives.some((r) => r.fate.kind === 'unresolved') && Date.now() < deadline; ) {
          fresh.push(...(await queue.receiveAll()).filter((m) => !originals.has(m.id)));
          await settle(redrives, fresh.map((m) => m.body), dynamo, cfg, since);
          if (redrives.some((r) => r.fate.kind === 'unresolved')) await new Promise((r) => setTimeout(r, 5_000));
        }
      }
    } finally {
      progress.stop();
      // New dead letters are the latest word on a line: they stay, visible again.
      await queue.release(fresh);
    }
    const resolved = redrives.filter((r) => r.fate.kind !== 'unresolved');
    const unresolved = redrives.filter((r) => r.fate.kind === 'unresolved');
    if (resolved.length) await queue.delete(resolved.flatMap((r) => r.messages));
    await queue.release(unresolved.flatMap((r) => r.messages));
    const accepted = resolved.filter((r) => r.fate.kind === 'accepted').length;
    const rejected = resolved.length - accepted;
    io.out(
      `redrive deadletters: ${formatCount(redrives.length)} line(s) sent; ${formatCount(accepted)} stored and their dead letters removed; ` +
        `${formatCount(rejected)} still bad (old dead letter replaced by the new one); ${formatCount(unresolved.length)} not resolved in time (kept)`,
    );
    for (const r of redrives) {
      if (r.fate.kind === 'rejected') io.err(`still bad: ${r.id} → ${r.fate.code}: ${r.fate.reason}`);
      if (r.fate.kind === 'unresolved') io.err(`unresolved: ${r.id} (kept; run again later)`);
    }
    return rejected || unresolved.length || skipped.length ? 1 : 0;
  } finally {
    dynamo.destroy();
  }
}
