/**
 * The terminal a command talks to, as a value, plus the argument plumbing every command shares.
 *
 * Commands never touch `process.stdout` directly: they get a {@link CliIO}, so tests, the demo and benchmarks run
 * them in-process and capture what they print.
 */
import { Readable } from 'node:stream';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';

/** What a command may read from and write to. */
export interface CliIO {
  /** Writes one line (a newline is appended) to standard output: results. */
  readonly out: (s: string) => void;
  /** Writes one line (a newline is appended) to standard error: progress, warnings, errors. */
  readonly err: (s: string) => void;
  /** Standard input, for `push -`. */
  readonly stdin: NodeJS.ReadableStream;
  /** True when standard error is an interactive terminal (progress updates one line in place). */
  readonly isTTY: boolean;
  /** Raw standard output, for streamed output that must respect backpressure (`generate`). */
  readonly stdout?: NodeJS.WritableStream;
  /** Raw standard error, for a progress line rewritten in place with `\r`. */
  readonly stderr?: NodeJS.WritableStream;
}

/**
 * The real process's terminal.
 *
 * @example
 * process.exitCode = await pushCommand(process.argv.slice(3), processIO());
 */
export function processIO(): CliIO {
  return {
    out: (s) => void process.stdout.write(`${s}\n`),
    err: (s) => void process.stderr.write(`${s}\n`),
    stdin: process.stdin,
    isTTY: Boolean(process.stderr.isTTY),
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

/** A {@link CliIO} that records what a command prints, for tests and for embedding a command. */
export interface BufferedIO extends CliIO {
  /** Lines written with `out`. */
  readonly outLines: string[];
  /** Lines written with `err`. */
  readonly errLines: string[];
}

/**
 * An in-memory terminal: `out`/`err` lines are collected; stdin is the given stream (default: an empty one).
 *
 * @example
 * const io = bufferedIO();
 * const code = await statusCommand(['--local', '--format', 'json'], io);
 * const status = JSON.parse(io.outLines.join('\n'));
 */
export function bufferedIO(options: { stdin?: NodeJS.ReadableStream; isTTY?: boolean } = {}): BufferedIO {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return {
    out: (s) => void outLines.push(s),
    err: (s) => void errLines.push(s),
    stdin: options.stdin ?? Readable.from([]),
    isTTY: options.isTTY ?? false,
    outLines,
    errLines,
  };
}

/**
 * node:util `parseArgs` in strict mode, with its errors turned into one short {@link UsageError} line.
 *
 * @example
 * const { values, positionals } = parseCommandArgs('push', argv, { quiet: { type: 'boolean' } }, true);
 */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
): { values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values']; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (!allowPositionals && positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals[0]}" (see \`wellwatch ${command} --help\`)`);
    }
    return { values, positionals };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const quoted = /'([^']+)'/.exec(err.message ?? '')?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UsageError(`unknown option ${quoted ?? ''} (see \`wellwatch ${command} --help\`)`.replace('  ', ' '));
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const msg = err.message ?? '';
      // Prefer the long form the user most likely typed; Node's message names the short alias first.
      const flag = /--[\w-]+/.exec(msg)?.[0] ?? /-\w\b/.exec(msg)?.[0] ?? 'an option';
      if (/argument is ambiguous/i.test(msg)) {
        throw new UsageError(`option ${flag} needs a value; for a value starting with "-" write ${flag}=<value>`);
      }
      const needsValue = /argument missing|requires an argument|<value>/i.test(msg);
      throw new UsageError(needsValue ? `option ${flag} needs a value` : `option ${flag} takes no value`);
    }
    throw e;
  }
}

/**
 * Reads an integer flag, checking its range; the message names the flag, the range and the value.
 *
 * @example
 * const concurrency = intOption('concurrency', values.concurrency, 4, 1, 64);
 */
export function intOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer ${min}–${max}, got "${raw}"`);
  }
  return n;
}

/**
 * Reads a decimal flag, checking its range (inclusive).
 *
 * @example
 * const rate = numberOption('rate', values.rate, undefined, 0.001, 1e9);
 */
export function numberOption<F extends number | undefined>(name: string, raw: string | undefined, fallback: F, min: number, max: number): number | F {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number ${min}–${max}, got "${raw}"`);
  }
  return n;
}
