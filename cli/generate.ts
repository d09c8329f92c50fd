/**
 * `wellwatch generate` — deterministic sample readings in the seed CSV format, to stdout, a file, or (`--send`)
 * straight into the stream for load tests, paced with `--rate` and bounded with `--duration`.
 *
 * Output is streamed in chunks and respects backpressure, so a year of data for thousands of pumps never sits in
 * memory, and `wellwatch generate … | head` stops quietly.
 */
import * as fs from 'node:fs';
import { once } from 'node:events';
import { DEFAULT_DEGRADING_SHARE, DEFAULT_START, MAX_DAYS, MAX_PUMPS, degradationEpisodes, generateReadings, type DegradationEpisode } from '../lambdas/core/generator';
import { WellwatchError } from '../lambdas/core/errors';
import { UsageError } from './errors';
import { intOption, numberOption, parseCommandArgs, type CliIO } from './io';
import { SEND_OPTIONS, sendLines, sendSettings } from './push';

const HELP = `usage: wellwatch generate --pumps N --days D --seed S [--start YYYY-MM-DD] [--bad-rate R] [--out FILE]

Writes deterministic sensor readings (seed CSV format, no header) to stdout or FILE: the same options always give
the same bytes. About 960 readings per pump and day.

  --pumps N       number of pumps, 1–${MAX_PUMPS}
  --days D        number of days, 1–${MAX_DAYS}
  --seed S        integer seed
  --start DATE    first day (default 2014-03-10, the seed data's)
  --bad-rate R    probability 0–1 of a malformed line before each good one (default 0)
  --degrading R   share 0–1 of pumps that degrade before one failure (default ${DEFAULT_DEGRADING_SHARE}): a pressure sag
                  over 12–48 h, a pressure step down 2–12 h before, or a displacement drift over 12–48 h
  --truth FILE    write the degradation episodes (ground truth) as CSV: pump,kind,start,failure,repaired,depth
  --out FILE      write to FILE instead of stdout (.gz is NOT compressed; pipe through gzip)

Load test: --send puts the readings straight into the stream (AWS, or --local) through the same producer as push.
  --send          send instead of writing; --days may then be left out (the feed lasts as long as --duration)
  --rate N        pace to N readings per second
  --duration D    stop sending after D: 90, 90s, 5m or 1h (default: until the generated days are sent)
  push's sending flags apply too: --format, --pack, --record-bytes, --linger, --concurrency, --max-attempts,
  --quiet, --local [--data-dir DIR], --stream NAME, --region R, --deployment NAME
  e.g. wellwatch generate --send --local --pumps 10000 --seed 1 --rate 20000 --duration 60s`;

/** Columns of the --truth CSV. */
export const TRUTH_COLUMNS = ['pump', 'kind', 'start', 'failure', 'repaired', 'depth'] as const;

/**
 * The ground-truth CSV of a run's degradation episodes, header included.
 *
 * @example
 * truthCsv(degradationEpisodes({ pumps: 10, days: 5, seed: 42 }));
 */
export function truthCsv(episodes: readonly DegradationEpisode[]): string {
  return [TRUTH_COLUMNS.join(','), ...episodes.map((e) => TRUTH_COLUMNS.map((c) => String(e[c])).join(','))].join('\n') + '\n';
}

/** Flags that only mean something with --send. */
const SEND_ONLY = Object.keys(SEND_OPTIONS).concat('duration');

/**
 * Parses a duration: plain seconds or a number with `s`, `m` or `h`, 1 s – 7 days.
 *
 * @throws UsageError naming --duration otherwise.
 * @example
 * parseDuration('5m'); // → 300
 */
export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(raw.trim());
  const seconds = m ? Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) : NaN;
  if (!(seconds >= 1 && seconds <= 7 * 86_400)) {
    throw new UsageError(`--duration must be seconds or a number with s, m or h, 1 s to 7 days (e.g. 60s, 5m), got "${raw}"`);
  }
  return seconds;
}

const CHUNK_CHARS = 64 * 1024;

/** Writes `text` and waits for `drain` when the stream's buffer is full. */
async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (stream.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (e?: unknown): void => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('close', onDrain);
      stream.removeListener('error', done);
      if (e) reject(e);
      else resolve();
    };
    const onDrain = (): void => done();
    stream.on('drain', onDrain);
    stream.on('close', onDrain);
    stream.on('error', done);
  });
}

/**
 * Runs `wellwatch generate`.
 *
 * @example
 * await generateCommand(['--pumps', '10', '--days', '5', '--seed', '42', '--out', 'sample.csv'], processIO());
 */
export async function generateCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('generate', argv, {
    pumps: { type: 'string' },
    days: { type: 'string' },
    seed: { type: 'string' },
    start: { type: 'string' },
    'bad-rate': { type: 'string' },
    degrading: { type: 'string' },
    truth: { type: 'string' },
    out: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
    send: { type: 'boolean' },
    duration: { type: 'string' },
    ...SEND_OPTIONS,
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const send = values.send === true;
  if (!send) {
    const stray = SEND_ONLY.find((name) => (values as Record<string, unknown>)[name] !== undefined);
    if (stray !== undefined) throw new UsageError(`--${stray} needs --send`);
  } else if (values.out !== undefined) {
    throw new UsageError('--out and --send exclude each other: write a file, or send to the stream');
  }
  const durationS = values.duration !== undefined ? parseDuration(values.duration as string) : undefined;
  for (const required of send && durationS !== undefined ? (['pumps', 'seed'] as const) : (['pumps', 'days', 'seed'] as const)) {
    if (values[required] === undefined) throw new UsageError(`--${required} is required (see \`wellwatch generate --help\`)`);
  }
  const pumps = intOption('pumps', values.pumps as string, 0, 1, MAX_PUMPS);
  const startDay = (values.start as string | undefined) ?? DEFAULT_START;
  // With --send --duration and no --days: as many days as the generator allows from the start (it stops at 2099).
  const daysLeft = Math.floor((Date.UTC(2100, 0, 1) - Date.parse(`${startDay}T00:00:00Z`)) / 86_400_000);
  const defaultDays = Number.isFinite(daysLeft) ? Math.max(1, Math.min(MAX_DAYS, daysLeft)) : MAX_DAYS;
  const days = intOption('days', values.days as string | undefined, defaultDays, 1, MAX_DAYS);
  const seed = intOption('seed', values.seed as string, 0, -(2 ** 53 - 1), 2 ** 53 - 1);
  const badLineRate = numberOption('bad-rate', values['bad-rate'] as string | undefined, 0, 0, 1);
  const degradingShare = numberOption('degrading', values.degrading as string | undefined, DEFAULT_DEGRADING_SHARE, 0, 1);
  const start = values.start as string | undefined;
  if (start !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(start)) throw new UsageError(`--start must be YYYY-MM-DD, got "${start}"`);

  // A generator checks its options on the first next(): take the first line now so bad options fail before output.
  const generatorOptions = { pumps, days, seed, badLineRate, degradingShare, ...(start ? { start } : {}) };
  const lines = generateReadings(generatorOptions);
  let first: IteratorResult<string, void>;
  try {
    first = lines.next();
  } catch (e) {
    throw e instanceof WellwatchError ? new UsageError(e.message) : e;
  }
  const truthFile = values.truth as string | undefined;
  if (truthFile !== undefined) {
    const episodes = degradationEpisodes(generatorOptions);
    try {
      fs.writeFileSync(truthFile, truthCsv(episodes));
    } catch (e) {
      throw new WellwatchError(`cannot write ${truthFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    io.err(`wrote ${episodes.length} degradation episodes to ${truthFile}`);
  }
  if (send) {
    const settings = sendSettings(values);
    const durationMs = durationS === undefined ? Infinity : durationS * 1000;
    let started: number | undefined;
    let generated = 0;
    // Line by line when a duration bounds the run (the deadline is checked before each line, and pacing happens
    // between lines), otherwise in chunks of 256 lines.
    const chunkLines = durationS === undefined ? 256 : 1;
    async function* feed(): AsyncGenerator<string | string[]> {
      started = performance.now();
      let chunk: string[] = first.done ? [] : [first.value];
      for (;;) {
        while (chunk.length < chunkLines) {
          const next = lines.next();
          if (next.done) break;
          chunk.push(next.value);
        }
        if (chunk.length === 0 || performance.now() - started >= durationMs) return;
        generated += chunk.length;
        yield chunkLines === 1 ? chunk[0]! : chunk;
        chunk = [];
      }
    }
    const result = await sendLines([{ name: 'generated', lines: feed() }], settings, io, { command: 'generate' });
    if (!settings.quiet) {
      const seconds = started === undefined ? 0 : (performance.now() - started) / 1000;
      io.out(`generated ${generated} readings of ${pumps} pumps in ${seconds.toFixed(1)} s${durationS !== undefined ? ` (--duration ${durationS} s)` : ''}`);
    }
    return result.code;
  }

  const outFile = values.out as string | undefined;
  let stream: NodeJS.WritableStream;
  let file: fs.WriteStream | undefined;
  if (outFile !== undefined) {
    file = fs.createWriteStream(outFile);
    await Promise.race([once(file, 'open'), once(file, 'error').then(([e]) => Promise.reject(e))]).catch((e: NodeJS.ErrnoException) => {
      throw new WellwatchError(`cannot write ${outFile}: ${e.code === 'ENOENT' ? 'no such directory' : e.code === 'EACCES' ? 'permission denied' : e.message}`);
    });
    stream = file;
  } else {
    stream = io.stdout ?? {
      // An embedding without a raw stdout (tests): lines through io.out, chunk by chunk.
      write: (s: string) => {
        io.out(s.endsWith('\n') ? s.slice(0, -1) : s);
        return true;
      },
    } as unknown as NodeJS.WritableStream;
  }

  let broken = false;
  const onError = (e: NodeJS.ErrnoException): void => {
    if (e.code === 'EPIPE') broken = true;
  };
  stream.on?.('error', onError);
  let count = 0;
  try {
    let chunk = '';
    if (!first.done) {
      chunk = first.value + '\n';
      count++;
    }
    for (const line of lines) {
      chunk += line + '\n';
      count++;
      if (chunk.length >= CHUNK_CHARS) {
        await write(stream, chunk);
        chunk = '';
        if (broken) return 0;
      }
    }
    if (chunk.length > 0) await write(stream, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EPIPE' || broken) return 0;
    throw e;
  } finally {
    stream.removeListener?.('error', onError);
  }
  if (file) {
    file.end();
    await once(file, 'finish');
    io.err(`wrote ${count} lines to ${outFile}`);
  }
  return 0;
}
