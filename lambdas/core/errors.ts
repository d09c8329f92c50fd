/**
 * The error hierarchy of wellwatch: one base class and narrow subclasses that carry context.
 *
 * Errors are caught only where something can be done about them: per record (the record becomes a dead letter or a
 * batch-item failure) and at the CLI's top level (one clear line and an exit code). {@link isWellwatchError} lets
 * those places tell an expected, explained failure from a bug.
 */

/** Brand set on every wellwatch error, so the type guard also works across duplicated module instances. */
const BRAND = Symbol.for('wellwatch.error');

/** Options every wellwatch error accepts. */
export interface WellwatchErrorOptions {
  /** The underlying error, kept for logs. */
  readonly cause?: unknown;
}

/**
 * Base class of all errors wellwatch raises on purpose.
 *
 * The message is written for a human operator: it names what was wrong, where, and the offending value.
 *
 * @example
 * throw new WellwatchError('retentionDays must be >= 0, got -1');
 */
export class WellwatchError extends Error {
  constructor(message: string, options: WellwatchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WellwatchError';
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }
}

/** Context of a {@link ParseError}. */
export interface ParseErrorContext extends WellwatchErrorOptions {
  /** Machine-friendly reason code, e.g. `field-count` or `utc-offset`. */
  readonly code?: string;
  /** 1-based line number, when known. */
  readonly lineNumber?: number;
}

/**
 * Input text (a CSV line, a UTC offset, a date argument) could not be parsed.
 *
 * The per-line parser reports problems as values, not throws; this error is for inputs where a throw is the right
 * answer, such as a bad `--utc-offset` argument.
 *
 * @example
 * throw new ParseError('UTC offset must look like +HH:MM, got "2"', { code: 'utc-offset' });
 */
export class ParseError extends WellwatchError {
  readonly code: string | undefined;
  readonly lineNumber: number | undefined;

  constructor(message: string, context: ParseErrorContext = {}) {
    super(message, context);
    this.name = 'ParseError';
    this.code = context.code;
    this.lineNumber = context.lineNumber;
  }
}

/** Context of a {@link WriteError}. */
export interface WriteErrorContext extends WellwatchErrorOptions {
  /** Table (or queue) the write went to. */
  readonly table?: string;
  /** Number of items that could not be written. */
  readonly failedCount?: number;
  /** Attempts made before giving up. */
  readonly attempts?: number;
}

/**
 * Items could not be written to DynamoDB (or SQS) after the bounded retries.
 *
 * @example
 * throw new WriteError('3 items not written to wellwatch-readings after 8 attempts', { table: 'wellwatch-readings', failedCount: 3, attempts: 8 });
 */
export class WriteError extends WellwatchError {
  readonly table: string | undefined;
  readonly failedCount: number | undefined;
  readonly attempts: number | undefined;

  constructor(message: string, context: WriteErrorContext = {}) {
    super(message, context);
    this.name = 'WriteError';
    this.table = context.table;
    this.failedCount = context.failedCount;
    this.attempts = context.attempts;
  }
}

/** Context of a {@link RecordDecodeError}. */
export interface RecordDecodeErrorContext extends WellwatchErrorOptions {
  readonly shardId?: string;
  readonly sequenceNumber?: string;
  readonly partitionKey?: string;
}

/**
 * A Kinesis record could not be decoded (corrupt KPL aggregate, bad checksum, broken protobuf).
 *
 * @example
 * throw new RecordDecodeError('KPL checksum mismatch', { shardId: 'shardId-000000000000', sequenceNumber: '4959…' });
 */
export class RecordDecodeError extends WellwatchError {
  readonly shardId: string | undefined;
  readonly sequenceNumber: string | undefined;
  readonly partitionKey: string | undefined;

  constructor(message: string, context: RecordDecodeErrorContext = {}) {
    super(message, context);
    this.name = 'RecordDecodeError';
    this.shardId = context.shardId;
    this.sequenceNumber = context.sequenceNumber;
    this.partitionKey = context.partitionKey;
  }
}

/**
 * A configuration value (an option, an environment variable, a CDK context key) is invalid.
 *
 * The message names the setting, its allowed range and the value, so the fix is obvious from the one line.
 *
 * @example
 * throw new ConfigError('batchSize must be 1–10000, got 0');
 */
export class ConfigError extends WellwatchError {
  constructor(message: string, options: WellwatchErrorOptions = {}) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/**
 * An invariant inside wellwatch broke: a bug, not bad input or a failing service.
 *
 * Thrown where the code checks its own bookkeeping (an acknowledgement out of order, an encoder writing a different
 * size than it computed). Whoever runs the work must stop it and report the error, never swallow it.
 *
 * @example
 * if (queue[0] !== record) throw new InternalError(`record of ${key} acknowledged out of order`);
 */
export class InternalError extends WellwatchError {
  constructor(message: string, options: WellwatchErrorOptions = {}) {
    super(message, options);
    this.name = 'InternalError';
  }
}

/**
 * Tells a wellwatch error (expected, explained failure) from anything else (a bug or an SDK error).
 *
 * Checks a brand as well as the prototype chain, so it also recognises errors created by a second copy of this
 * module (bundles, jest module registries).
 *
 * @example
 * try { run(); } catch (e) { if (isWellwatchError(e)) { console.error(e.message); process.exitCode = 1; } else throw e; }
 */
export function isWellwatchError(e: unknown): e is WellwatchError {
  return e instanceof WellwatchError || (typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true);
}

/**
 * One line describing any error, for logs, reports and failure reasons.
 *
 * `code: message` for errors that carry a string code (Node's system errors), `Name: message` for named errors
 * (SDK exceptions, wellwatch's subclasses), the bare message for a plain `Error` or `WellwatchError`, and the head is
 * left out when the message already contains it. The
 * one helper every layer uses, so a reason reads the same in a dead letter, a log line and the CLI.
 *
 * @example
 * describeError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })); // → 'ThrottlingException: Rate exceeded'
 */
export function describeError(e: unknown): string {
  if (typeof e !== 'object' || e === null) return String(e);
  const err = e as { name?: unknown; code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : undefined;
  // The generic class names say nothing a reader can use; a specific one (ThrottlingException, ParseError) does.
  const name = typeof err.name === 'string' && err.name !== 'Error' && err.name !== 'WellwatchError' ? err.name : undefined;
  const message = typeof err.message === 'string' ? err.message : '';
  const head = code ?? name;
  if (!head) return message || String(e);
  return message.includes(head) ? message : message ? `${head}: ${message}` : head;
}
