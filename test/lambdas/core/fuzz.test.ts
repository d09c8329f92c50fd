/**
 * Bad input never costs a reading and never crashes the consumer.
 *
 * Property-based (fast-check, fixed seeds so failures reproduce) over more than 100,000 generated and mutated lines:
 * valid seed-format lines in every accepted shape, the same lines broken in one known way (field count, NaN,
 * Infinity, huge numbers, unicode, control bytes, impossible dates like 2/30/14, times like 25:61, over-long lines),
 * blank and header lines, and arbitrary strings and bytes. Expectations for generated and mutated lines are
 * computed here from how they were built, not by the project's parser. Every line must end up as exactly one of:
 * a stored reading, a dead letter with a code and a reason, or a skipped blank/header line.
 *
 * The same generator then drives the real consumer handler against dynalite, together with malformed Kinesis
 * records (invalid base64, a corrupt KPL aggregate, a wrong MD5 checksum, a 10 MB line): the handler never throws,
 * never fails the batch for bad data, stores every good line and dead-letters everything else with a reason.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { KinesisStreamEvent } from 'aws-lambda';
import { DEFAULT_ALERT_RULES, KEYS, loadConfig, type WellwatchConfig } from '../../../lambdas/config';
import { ingestRecord, type IngestResult } from '../../../lambdas/core/ingest';
import { aggregate } from '../../../lambdas/core/kpl';
import { compileRules } from '../../../lambdas/core/rules';
import { DEAD_LETTER_RAW_LIMIT, type DeadLetter, type EvaluatedReading } from '../../../lambdas/core/types';
import { createConsumerHandler } from '../../../lambdas/consumer/handler';
import { dynamoClient } from '../../../lambdas/store/clients';
import { ensureTables } from '../../../lambdas/store/tables';
import { startEmulators, type Emulators } from '../../../local/emulators';
import { kinesisEventRecord } from '../../../local/event-source-runner';
import { scanAll } from '../../helpers/table-snapshot';

/** `npm run test:reliability` fuzzes four times as many lines. */
const SCALE = process.env.WELLWATCH_RELIABILITY_FULL === '1' ? 4 : 1;

// Per-test limit: the slowest test took 29 s on a 2-core machine at load 19; the full-size run (SCALE 4) scales it.
jest.setTimeout(90_000 * SCALE);

// ------------------------------------------------------------------------------------------------ the line model

/** What a generated line must become, known from how it was built. */
type Expect =
  | { readonly kind: 'reading'; readonly pump: string; readonly ts: string; readonly values: readonly number[] }
  | { readonly kind: 'error'; readonly code: string }
  | { readonly kind: 'skip' }
  | { readonly kind: 'any' };

interface Case {
  readonly line: string;
  readonly expect: Expect;
  /** Generator family, for the tally. */
  readonly family: string;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
/** Days in a month, via the platform calendar (not the parser's table). */
const monthDays = (y: number, m: number): number => new Date(Date.UTC(y, m, 0)).getUTCDate();

interface ValidParts {
  readonly fields: string[];
  readonly pump: string;
  readonly ts: string;
  readonly values: number[];
}

const pumpArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);

const dateArb = fc
  .record({ format: fc.integer({ min: 0, max: 3 }), y: fc.integer({ min: 1970, max: 9999 }), yy: fc.integer({ min: 0, max: 99 }), m: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 31 }) })
  .map(({ format, y, yy, m, d }) => {
    const year = format <= 1 ? 2000 + yy : y;
    const day = Math.min(d, monthDays(year, m));
    const text =
      format === 0 ? `${m}/${day}/${pad2(yy)}` : format === 1 ? `${pad2(m)}/${pad2(day)}/${pad2(yy)}` : format === 2 ? `${m}/${day}/${year}` : `${year}-${pad2(m)}-${pad2(day)}`;
    return { text, iso: `${year}-${pad2(m)}-${pad2(day)}` };
  });

const timeArb = fc
  .record({ format: fc.integer({ min: 0, max: 3 }), h: fc.integer({ min: 0, max: 23 }), mi: fc.integer({ min: 0, max: 59 }), s: fc.integer({ min: 0, max: 59 }) })
  .map(({ format, h, mi, s }) => {
    const withSeconds = format >= 2;
    const hh = format % 2 === 0 ? String(h) : pad2(h);
    return { text: `${hh}:${pad2(mi)}${withSeconds ? `:${pad2(s)}` : ''}`, iso: `${pad2(h)}:${pad2(mi)}:${pad2(withSeconds ? s : 0)}` };
  });

/** A plain decimal within the accepted magnitude: 0, or 1e-6 … 999,999,999.999999. */
const numberArb = fc
  .tuple(
    fc.oneof(
      fc.integer({ min: 0, max: 999_999_999 }).map(String),
      fc.tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 1, max: 6 })).map(([i, f, k]) => `${i}.${String(f).padStart(6, '0').slice(0, k)}`),
      fc.constantFrom('0', '0.0', '10.27', '881', '1.94', '4.99', '5', '0.5'),
    ),
    fc.boolean(),
  )
  .map(([text, negative]) => (negative ? `-${text}` : text));

const validArb: fc.Arbitrary<ValidParts> = fc
  .record({ pump: pumpArb, date: dateArb, time: timeArb, numbers: fc.array(numberArb, { minLength: 6, maxLength: 6 }), spaced: fc.boolean() })
  .map(({ pump, date, time, numbers, spaced }) => {
    const raw = [pump, date.text, time.text, ...numbers];
    return {
      fields: spaced ? raw.map((f, i) => (i % 2 === 0 ? ` ${f}` : `${f}  `)) : raw,
      pump,
      ts: `${date.iso}T${time.iso}Z`,
      values: numbers.map((n) => Number(n) + 0),
    };
  });

const BAD_NUMBERS = ['NaN', 'nan', 'Infinity', '-Infinity', 'inf', 'abc', '1.2.3', '--', '0x1A', '١٢', '½', '1e', 'e5', '.', '+', '1_000', '1 000', '', '١'];
const OUT_OF_RANGE = ['1e10', '-1e10', '1000000000.5', '12345678901', '1e309', '-1e400', '1e-10', '0.0000000001', '1e-400', '9'.repeat(400)];
const BAD_DATES = ['2/30/14', '2/29/15', '13/1/14', '0/12/14', '4/31/14', '1/0/14', '2014-02-30', '2015-02-29', '2014-13-01', '3-10-14', '2014/03/10', '3/10/141', '', 'yesterday', '3/10', '12/31/1969', '１/１/14'];
const BAD_TIMES = ['25:61', '24:00', '7:60', '23:59:60', '12:5x', '1:1', '-1:00', 'noon', '123:00', '1:01:1', '', '12:00:00:00', '１:00'];
const BAD_PUMPS = ['', ' ', 'bad pump', 'pump.1', 'Pümpe', '泵', 'A'.repeat(65), 'x/y', '😀'];
const CONTROL_CHARS = [...Array.from({ length: 32 }, (_, i) => i).filter((c) => c !== 10 && c !== 13), ...Array.from({ length: 33 }, (_, i) => 127 + i)];

const join = (fields: readonly string[]): string => fields.join(',');
const NUMBER_FIELD = fc.integer({ min: 3, max: 8 });

/** A valid line broken in exactly one known way, with the code the break must produce. */
const mutatedArb: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(validArb, fc.integer({ min: 0, max: 8 })).map(([v, i]) => ({ line: join(v.fields.filter((_, k) => k !== i)), expect: { kind: 'error', code: 'field-count' }, family: 'field-count' }) as Case),
  fc.tuple(validArb, fc.integer({ min: 1, max: 5 })).map(([v, n]) => ({ line: join([...v.fields, ...Array.from({ length: n }, () => '1')]), expect: { kind: 'error', code: 'field-count' }, family: 'field-count' }) as Case),
  fc.tuple(validArb, NUMBER_FIELD, fc.constantFrom(...BAD_NUMBERS)).map(([v, i, bad]) => {
    const f = v.fields.slice();
    f[i] = bad;
    return { line: join(f), expect: { kind: 'error', code: 'number' }, family: 'nan-infinity-text' } as Case;
  }),
  fc.tuple(validArb, NUMBER_FIELD, fc.constantFrom(...OUT_OF_RANGE)).map(([v, i, bad]) => {
    const f = v.fields.slice();
    f[i] = bad;
    return { line: join(f), expect: { kind: 'error', code: 'range' }, family: 'huge-tiny-number' } as Case;
  }),
  fc.tuple(validArb, fc.constantFrom(...BAD_DATES)).map(([v, bad]) => {
    const f = v.fields.slice();
    f[1] = bad;
    return { line: join(f), expect: { kind: 'error', code: 'date' }, family: 'bad-date' } as Case;
  }),
  fc.tuple(validArb, fc.constantFrom(...BAD_TIMES)).map(([v, bad]) => {
    const f = v.fields.slice();
    f[2] = bad;
    return { line: join(f), expect: { kind: 'error', code: 'time' }, family: 'bad-time' } as Case;
  }),
  fc.tuple(validArb, fc.constantFrom(...BAD_PUMPS)).map(([v, bad]) => {
    const f = v.fields.slice();
    f[0] = bad;
    return { line: join(f), expect: { kind: 'error', code: 'pump-id' }, family: 'bad-pump-unicode' } as Case;
  }),
  fc.tuple(validArb, fc.nat(), fc.constantFrom(...CONTROL_CHARS)).map(([v, at, c]) => {
    const line = join(v.fields);
    const i = at % (line.length + 1);
    return { line: line.slice(0, i) + String.fromCharCode(c) + line.slice(i), expect: { kind: 'error', code: 'control-char' }, family: 'control-byte' } as Case;
  }),
  fc.tuple(validArb, NUMBER_FIELD, fc.integer({ min: 1100, max: 20_000 }), fc.constantFrom(' ', 'é', '€', '𝄞')).map(([v, i, n, ch]) => {
    const f = v.fields.slice();
    f[i] = `${f[i]}${ch.repeat(Math.ceil(n / Buffer.byteLength(ch)))}`;
    return { line: join(f), expect: { kind: 'error', code: 'too-long' }, family: 'too-long' } as Case;
  }),
);

const skipArb: fc.Arbitrary<Case> = fc.oneof(
  fc.constantFrom('', ' ', '\t', '   \t  ', '\uFEFF', '\uFEFF  ').map((line) => ({ line, expect: { kind: 'skip' }, family: 'blank' }) as Case),
  fc
    .constantFrom('pump,date,time,hz,disp,flo,sedPPM,psi,chlPPM', 'PUMP,Date,Time', 'Pump', ' pump , date', 'pump')
    .map((line) => ({ line, expect: { kind: 'skip' }, family: 'header' }) as Case),
);

/** Anything at all: arbitrary UTF-16 (lone surrogates included), graphemes, comma soup. */
const randomArb: fc.Arbitrary<Case> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary-ascii', maxLength: 120 }),
  fc.array(fc.string({ maxLength: 12 }), { maxLength: 14 }).map((f) => f.join(',')),
  fc.array(fc.oneof(fc.double().map(String), fc.integer().map(String), fc.constantFrom('NaN', 'Infinity', '-0', '1e999')), { minLength: 9, maxLength: 9 }).map((f) => f.join(',')),
).map((line) => ({ line, expect: { kind: 'any' }, family: 'random' }) as Case);

const caseArb: fc.Arbitrary<Case> = fc.oneof(
  { arbitrary: validArb.map((v) => ({ line: join(v.fields), expect: { kind: 'reading', pump: v.pump, ts: v.ts, values: v.values }, family: 'valid' }) as Case), weight: 30 },
  { arbitrary: mutatedArb, weight: 45 },
  { arbitrary: skipArb, weight: 5 },
  { arbitrary: randomArb, weight: 20 },
);

// ------------------------------------------------------------------------------------------------ helpers

const rules = compileRules(DEFAULT_ALERT_RULES);
const NOW = new Date('2024-06-01T00:00:00Z');
const ctx = { parse: { utcOffsetMinutes: 0 }, rules, now: NOW };
const MEASURE_NAMES = ['hz', 'disp', 'flo', 'sedPPM', 'psi', 'chlPPM'] as const;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const CRLF = Buffer.from('\r\n');

/**
 * The physical lines of a record's bytes, computed independently of the project: strip a leading BOM, split at
 * 0x0A, drop one trailing 0x0D per line, and drop the empty piece after a final line break.
 */
function physicalLines(data: Buffer): Buffer[] {
  const body = data.subarray(0, 3).equals(UTF8_BOM) ? data.subarray(3) : data;
  if (body.length === 0) return [];
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = body.indexOf(0x0a, start);
    const end = nl < 0 ? body.length : nl;
    out.push(body.subarray(start, end > start && body[end - 1] === 0x0d ? end - 1 : end));
    if (nl < 0) break;
    start = nl + 1;
    if (start === body.length) break;
  }
  return out;
}

/**
 * Throws with `message` unless `condition` holds.
 *
 * The properties check millions of facts; jest's `expect` costs ~10 µs per call, which would dominate the run,
 * so the hot loops use this and fast-check reports the failing input.
 */
function ensure(condition: boolean, message: () => string): void {
  if (!condition) throw new Error(message());
}

const show = (v: unknown): string => JSON.stringify(v)?.slice(0, 300) ?? String(v);

/** Checks the accounting of one ingest result against its input lines. */
function checkAccounting(result: IngestResult, lines: readonly Buffer[], input: { sequenceNumber: string }): void {
  ensure(result.lines === lines.length, () => `lines ${result.lines}, expected ${lines.length}`);
  const total = result.readings.length + result.deadLetters.length + result.skipped;
  ensure(total === lines.length, () => `stored ${result.readings.length} + dead ${result.deadLetters.length} + skipped ${result.skipped} != ${lines.length} lines`);
  const seen = new Set<number>();
  for (const dl of result.deadLetters) {
    ensure(typeof dl.reason === 'string' && dl.reason.length > 0 && dl.code.length > 0, () => `dead letter without reason/code: ${show(dl)}`);
    ensure(dl.sequenceNumber === input.sequenceNumber, () => `dead letter of another record: ${show(dl)}`);
    const n = dl.lineInRecord;
    ensure(n !== undefined && Number.isInteger(n) && n >= 1 && n <= lines.length && !seen.has(n), () => `bad or repeated lineInRecord: ${show(dl)}`);
    seen.add(n!);
    ensure(dl.raw.length <= DEAD_LETTER_RAW_LIMIT, () => `raw not truncated: ${dl.raw.length}`);
  }
}

function checkReading(r: EvaluatedReading, e: Extract<Expect, { kind: 'reading' }>): void {
  const values = MEASURE_NAMES.map((m) => r.values[m]);
  ensure(r.pump === e.pump && r.ts === e.ts, () => `reading ${r.pump} ${r.ts}, expected ${e.pump} ${e.ts}`);
  ensure(values.every((v, i) => Object.is(v, e.values[i])), () => `values ${show(values)}, expected ${show(e.values)}`);
  const alerts = e.values[4]! < 5 ? ['low-psi'] : [];
  ensure(r.alerts.length === alerts.length && r.alerts.every((a, i) => a === alerts[i]), () => `alerts ${show(r.alerts)}, expected ${show(alerts)}`);
}

/** Outcome of one line ingested alone: exactly one of reading, dead letter, skip. */
function single(line: Buffer): { kind: 'reading'; reading: EvaluatedReading } | { kind: 'error'; letter: DeadLetter } | { kind: 'skip' } {
  // A line terminator makes an empty line (or a lone BOM) a line of its own, as it is inside a longer record. It is
  // CRLF so that a \r ending the line itself stays part of it, exactly as when the line is cut out of a record.
  const r = ingestRecord({ data: Buffer.concat([line, CRLF]), sequenceNumber: 's' }, ctx);
  ensure(r.readings.length + r.deadLetters.length + r.skipped === 1, () => `one line gave ${show(r)}`);
  if (r.readings.length === 1) return { kind: 'reading', reading: r.readings[0]! };
  if (r.deadLetters.length === 1) return { kind: 'error', letter: r.deadLetters[0]! };
  return { kind: 'skip' };
}

const tally = { lines: 0, readings: 0, deadLetters: 0, skipped: 0, byFamily: {} as Record<string, number>, byCode: {} as Record<string, number> };

afterAll(() => {
  // The figures issue 4 asks for; printed once per run.
  console.log(`fuzz: ${tally.lines} lines through ingestRecord → ${tally.readings} readings, ${tally.deadLetters} dead letters, ${tally.skipped} skipped; families ${JSON.stringify(tally.byFamily)}; codes ${JSON.stringify(tally.byCode)}`);
});

// ------------------------------------------------------------------------------------------------ ingestRecord

describe('ingestRecord under generated and mutated lines', () => {
  it('accounts for every one of ≥ 100,000 lines as stored, dead-lettered with a reason, or skipped — and never throws', () => {
    fc.assert(
      fc.property(fc.array(caseArb, { minLength: 1, maxLength: 90, size: 'max' }), fc.constantFrom('\n', '\r\n'), fc.boolean(), (cases, eol, trailing) => {
        const data = Buffer.from(cases.map((c) => c.line).join(eol) + (trailing ? eol : ''), 'utf8');
        const lines = physicalLines(data);
        const input = { data, shardId: 'shardId-000000000000', sequenceNumber: '49590000000000000000000000000000000000000000000000000001', partitionKey: 'fuzz' };
        const joined = ingestRecord(input, ctx);
        checkAccounting(joined, lines, input);

        // Each line alone gives exactly one outcome; together they are the record's outcome, line for line.
        const letters = new Map(joined.deadLetters.map((d) => [d.lineInRecord!, d]));
        const readings: EvaluatedReading[] = [];
        let skipped = 0;
        lines.forEach((line, i) => {
          const one = single(line);
          const letter = letters.get(i + 1);
          if (one.kind === 'error') {
            ensure(letter?.code === one.letter.code && letter.reason === one.letter.reason, () => `line ${i + 1}: ${show(letter)} vs alone ${show(one.letter)}`);
          } else {
            ensure(letter === undefined, () => `line ${i + 1} dead-lettered in the record but ${one.kind} alone`);
            if (one.kind === 'reading') readings.push(one.reading);
            else skipped++;
          }
        });
        ensure(joined.skipped === skipped, () => `skipped ${joined.skipped} vs ${skipped}`);
        ensure(joined.readings.length === readings.length, () => `readings ${joined.readings.length} vs ${readings.length}`);
        joined.readings.forEach((r, i) => ensure(show(r) === show(readings[i]), () => `reading ${i}: ${show(r)} vs ${show(readings[i])}`));

        // Lines whose fate is known from how they were built (none of them contains a line break).
        let at = 0;
        for (const c of cases) {
          const pieces = c.line.split('\n').length;
          const e = c.expect;
          if (e.kind !== 'any' && at < lines.length) {
            const one = single(lines[at]!);
            if (e.kind === 'reading') {
              ensure(one.kind === 'reading', () => `expected a reading from ${show(c.line)}, got ${show(one)}`);
              checkReading((one as { reading: EvaluatedReading }).reading, e);
            } else if (e.kind === 'error') {
              ensure(one.kind === 'error' && one.letter.code === e.code, () => `expected ${e.code} for ${show(c.line)}, got ${show(one)}`);
            } else {
              ensure(one.kind === 'skip', () => `expected ${show(c.line)} to be skipped, got ${show(one)}`);
            }
          }
          tally.byFamily[c.family] = (tally.byFamily[c.family] ?? 0) + 1;
          at += pieces;
        }
        tally.lines += lines.length;
        tally.readings += joined.readings.length;
        tally.deadLetters += joined.deadLetters.length;
        tally.skipped += joined.skipped;
        for (const d of joined.deadLetters) tally.byCode[d.code] = (tally.byCode[d.code] ?? 0) + 1;
      }),
      { numRuns: 2_500 * SCALE, seed: 20_140_310, endOnFailure: true },
    );
    expect(tally.lines).toBeGreaterThanOrEqual(100_000 * SCALE);
  });

  it('accounts for arbitrary bytes (invalid UTF-8, NUL, lone CR, stray KPL magic) line by line', () => {
    let lines = 0;
    const lineBytes = fc.oneof(
      fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a).filter((b) => b !== 0x0a)),
      validArb.map((v) => Buffer.from(join(v.fields))),
      fc.tuple(validArb, fc.nat(), fc.constantFrom(0xff, 0xc0, 0x80, 0xed, 0xf5)).map(([v, at, b]) => {
        const buf = Buffer.from(join(v.fields));
        const i = at % (buf.length + 1);
        return Buffer.concat([buf.subarray(0, i), Buffer.from([b]), buf.subarray(i)]);
      }),
    );
    fc.assert(
      fc.property(fc.array(lineBytes, { minLength: 1, maxLength: 40, size: 'max' }), fc.boolean(), (parts, bom) => {
        const data = Buffer.concat([bom ? UTF8_BOM : Buffer.alloc(0), ...parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from('\n'), p]))]);
        const input = { data, sequenceNumber: '7' };
        const result = ingestRecord(input, ctx);
        if (data.subarray(0, 4).equals(Buffer.from([0xf3, 0x89, 0x9a, 0xc2]))) {
          // Starts like a KPL aggregate but is not one: one dead letter for the whole record.
          ensure(result.readings.length === 0 && result.deadLetters.length === 1 && result.deadLetters[0]!.code === 'corrupt-aggregate', () => show(result));
          return;
        }
        const physical = physicalLines(data);
        checkAccounting(result, physical, input);
        // A line with invalid UTF-8 is dead-lettered with code 'encoding'; no other line is.
        for (const d of result.deadLetters) {
          const bytes = physical[d.lineInRecord! - 1]!;
          const invalid = !bytes.equals(Buffer.from(bytes.toString('utf8'), 'utf8'));
          ensure((d.code === 'encoding') === invalid, () => `line ${show(bytes.toString('hex'))}: code ${d.code}`);
        }
        lines += physical.length;
      }),
      { numRuns: 1_000 * SCALE, seed: 42 },
    );
    tally.lines += lines;
    expect(lines).toBeGreaterThan(10_000);
  });

  it('numbers lines across the user records of a KPL aggregate and accounts for every one', () => {
    fc.assert(
      fc.property(fc.array(fc.array(caseArb, { minLength: 1, maxLength: 8, size: 'max' }), { minLength: 1, maxLength: 12, size: 'max' }), (groups) => {
        const userRecords = groups.map((g) => ({ partitionKey: 'P', data: Buffer.from(g.map((c) => c.line).join('\n'), 'utf8') }));
        const expectedLines = userRecords.flatMap((u) => physicalLines(u.data));
        const input = { data: aggregate(userRecords), sequenceNumber: '9' };
        const result = ingestRecord(input, ctx);
        checkAccounting(result, expectedLines, input);
        for (const d of result.deadLetters) ensure(single(expectedLines[d.lineInRecord! - 1]!).kind === 'error', () => show(d));
        tally.lines += expectedLines.length;
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('rejects a 10 MB line as too-long, keeps a truncated copy, and still stores its neighbours', () => {
    const huge = 'COHUTTA,3/10/14,1:01,' + '9'.repeat(10 * 1024 * 1024);
    const data = Buffer.from(`COHUTTA,3/10/14,1:00,10.27,1.73,881,1.56,85,1.94\n${huge}\nCOHUTTA,3/10/14,1:02,10.27,1.73,881,1.56,4,1.94\n`);
    const result = ingestRecord({ data, sequenceNumber: '1' }, ctx);
    expect(result.readings.map((r) => r.ts)).toEqual(['2014-03-10T01:00:00Z', '2014-03-10T01:02:00Z']);
    expect(result.readings[1]!.alerts).toEqual(['low-psi']);
    expect(result.deadLetters).toHaveLength(1);
    const dl = result.deadLetters[0]!;
    expect(dl).toMatchObject({ code: 'too-long', lineInRecord: 2, rawLength: huge.length });
    expect(dl.reason).toMatch(/bytes, limit 1024/);
    expect(dl.raw).toBe(huge.slice(0, DEAD_LETTER_RAW_LIMIT));
    tally.lines += 3;
  });

  it.each([
    ['a wrong MD5 checksum', (agg: Buffer) => Buffer.concat([agg.subarray(0, agg.length - 1), Buffer.from([agg[agg.length - 1]! ^ 0xff])]), /MD5 mismatch/],
    [
      'a truncated protobuf with a recomputed checksum',
      (agg: Buffer) => {
        const proto = agg.subarray(4, agg.length - 16 - 5);
        return Buffer.concat([agg.subarray(0, 4), proto, createHash('md5').update(proto).digest()]);
      },
      /corrupt KPL aggregate/,
    ],
    ['only the magic', () => Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), /shorter than/],
  ])('dead-letters a KPL aggregate with %s whole, with a reason', (_name, corrupt, reason) => {
    const good = aggregate([{ partitionKey: 'COHUTTA', data: Buffer.from('COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94\nCOHUTTA,3/10/14,1:02,10.27,1.73,881,1.56,85,1.94') }]);
    const result = ingestRecord({ data: corrupt(good), shardId: 'shardId-000000000001', sequenceNumber: '5', partitionKey: 'COHUTTA' }, ctx);
    expect(result.readings).toHaveLength(0);
    expect(result.deadLetters).toHaveLength(1);
    expect(result.deadLetters[0]).toMatchObject({ code: 'corrupt-aggregate', shardId: 'shardId-000000000001', sequenceNumber: '5', partitionKey: 'COHUTTA' });
    expect(result.deadLetters[0]!.reason).toMatch(reason);
  });
});

// ------------------------------------------------------------------------------------------------ the real handler

/** A Lambda Kinesis event of raw base64 payloads, one record each, on one shard. */
function kinesisEvent(payloads: readonly string[], options: { shard?: string; firstSequence?: number } = {}): KinesisStreamEvent {
  const shardId = options.shard ?? 'shardId-000000000000';
  const first = options.firstSequence ?? 1;
  return {
    Records: payloads.map((data64, i) =>
      kinesisEventRecord({
        shardId,
        sequenceNumber: String(49_590_000_000_000_000_000n + BigInt(first + i)),
        partitionKey: `pk-${i % 7}`,
        data64,
        arrivalMs: Date.UTC(2024, 5, 1),
        region: 'us-east-1',
        streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/wellwatch-readings',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/wellwatch-consumer-role',
      }),
    ),
  };
}

describe('the consumer handler under fuzzed and malformed records (dynalite)', () => {
  let nextSequence = 1_000_000;
  let emu: Emulators;
  let dir: string;
  let cfg: WellwatchConfig;
  let deadLetterFile: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-fuzz-'));
    deadLetterFile = path.join(dir, 'dead-letters.jsonl');
    emu = await startEmulators({ memory: true });
    cfg = loadConfig(
      { endpoints: { dynamodb: emu.dynamodbEndpoint }, deadLetterUrl: pathToFileURL(deadLetterFile).href, readingsTable: 'fuzz-readings', statsTable: 'fuzz-stats', catalogTable: 'fuzz-catalog', writeBaseDelayMs: 5 },
      {},
    );
    await ensureTables(dynamoClient(cfg), cfg);
  });

  afterAll(async () => {
    await emu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never throws or fails a batch for bad data: good lines stored once, everything else dead-lettered with a reason', async () => {
    const handler = createConsumerHandler(cfg, { clock: () => NOW, metricsSink: () => undefined, log: () => undefined });
    const cases = fc.sample(caseArb, { numRuns: 6_000 * SCALE, seed: 99 });
    // Plain multi-line records and KPL aggregates, 1–60 lines each, in 10 batches.
    const payloads: { data64: string; lines: Buffer[] }[] = [];
    for (let i = 0, r = 0; i < cases.length; r++) {
      const n = 1 + ((r * 37) % 60);
      const group = cases.slice(i, i + n);
      i += n;
      const text = group.map((c) => c.line).join(r % 3 === 0 ? '\r\n' : '\n');
      if (r % 2 === 0) {
        const data = Buffer.from(text, 'utf8');
        payloads.push({ data64: data.toString('base64'), lines: physicalLines(data) });
      } else {
        const users = group.map((c) => ({ partitionKey: 'P', data: Buffer.from(c.line, 'utf8') }));
        payloads.push({ data64: aggregate(users).toString('base64'), lines: users.flatMap((u) => physicalLines(u.data)) });
      }
    }
    // Malformed records, each surrounded by good ones.
    const good = (t: string): { data64: string; lines: Buffer[] } => ({ data64: Buffer.from(t).toString('base64'), lines: [Buffer.from(t)] });
    const agg = aggregate([{ partitionKey: 'ZED', data: Buffer.from('ZED,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94') }]);
    const wrongChecksum = Buffer.from(agg);
    wrongChecksum[wrongChecksum.length - 3] ^= 0x5a;
    const proto = agg.subarray(4, agg.length - 16 - 3);
    const corrupt = Buffer.concat([agg.subarray(0, 4), proto, createHash('md5').update(proto).digest()]);
    const malformed = [
      { name: 'wrong checksum', data64: wrongChecksum.toString('base64') },
      { name: 'corrupt aggregate', data64: corrupt.toString('base64') },
      { name: 'bytes that are not UTF-8', data64: Buffer.from([0x41, 0xff, 0xfe, 0x2c, 0x0a, 0xc3]).toString('base64') },
      { name: '1 MiB line', data64: Buffer.from('X,' + 'x'.repeat(1024 * 1024 - 2)).toString('base64') },
    ];
    const events: KinesisStreamEvent[] = [];
    const expectedLetters = new Map<string, string>(); // sequenceNumber#line → code
    const expectedReadings = new Map<string, EvaluatedReading>();
    let seq = 1;
    const batches = 10;
    const per = Math.ceil(payloads.length / batches);
    const malformedSeqs: string[] = [];
    for (let b = 0; b < batches; b++) {
      const slice = payloads.slice(b * per, (b + 1) * per);
      if (b < malformed.length) slice.splice(Math.floor(slice.length / 2), 0, { data64: malformed[b]!.data64, lines: [] }, good(`ZED,3/11/14,${b}:00,1,1,1,1,1,1`));
      const event = kinesisEvent(
        slice.map((p) => p.data64),
        { firstSequence: seq },
      );
      event.Records.forEach((rec, i) => {
        const p = slice[i]!;
        const input = { data: Buffer.from(p.data64, 'base64'), sequenceNumber: rec.kinesis.sequenceNumber };
        if (p.lines.length === 0) malformedSeqs.push(rec.kinesis.sequenceNumber);
        // Oracle per line: the single-line outcome (checked against independent expectations above).
        const lines = p.lines.length > 0 ? p.lines : [];
        lines.forEach((line, k) => {
          const one = single(line);
          if (one.kind === 'error') expectedLetters.set(`${input.sequenceNumber}#${k + 1}`, one.letter.code);
          if (one.kind === 'reading') expectedReadings.set(`${one.reading.pump}#${one.reading.day}#${one.reading.time}`, one.reading);
        });
      });
      seq += slice.length;
      events.push(event);
    }

    for (const event of events) {
      await expect(handler(event)).resolves.toEqual({ batchItemFailures: [] });
    }

    const letters = fs
      .readFileSync(deadLetterFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as DeadLetter);
    for (const l of letters) {
      expect(l.reason.length).toBeGreaterThan(0);
      expect(l.code.length).toBeGreaterThan(0);
    }
    // Good records' bad lines: exactly the expected ones, once each.
    const lineLetters = letters.filter((l) => !malformedSeqs.includes(l.sequenceNumber!));
    expect(new Map(lineLetters.map((l) => [`${l.sequenceNumber}#${l.lineInRecord}`, l.code]))).toEqual(expectedLetters);
    expect(lineLetters).toHaveLength(expectedLetters.size);
    // Each malformed record: dead-lettered (whole, or every line of it), never stored.
    for (const s of malformedSeqs) expect(letters.filter((l) => l.sequenceNumber === s).length).toBeGreaterThan(0);
    const checksum = letters.find((l) => l.sequenceNumber === malformedSeqs[0]);
    expect(checksum).toMatchObject({ code: 'corrupt-aggregate' });
    expect(checksum!.reason).toMatch(/MD5 mismatch/);
    expect(letters.find((l) => l.sequenceNumber === malformedSeqs[1])).toMatchObject({ code: 'corrupt-aggregate' });
    expect(letters.filter((l) => l.sequenceNumber === malformedSeqs[2]).map((l) => l.code)).toContain('encoding');
    expect(letters.find((l) => l.sequenceNumber === malformedSeqs[3])).toMatchObject({ code: 'too-long' });

    // Stored: every good line once (the last of equal keys wins, as with sequential puts), nothing else.
    const items = await scanAll(dynamoClient(cfg), cfg.readingsTable);
    expect(items).toHaveLength(expectedReadings.size);
    for (const item of items) {
      const pk = item[KEYS.partitionKey]!.S!;
      const sk = item[KEYS.sortKey]!.S!;
      const expected = expectedReadings.get(`${pk}#${sk}`);
      expect(expected).toBeDefined();
      expect(item.ts!.S).toBe(expected!.ts);
      expect(Number(item.d!.M!.psi!.N)).toBe(expected!.values.psi);
    }
    for (let b = 0; b < malformed.length; b++) expect(items.some((i) => i.ts!.S === `2014-03-11T${pad2(b)}:00:00Z` && i.pump!.S === 'ZED')).toBe(true);
    expect(items.some((i) => i.pump!.S === 'ZED' && i.ts!.S === '2014-03-10T01:01:00Z')).toBe(false);
    tally.lines += cases.length;
  });

  it.each([
    ['characters outside the base64 alphabet', '%%%%'],
    ['a base64 string with garbage in the middle', `${Buffer.from('COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94').toString('base64').slice(0, 20)}!!**${Buffer.from('x').toString('base64')}`],
  ])('dead-letters a record whose data is %s, with a reason, and processes the rest of the batch', async (_name, data64) => {
    const file = path.join(dir, `dl-${nextSequence}.jsonl`);
    const local = { ...cfg, deadLetterUrl: pathToFileURL(file).href };
    const handler = createConsumerHandler(local, { clock: () => NOW, metricsSink: () => undefined, log: () => undefined });
    const before = Buffer.from('BASE64,3/12/14,2:00,1,1,1,1,1,1').toString('base64');
    const after = Buffer.from('BASE64,3/12/14,2:01,1,1,1,1,1,1').toString('base64');
    const event = kinesisEvent([before, data64, after], { firstSequence: (nextSequence += 10) });
    await expect(handler(event)).resolves.toEqual({ batchItemFailures: [] });
    const letters = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DeadLetter) : [];
    const mine = letters.filter((l) => l.sequenceNumber === event.Records[1]!.kinesis.sequenceNumber);
    expect(mine.length).toBeGreaterThan(0);
    for (const l of mine) expect(l.reason.length).toBeGreaterThan(0);
    const items = await scanAll(dynamoClient(cfg), cfg.readingsTable);
    const stored = items.filter((i) => i.pump!.S === 'BASE64').map((i) => i.ts!.S);
    expect(stored).toEqual(expect.arrayContaining(['2014-03-12T02:00:00Z', '2014-03-12T02:01:00Z']));
  });
});
