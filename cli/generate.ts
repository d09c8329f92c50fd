/**
 * `wellwatch generate` — deterministic sample readings in the seed CSV format, to stdout or a file.
 *
 * Output is streamed in chunks and respects backpressure, so a year of data for thousands of pumps never sits in
 * memory, and `wellwatch generate … | head` stops quietly.
 */
import * as fs from 'node:fs';
import { once } from 'node:events';
import { MAX_DAYS, MAX_PUMPS, generateReadings } from '../lambdas/core/generator';
import { WellwatchError } from '../lambdas/core/errors';
import { UsageError } from './errors';
import { intOption, numberOption, parseCommandArgs, type CliIO } from './io';

const HELP = `usage: wellwatch generate --pumps N --days D --seed S [--start YYYY-MM-DD] [--bad-rate R] [--out FILE]

Writes deterministic sensor readings (seed CSV format, no header) to stdout or FILE: the same options always give
the same bytes. About 960 readings per pump and day.

  --pumps N       number of pumps, 1–${MAX_PUMPS}
  --days D        number of days, 1–${MAX_DAYS}
  --seed S        integer seed
  --start DATE    first day (default 2014-03-10, the seed data's)
  --bad-rate R    probability 0–1 of a malformed line before each good one (default 0)
  --out FILE      write to FILE instead of stdout (.gz is NOT compressed; pipe through gzip)`;

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
    out: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  for (const required of ['pumps', 'days', 'seed'] as const) {
    if (values[required] === undefined) throw new UsageError(`--${required} is required (see \`wellwatch generate --help\`)`);
  }
  const pumps = intOption('pumps', values.pumps as string, 0, 1, MAX_PUMPS);
  const days = intOption('days', values.days as string, 0, 1, MAX_DAYS);
  const seed = intOption('seed', values.seed as string, 0, -(2 ** 53 - 1), 2 ** 53 - 1);
  const badLineRate = numberOption('bad-rate', values['bad-rate'] as string | undefined, 0, 0, 1);
  const start = values.start as string | undefined;
  if (start !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(start)) throw new UsageError(`--start must be YYYY-MM-DD, got "${start}"`);

  // A generator checks its options on the first next(): take the first line now so bad options fail before output.
  const lines = generateReadings({ pumps, days, seed, badLineRate, ...(start ? { start } : {}) });
  let first: IteratorResult<string, void>;
  try {
    first = lines.next();
  } catch (e) {
    throw e instanceof WellwatchError ? new UsageError(e.message) : e;
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
