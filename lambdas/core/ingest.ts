/**
 * Turns one Kinesis record's payload into evaluated readings and dead letters.
 *
 * A record's data is either plain UTF-8 text (one or more CSV lines separated by `\n` or `\r\n`) or a KPL aggregate
 * whose user records are such text. Lines are numbered from 1 across the whole Kinesis record, through all user
 * records of an aggregate, so a dead letter's `lineInRecord` finds the line again. Nothing here throws for bad
 * input: every problem becomes a {@link DeadLetter}, which is what lets the consumer acknowledge a batch that
 * contains garbage instead of retrying it forever.
 *
 * Lambda hands the consumer base64 text; decoding it (`Buffer.from(b64, 'base64')`) never throws — characters
 * outside the base64 alphabet are skipped — so a mangled payload arrives here as bytes and is reported by the
 * checks below (usually as an `encoding` or parse dead letter), never as an exception.
 */
import { isUtf8 } from 'node:buffer';
import { isAggregated, deaggregate } from './kpl';
import { parseLine, splitLines, type ParseOptions } from './parse-reading';
import type { CompiledRules } from './rules';
import { RecordDecodeError } from './errors';
import { DEAD_LETTER_RAW_LIMIT, type DeadLetter, type EvaluatedReading, type MeasureStats, type Reading } from './types';

/** Reason codes of dead letters produced here (the parser's codes come from `parseLine`). */
export const INGEST_ERROR_CODES = {
  /** A KPL aggregate that fails its checksum or holds corrupt protobuf; one dead letter for the whole record. */
  corruptAggregate: 'corrupt-aggregate',
  /** A line that is not valid UTF-8. */
  encoding: 'encoding',
  /** The parser or the rules threw; a bug, kept as a dead letter so the batch still completes. */
  internal: 'internal',
} as const;

/** One Kinesis record as the consumer sees it after base64 decoding. */
export interface IngestInput {
  readonly data: Buffer;
  readonly shardId?: string;
  readonly sequenceNumber?: string;
  readonly partitionKey?: string;
}

/** What {@link ingestRecord} needs besides the record. */
export interface IngestContext {
  /** Parser options (sensor clock offset). */
  readonly parse?: ParseOptions;
  /** Alert rules compiled by `compileRules`, evaluated on every reading. */
  readonly rules: CompiledRules;
  /** Rejection time written into dead letters. */
  readonly now: Date;
}

/** Readings and dead letters of one or more Kinesis records. */
export interface IngestResult {
  readonly readings: EvaluatedReading[];
  readonly deadLetters: DeadLetter[];
  /** Lines examined (0 for a corrupt aggregate). Always `readings + line dead letters + skipped`. */
  readonly lines: number;
  /** Blank and header lines, which produce nothing. */
  readonly skipped: number;
}

const UTF8_BOM = '\uFEFF';

/** Calls `onLine` for each text line of `bytes`, or `onBadLine` for each line that is not valid UTF-8. */
function eachLine(
  bytes: Buffer,
  firstLine: number,
  onLine: (text: string, lineNo: number) => void,
  onBadLine: (bytes: Buffer, lineNo: number) => void,
): number {
  let lineNo = firstLine;
  if (isUtf8(bytes)) {
    let text = bytes.toString('utf8');
    if (text.startsWith(UTF8_BOM)) text = text.slice(1);
    for (const line of splitLines(text)) onLine(line, lineNo++);
    return lineNo;
  }
  // Slow path, only for records with invalid UTF-8: split the bytes (0x0A never occurs inside a multi-byte
  // sequence) so that only the broken lines are rejected and the numbering matches splitLines.
  let start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    const next = end < 0 ? bytes.length : end + 1;
    if (end < 0) end = bytes.length;
    if (end > start && bytes[end - 1] === 0x0d) end--;
    const line = bytes.subarray(start, end);
    if (isUtf8(line)) onLine(line.toString('utf8'), lineNo++);
    else onBadLine(line, lineNo++);
    start = next;
  }
  return lineNo;
}

/**
 * Byte offset of the first invalid UTF-8 sequence in `bytes`, or -1 when valid.
 *
 * Follows the well-formed byte sequences table of the Unicode standard (no overlongs, no surrogates, ≤ U+10FFFF).
 * Only used on the error path, to say where a line went wrong.
 *
 * @example
 * invalidUtf8Offset(Buffer.from([0x41, 0xc3, 0x28])); // 1
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    const second = bytes[i + 1];
    if (second === undefined || second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * Splits a Kinesis record's data into text lines, deaggregating KPL records.
 *
 * Blank and header lines are kept (the parser skips them) so that indexes match `lineInRecord - 1`.
 *
 * @throws RecordDecodeError for a corrupt aggregate or a line that is not valid UTF-8.
 * @example
 * decodePayload(Buffer.from('A,3/10/14,1:01,1,1,1,1,1,1\r\nB,3/10/14,1:01,1,1,1,1,1,1\n')); // two lines
 */
export function decodePayload(data: Buffer): string[] {
  const lines: string[] = [];
  const onLine = (text: string): void => {
    lines.push(text);
  };
  const onBadLine = (bytes: Buffer, lineNo: number): void => {
    throw new RecordDecodeError(`line ${lineNo} is not valid UTF-8 (byte ${invalidUtf8Offset(bytes)})`);
  };
  if (!isAggregated(data)) {
    eachLine(data, 1, onLine, onBadLine);
    return lines;
  }
  let lineNo = 1;
  for (const record of deaggregate(data)) lineNo = eachLine(record.data, lineNo, onLine, onBadLine);
  return lines;
}

/** Truncates to `limit` UTF-16 code units without splitting a surrogate pair. */
function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const code = text.charCodeAt(limit - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit);
}

/**
 * Turns one Kinesis record into evaluated readings and dead letters. Never throws.
 *
 * Good lines become readings carrying the names of the alert rules they trigger; bad lines become dead letters
 * with the raw line (truncated to {@link DEAD_LETTER_RAW_LIMIT}), the parser's code and reason, the 1-based line
 * number and the record's coordinates; blank and header lines are counted as skipped. A KPL aggregate that cannot
 * be decoded becomes a single `corrupt-aggregate` dead letter whose `raw` is the base64 of the record's first bytes.
 *
 * @example
 * const { readings, deadLetters } = ingestRecord(
 *   { data: Buffer.from(record.kinesis.data, 'base64'), shardId, sequenceNumber, partitionKey },
 *   { parse: { utcOffsetMinutes: 0 }, rules: compileRules(DEFAULT_ALERT_RULES), now: new Date() },
 * );
 */
export function ingestRecord(input: IngestInput, ctx: IngestContext): IngestResult {
  const readings: EvaluatedReading[] = [];
  const deadLetters: DeadLetter[] = [];
  const rejectedAt = ctx.now.toISOString();
  const { shardId, sequenceNumber, partitionKey } = input;
  const parseOptions = ctx.parse;
  const rules = ctx.rules;
  let skipped = 0;

  const reject = (raw: string, code: string, reason: string, lineInRecord?: number): void => {
    deadLetters.push({
      raw: truncate(raw, DEAD_LETTER_RAW_LIMIT),
      rawLength: raw.length,
      reason,
      code,
      lineInRecord,
      shardId,
      sequenceNumber,
      partitionKey,
      rejectedAt,
    });
  };

  const onLine = (text: string, lineNo: number): void => {
    try {
      const outcome = parseLine(text, parseOptions);
      if (outcome.kind === 'reading') {
        const reading: Reading = outcome.reading;
        readings.push({ pump: reading.pump, day: reading.day, time: reading.time, ts: reading.ts, values: reading.values, alerts: rules(reading.values) });
      } else if (outcome.kind === 'skip') {
        skipped++;
      } else {
        reject(text, outcome.code, outcome.reason, lineNo);
      }
    } catch (e) {
      reject(text, INGEST_ERROR_CODES.internal, `unexpected error processing the line: ${(e as Error)?.message ?? String(e)}`, lineNo);
    }
  };

  const onBadLine = (bytes: Buffer, lineNo: number): void => {
    const offset = invalidUtf8Offset(bytes);
    reject(
      bytes.toString('utf8'),
      INGEST_ERROR_CODES.encoding,
      `line is not valid UTF-8: byte ${offset} is 0x${bytes[offset]?.toString(16).padStart(2, '0') ?? '??'}` +
        ' (invalid sequences shown as U+FFFD)',
      lineNo,
    );
  };

  let nextLine = 1;
  if (!isAggregated(input.data)) {
    nextLine = eachLine(input.data, nextLine, onLine, onBadLine);
  } else {
    let records;
    try {
      records = deaggregate(input.data);
    } catch (e) {
      const head = input.data.subarray(0, (DEAD_LETTER_RAW_LIMIT / 4) * 3);
      deadLetters.push({
        raw: head.toString('base64'),
        rawLength: Math.ceil(input.data.length / 3) * 4,
        reason: `${(e as Error)?.message ?? String(e)} (record of ${input.data.length} bytes; raw is base64)`,
        code: INGEST_ERROR_CODES.corruptAggregate,
        shardId,
        sequenceNumber,
        partitionKey,
        rejectedAt,
      });
      return { readings, deadLetters, lines: 0, skipped: 0 };
    }
    for (const record of records) nextLine = eachLine(record.data, nextLine, onLine, onBadLine);
  }
  return { readings, deadLetters, lines: nextLine - 1, skipped };
}

/**
 * Ingests several Kinesis records and concatenates the results.
 *
 * @example
 * const { readings, deadLetters } = ingestBatch(event.Records.map(toIngestInput), ctx);
 */
export function ingestBatch(inputs: Iterable<IngestInput>, ctx: IngestContext): IngestResult {
  const readings: EvaluatedReading[] = [];
  const deadLetters: DeadLetter[] = [];
  let lines = 0;
  let skipped = 0;
  for (const input of inputs) {
    const r = ingestRecord(input, ctx);
    for (const reading of r.readings) readings.push(reading);
    for (const dead of r.deadLetters) deadLetters.push(dead);
    lines += r.lines;
    skipped += r.skipped;
  }
  return { readings, deadLetters, lines, skipped };
}

/** Per-batch figures the consumer publishes as metrics. */
export interface BatchSummary {
  /** Number of readings. */
  readonly readings: number;
  /** Readings that triggered at least one alert rule. */
  readonly alerting: number;
  /** Distinct pumps in the batch. */
  readonly pumps: number;
  /** Pressure over the batch; absent when there are no readings. */
  readonly psi?: MeasureStats;
  /** Flow over the batch; absent when there are no readings. */
  readonly flo?: MeasureStats;
}

/**
 * Summarises a batch of readings: counts plus min/max/avg of pressure and flow.
 *
 * @example
 * const s = summariseBatch(readings);
 * if (s.psi) metrics.gauge('BatchMinPsi', s.psi.min, 'None');
 */
export function summariseBatch(readings: readonly EvaluatedReading[]): BatchSummary {
  const n = readings.length;
  if (n === 0) return { readings: 0, alerting: 0, pumps: 0 };
  let alerting = 0;
  let psiMin = Infinity;
  let psiMax = -Infinity;
  let psiSum = 0;
  let floMin = Infinity;
  let floMax = -Infinity;
  let floSum = 0;
  const pumps = new Set<string>();
  for (const r of readings) {
    if (r.alerts.length > 0) alerting++;
    pumps.add(r.pump);
    const { psi, flo } = r.values;
    if (psi < psiMin) psiMin = psi;
    if (psi > psiMax) psiMax = psi;
    psiSum += psi;
    if (flo < floMin) floMin = flo;
    if (flo > floMax) floMax = flo;
    floSum += flo;
  }
  return {
    readings: n,
    alerting,
    pumps: pumps.size,
    psi: { min: psiMin, max: psiMax, avg: psiSum / n },
    flo: { min: floMin, max: floMax, avg: floSum / n },
  };
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes a Kinesis event record's base64 `data` strictly.
 *
 * `Buffer.from(text, 'base64')` never throws: it silently skips characters outside the alphabet, so a corrupt
 * record would decode to garbage or to nothing and vanish. This returns `undefined` instead, so the caller can
 * dead-letter the record whole.
 *
 * @example
 * decodeBase64Strict('Q09IVVRUQQ==') // <Buffer 43 4f 48 55 54 54 41>
 * decodeBase64Strict('%%%%')         // undefined
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64_RE.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** Dead letter for a record whose `data` is not valid base64. */
export function invalidBase64Letter(
  text: string,
  origin: { shardId?: string; sequenceNumber?: string; partitionKey?: string },
  now: Date,
): DeadLetter {
  return {
    raw: text.slice(0, DEAD_LETTER_RAW_LIMIT),
    rawLength: text.length,
    code: INGEST_ERROR_CODES.encoding,
    reason: `record data is not valid base64 (${text.length} characters)`,
    ...origin,
    rejectedAt: now.toISOString(),
  };
}
