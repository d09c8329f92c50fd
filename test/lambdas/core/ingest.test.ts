import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import {
  INGEST_ERROR_CODES,
  decodeBase64Strict,
  decodePayload,
  invalidBase64Letter,
  ingestBatch,
  ingestRecord,
  invalidUtf8Offset,
  summariseBatch,
  type IngestContext,
  type IngestInput,
} from '../../../lambdas/core/ingest';
import { aggregate } from '../../../lambdas/core/kpl';
import { compileRules } from '../../../lambdas/core/rules';
import { RecordDecodeError } from '../../../lambdas/core/errors';
import { DEFAULT_ALERT_RULES } from '../../../lambdas/config';
import { DEAD_LETTER_RAW_LIMIT, type EvaluatedReading } from '../../../lambdas/core/types';
import { propertyRuns } from '../../helpers/property-runs';

const NOW = new Date('2014-03-11T00:00:05.000Z');
const ctx = (overrides: Partial<IngestContext> = {}): IngestContext => ({
  parse: { utcOffsetMinutes: 0 },
  rules: compileRules(DEFAULT_ALERT_RULES),
  now: NOW,
  ...overrides,
});

/** A Kinesis record as the consumer hands it over, with fixed coordinates. */
function kinesisRecord(data: Buffer | string, partitionKey = 'COHUTTA'): IngestInput {
  return {
    data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
    shardId: 'shardId-000000000001',
    sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
    partitionKey,
  };
}

/** A KPL aggregate whose user records hold the given texts. */
function kplRecord(texts: string[]): IngestInput {
  return kinesisRecord(aggregate(texts.map((t, i) => ({ partitionKey: `P${i}`, data: Buffer.from(t) }))), 'agg-key');
}

const GOOD = 'COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94';
const FAILED = 'ETOWAH,3/10/14,1:02,0,0,0,1.50,0,1.90';

describe('ingestRecord', () => {
  it('turns a plain single-line record into one evaluated reading', () => {
    const r = ingestRecord(kinesisRecord(GOOD), ctx());
    expect(r.deadLetters).toEqual([]);
    expect(r.readings).toEqual([
      {
        pump: 'COHUTTA',
        day: '2014-03-10',
        time: '01:01:00',
        ts: '2014-03-10T01:01:00Z',
        values: { hz: 10.27, disp: 1.73, flo: 881, sedPPM: 1.56, psi: 85, chlPPM: 1.94 },
        alerts: [],
      },
    ]);
    expect(r.lines).toBe(1);
    expect(r.skipped).toBe(0);
  });

  it('attaches the names of triggered alert rules', () => {
    const r = ingestRecord(kinesisRecord(`${GOOD}\n${FAILED}\n`), ctx());
    expect(r.readings.map((x) => [x.pump, x.alerts])).toEqual([
      ['COHUTTA', []],
      ['ETOWAH', ['low-psi']],
    ]);
  });

  it('splits multi-line records on LF and CRLF alike, without a phantom last line', () => {
    const lf = ingestRecord(kinesisRecord(`${GOOD}\n${FAILED}\n`), ctx());
    const crlf = ingestRecord(kinesisRecord(`${GOOD}\r\n${FAILED}\r\n`), ctx());
    expect(lf.lines).toBe(2);
    expect(crlf.lines).toBe(2);
    expect(crlf.readings).toEqual(lf.readings);
    expect(crlf.deadLetters).toEqual([]);
  });

  it('applies the sensor clock offset', () => {
    const r = ingestRecord(kinesisRecord(GOOD), ctx({ parse: { utcOffsetMinutes: 120 } }));
    expect(r.readings[0]!.ts).toBe('2014-03-09T23:01:00Z');
  });

  it('ignores a byte-order mark at the start of a record', () => {
    const r = ingestRecord(kinesisRecord(`\uFEFF${GOOD}\n`), ctx());
    expect(r.readings).toHaveLength(1);
    expect(r.deadLetters).toEqual([]);
  });

  it('keeps the byte-order mark out of the raw text of a dead letter on the first line', () => {
    const r = ingestRecord(kinesisRecord('\uFEFFXBAD\n'), ctx());
    expect(r.deadLetters.map((d) => d.raw)).toEqual(['XBAD']);
  });

  it('stores good lines, dead-letters bad ones and skips blank and header lines: stored + dead + skipped = lines', () => {
    const text = [
      'pump,date,time,hz,disp,flo,sedPPM,psi,chlPPM', // 1 header → skipped
      GOOD, // 2
      'COHUTTA,2/30/14,1:03,10.27,1.73,881,1.56,85,1.94', // 3 impossible date
      '', // 4 blank → skipped
      FAILED, // 5
      'COHUTTA,3/10/14,1:05,10.27,1.73', // 6 field count
      'COHUTTA,3/10/14,1:06,abc,1.73,881,1.56,85,1.94', // 7 number
    ].join('\n');
    const r = ingestRecord(kinesisRecord(text), ctx());
    expect(r.lines).toBe(7);
    expect(r.readings).toHaveLength(2);
    expect(r.deadLetters).toHaveLength(3);
    expect(r.skipped).toBe(2);
    expect(r.readings.length + r.deadLetters.length + r.skipped).toBe(r.lines);
    expect(r.deadLetters.map((d) => [d.lineInRecord, d.code])).toEqual([
      [3, 'date'],
      [6, 'field-count'],
      [7, 'number'],
    ]);
    expect(r.deadLetters[0]).toEqual({
      raw: 'COHUTTA,2/30/14,1:03,10.27,1.73,881,1.56,85,1.94',
      rawLength: 48,
      reason: 'impossible date 2/30/14',
      code: 'date',
      lineInRecord: 3,
      shardId: 'shardId-000000000001',
      sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
      partitionKey: 'COHUTTA',
      rejectedAt: '2014-03-11T00:00:05.000Z',
    });
  });

  it('truncates the raw text of a huge bad line but keeps its full length', () => {
    const huge = 'X'.repeat(10_000);
    const r = ingestRecord(kinesisRecord(`${GOOD}\n${huge}\n`), ctx());
    expect(r.readings).toHaveLength(1);
    expect(r.deadLetters).toHaveLength(1);
    expect(r.deadLetters[0]!.raw).toBe('X'.repeat(DEAD_LETTER_RAW_LIMIT));
    expect(r.deadLetters[0]!.rawLength).toBe(10_000);
    expect(r.deadLetters[0]!.code).toBe('too-long');
  });

  it('reads every line of every user record of a KPL aggregate, numbering lines across user records', () => {
    const r = ingestRecord(
      kplRecord([`${GOOD}\n${FAILED}\n`, 'COHUTTA,3/10/14,1:03,10.27,1.73,881,1.56,85,1.94\r\nbroken\n', FAILED.replace('1:02', '1:04')]),
      ctx(),
    );
    expect(r.lines).toBe(5);
    expect(r.readings.map((x) => x.time)).toEqual(['01:01:00', '01:02:00', '01:03:00', '01:04:00']);
    expect(r.deadLetters).toHaveLength(1);
    expect(r.deadLetters[0]).toMatchObject({ raw: 'broken', lineInRecord: 4, code: 'field-count', partitionKey: 'agg-key' });
  });

  it('turns a corrupt aggregate into one dead letter for the whole record', () => {
    const data = kplRecord([`${GOOD}\n`, `${FAILED}\n`]).data;
    data[data.length - 1] ^= 0xff; // break the MD5 trailer
    const r = ingestRecord(kinesisRecord(data, 'agg-key'), ctx());
    expect(r.readings).toEqual([]);
    expect(r.lines).toBe(0);
    expect(r.deadLetters).toHaveLength(1);
    const dead = r.deadLetters[0]!;
    expect(dead.code).toBe(INGEST_ERROR_CODES.corruptAggregate);
    expect(dead.reason).toMatch(/^corrupt KPL aggregate: MD5 mismatch .* \(record of \d+ bytes; raw is base64\)$/);
    expect(Buffer.from(dead.raw, 'base64').equals(data)).toBe(true);
    expect(dead.rawLength).toBe(dead.raw.length);
    expect(dead.lineInRecord).toBeUndefined();
    expect(dead).toMatchObject({ shardId: 'shardId-000000000001', partitionKey: 'agg-key', rejectedAt: NOW.toISOString() });
  });

  it('keeps at most DEAD_LETTER_RAW_LIMIT base64 characters of a large corrupt aggregate', () => {
    const data = aggregate([{ partitionKey: 'P', data: Buffer.alloc(50_000, 0x41) }]);
    data[100] ^= 1;
    const dead = ingestRecord(kinesisRecord(data), ctx()).deadLetters[0]!;
    expect(dead.raw.length).toBe(DEAD_LETTER_RAW_LIMIT);
    expect(Buffer.from(dead.raw, 'base64').equals(data.subarray(0, (DEAD_LETTER_RAW_LIMIT / 4) * 3))).toBe(true);
    expect(dead.rawLength).toBe(Math.ceil(data.length / 3) * 4);
  });

  it('dead-letters only the line with invalid UTF-8, with its line number and byte offset', () => {
    const data = Buffer.concat([
      Buffer.from(`${GOOD}\r\n`),
      Buffer.from('BAD'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(`,x\n${FAILED}\n`),
    ]);
    const r = ingestRecord(kinesisRecord(data), ctx());
    expect(r.readings.map((x) => x.pump)).toEqual(['COHUTTA', 'ETOWAH']);
    expect(r.deadLetters).toHaveLength(1);
    expect(r.deadLetters[0]).toMatchObject({
      code: INGEST_ERROR_CODES.encoding,
      lineInRecord: 2,
      raw: 'BAD\uFFFD(,x',
      reason: 'line is not valid UTF-8: byte 3 is 0xc3 (invalid sequences shown as U+FFFD)',
    });
    expect(r.lines).toBe(3);
  });

  describe('a record holding invalid UTF-8 is still split like any other record', () => {
    const bad = [0xff];
    const run = (...parts: (string | number[])[]): ReturnType<typeof ingestRecord> =>
      ingestRecord(kinesisRecord(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))), ctx());
    const summary = (r: ReturnType<typeof ingestRecord>): unknown => ({
      readings: r.readings.map((x) => x.pump),
      dead: r.deadLetters.map((d) => [d.lineInRecord, d.code, d.raw]),
      lines: r.lines,
      skipped: r.skipped,
    });

    it('drops a leading byte-order mark, and only a complete one', () => {
      expect(summary(run([0xef, 0xbb, 0xbf], 'XBAD\n', bad))).toEqual({
        readings: [], dead: [[1, 'field-count', 'XBAD'], [2, 'encoding', '\uFFFD']], lines: 2, skipped: 0,
      });
      expect(summary(run([0x41, 0xbb, 0xbf], `\n${GOOD}`))).toMatchObject({ readings: ['COHUTTA'], dead: [[1, 'encoding', 'A\uFFFD\uFFFD']], lines: 2 });
      expect(summary(run([0xef, 0x41, 0xbf], `\n${GOOD}`))).toMatchObject({ readings: ['COHUTTA'], dead: [[1, 'encoding', '\uFFFDA\uFFFD']], lines: 2 });
      expect(summary(run([0xef, 0xbb, 0x41], `\n${GOOD}`))).toMatchObject({ readings: ['COHUTTA'], dead: [[1, 'encoding', '\uFFFDA']], lines: 2 });
    });

    it('keeps the first bytes of a record without a byte-order mark', () => {
      expect(summary(run('XBAD\n', bad))).toMatchObject({ dead: [[1, 'field-count', 'XBAD'], [2, 'encoding', '\uFFFD']], lines: 2 });
    });

    it('reads every line after a blank first line', () => {
      expect(summary(run(`\n${GOOD}\n`, bad))).toEqual({ readings: ['COHUTTA'], dead: [[3, 'encoding', '\uFFFD']], lines: 3, skipped: 1 });
    });

    it('removes the CR of CRLF line ends and nothing else', () => {
      expect(summary(run('XBAD\r\n', bad, '\r\nYBAD'))).toEqual({
        readings: [], dead: [[1, 'field-count', 'XBAD'], [2, 'encoding', '\uFFFD'], [3, 'field-count', 'YBAD']], lines: 3, skipped: 0,
      });
    });
  });

  it('does not split a surrogate pair when truncating the raw text of a dead letter', () => {
    const raw = (c: string): string => {
      const r = ingestRecord(kinesisRecord(`${'x'.repeat(DEAD_LETTER_RAW_LIMIT - 1)}${c}tail\n`), ctx());
      expect(r.deadLetters).toHaveLength(1);
      return r.deadLetters[0]!.raw;
    };
    const head = 'x'.repeat(DEAD_LETTER_RAW_LIMIT - 1);
    expect(raw('\u{10000}')).toBe(head); // high surrogate 0xd800 at the limit: the pair is dropped whole
    expect(raw('\u{10FFFF}')).toBe(head); // high surrogate 0xdbff
    expect(raw('\uFF21')).toBe(`${head}\uFF21`); // a BMP character above the surrogates is kept
    expect(raw('\u00e9')).toBe(`${head}\u00e9`);
    // A low surrogate at the limit ends a complete pair, which is kept.
    const r = ingestRecord(kinesisRecord(`${'x'.repeat(DEAD_LETTER_RAW_LIMIT - 2)}\u{1F600}tail\n`), ctx());
    expect(r.deadLetters[0]!.raw).toBe(`${'x'.repeat(DEAD_LETTER_RAW_LIMIT - 2)}\u{1F600}`);
  });

  it('turns a non-Error thrown by the rules (even undefined) into an internal dead letter', () => {
    const r = ingestRecord(
      kinesisRecord(GOOD),
      ctx({
        rules: () => {
          const nothing: unknown = undefined;
          throw nothing;
        },
      }),
    );
    expect(r.deadLetters).toMatchObject([{ code: 'internal', lineInRecord: 1, reason: 'unexpected error processing the line: undefined' }]);
  });

  it('checks UTF-8 per user record inside an aggregate', () => {
    const agg = aggregate([
      { partitionKey: 'A', data: Buffer.from(`${GOOD}\n`) },
      { partitionKey: 'B', data: Buffer.from([0x41, 0xe2, 0x82, 0x0a]) },
      { partitionKey: 'C', data: Buffer.from(FAILED) },
    ]);
    const r = ingestRecord(kinesisRecord(agg), ctx());
    expect(r.readings).toHaveLength(2);
    expect(r.deadLetters.map((d) => [d.code, d.lineInRecord])).toEqual([['encoding', 2]]);
  });

  it('handles a payload that was not valid base64: Buffer.from never throws, the bytes are dead-lettered', () => {
    // Lambda delivers base64; Buffer.from skips characters outside the alphabet instead of throwing, so a mangled
    // payload reaches ingestRecord as arbitrary bytes.
    const data = Buffer.from('!!! this is *not* base64 ###', 'base64');
    const r = ingestRecord(kinesisRecord(data), ctx());
    expect(r.readings).toEqual([]);
    expect(r.deadLetters.length).toBeGreaterThan(0);
    expect(r.deadLetters.length + r.skipped).toBe(r.lines);
  });

  it('turns an exception from the rules into an internal dead letter instead of throwing', () => {
    const r = ingestRecord(
      kinesisRecord(`${GOOD}\n${FAILED}`),
      ctx({
        rules: (v) => {
          if (v.psi === 0) throw new Error('boom');
          return [];
        },
      }),
    );
    expect(r.readings).toHaveLength(1);
    expect(r.deadLetters).toHaveLength(1);
    expect(r.deadLetters[0]).toMatchObject({ code: 'internal', lineInRecord: 2, reason: 'unexpected error processing the line: boom' });
  });

  it('never throws and accounts for every line, whatever the bytes (property)', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.array(fc.constantFrom(GOOD, FAILED, '', 'x,y', 'pump,date', '\r', '\xff'), { maxLength: 10 }).map((ls) => Buffer.from(ls.join('\n'))),
      fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.concat([aggregate([{ partitionKey: 'k', data: Buffer.from(GOOD) }]).subarray(0, 30), a])),
    );
    fc.assert(
      fc.property(bytes, (a) => {
        const r = ingestRecord(kinesisRecord(Buffer.from(a)), ctx());
        const lineLetters = r.deadLetters.filter((d) => d.code !== INGEST_ERROR_CODES.corruptAggregate).length;
        expect(r.readings.length + lineLetters + r.skipped).toBe(r.lines);
      }),
      { numRuns: propertyRuns(300), seed: 7 },
    );
  });
});

describe('ingestBatch', () => {
  it('concatenates the results of several records in order', () => {
    const r = ingestBatch([kinesisRecord(GOOD), kplRecord([`${FAILED}\nbad\n`]), kinesisRecord('\n')], ctx());
    expect(r.readings.map((x) => x.pump)).toEqual(['COHUTTA', 'ETOWAH']);
    expect(r.deadLetters.map((d) => d.raw)).toEqual(['bad']);
    expect(r.lines).toBe(4);
    expect(r.skipped).toBe(1);
  });
});

describe('decodePayload', () => {
  it('splits plain records into lines, keeping blank lines so indexes match line numbers', () => {
    expect(decodePayload(Buffer.from('a\r\nb\n\nc\n'))).toEqual(['a', 'b', '', 'c']);
  });

  it('deaggregates KPL records and splits each user record', () => {
    expect(decodePayload(kplRecord(['a\nb\n', 'c']).data)).toEqual(['a', 'b', 'c']);
  });

  it('throws RecordDecodeError for a corrupt aggregate and for invalid UTF-8', () => {
    const data = kplRecord(['a']).data;
    data[5] ^= 1;
    expect(() => decodePayload(data)).toThrow(RecordDecodeError);
    expect(() => decodePayload(Buffer.from([0x61, 0x0a, 0x62, 0xff]))).toThrow('line 2 is not valid UTF-8 (byte 1)');
  });
});

describe('invalidUtf8Offset', () => {
  it.each([
    ['valid ASCII and multi-byte text', [...Buffer.from('aé€😀')], -1],
    ['a lone continuation byte', [0x61, 0x80], 1],
    ['an overlong encoding', [0xc0, 0x80], 0],
    ['an overlong three-byte encoding', [0xe0, 0x80, 0x80], 0],
    ['a UTF-16 surrogate', [0x61, 0x62, 0xed, 0xa0, 0x80], 2],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a truncated sequence', [0x61, 0xe2, 0x82], 1],
    ['a sequence interrupted by ASCII', [0xe2, 0x41, 0x82], 0],
  ])('finds %s', (_, bytes, offset) => {
    expect(invalidUtf8Offset(Uint8Array.from(bytes))).toBe(offset);
  });

  it.each([
    ['C2 80', -1], ['DF BF', -1], ['C1 BF', 0], ['E0 A0 80', -1], ['E0 9F BF', 0], ['E1 80 80', -1], ['E1 A0 80', -1],
    ['EC BF BF', -1], ['ED 9F BF', -1], ['ED A0 80', 0], ['EF BF BF', -1], ['E1 80 41', 0], ['E1 80 C0', 0], ['E1 80', 0],
    ['F0 90 80 80', -1], ['F0 8F BF BF', 0], ['F1 80 80 80', -1], ['F1 90 80 80', -1], ['F3 BF BF BF', -1],
    ['F4 80 80 80', -1], ['F4 8F BF BF', -1], ['F4 90 80 80', 0], ['F5 80 80 80', 0], ['FF', 0], ['80', 0], ['80 80 80 80', 0], ['C1 BF BF BF', 0], ['41 F0 90 80 41', 1],
  ])('follows the well-formed sequences table at its edges: %s -> %d', (hex, offset) => {
    const bytes = Buffer.from(hex.replace(/ /g, ''), 'hex');
    expect(invalidUtf8Offset(bytes)).toBe(offset);
    expect(isUtf8(bytes)).toBe(offset === -1);
  });

  it('agrees with node:buffer isUtf8 on arbitrary bytes (property)', () => {
    // Random bytes, and bytes drawn from the boundaries of the UTF-8 table so valid sequences occur too.
    const edges = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.array(fc.constantFrom(...edges), { maxLength: 8 }).map((a) => Uint8Array.from(a)));
    fc.assert(
      fc.property(bytes, (a) => {
        expect(invalidUtf8Offset(a) === -1).toBe(isUtf8(a));
      }),
      { numRuns: propertyRuns(2000), seed: 11 },
    );
  });
});

describe('summariseBatch', () => {
  const reading = (pump: string, psi: number, flo: number, alerts: string[] = []): EvaluatedReading => ({
    pump,
    day: '2014-03-10',
    time: '01:01:00',
    ts: '2014-03-10T01:01:00Z',
    values: { hz: 1, disp: 1, flo, sedPPM: 1, psi, chlPPM: 1 },
    alerts,
  });

  it('reports counts and min/max/avg of psi and flo', () => {
    const s = summariseBatch([reading('A', 80, 1000), reading('B', 0, 0, ['low-psi']), reading('A', 40, 500)]);
    expect(s).toEqual({
      readings: 3,
      alerting: 1,
      pumps: 2,
      psi: { min: 0, max: 80, avg: 40 },
      flo: { min: 0, max: 1000, avg: 500 },
    });
  });

  it('has no psi or flo figures for an empty batch', () => {
    expect(summariseBatch([])).toEqual({ readings: 0, alerting: 0, pumps: 0 });
  });
});

describe('decodeBase64Strict', () => {
  it('decodes padded base64', () => {
    expect(decodeBase64Strict('Q09IVVRUQQ==')).toEqual(Buffer.from('COHUTTA'));
    expect(decodeBase64Strict('QUJD')).toEqual(Buffer.from('ABC'));
    expect(decodeBase64Strict('')).toEqual(Buffer.alloc(0));
  });

  it('refuses text Buffer.from would silently repair', () => {
    expect(decodeBase64Strict('%%%%')).toBeUndefined(); // right length, wrong alphabet
    expect(decodeBase64Strict('QUJ')).toBeUndefined(); // right alphabet, wrong length
    expect(decodeBase64Strict('Q09IVVRUQQ')).toBeUndefined(); // missing padding
    expect(decodeBase64Strict('QU JD')).toBeUndefined();
  });
});

describe('invalidBase64Letter', () => {
  it('dead-letters the text whole, truncated to the raw limit, with its length and coordinates', () => {
    const text = '%'.repeat(DEAD_LETTER_RAW_LIMIT + 3);
    expect(invalidBase64Letter(text, { shardId: 's', sequenceNumber: '1', partitionKey: 'k' }, NOW)).toEqual({
      raw: '%'.repeat(DEAD_LETTER_RAW_LIMIT),
      rawLength: DEAD_LETTER_RAW_LIMIT + 3,
      code: INGEST_ERROR_CODES.encoding,
      reason: `record data is not valid base64 (${DEAD_LETTER_RAW_LIMIT + 3} characters)`,
      shardId: 's',
      sequenceNumber: '1',
      partitionKey: 'k',
      rejectedAt: NOW.toISOString(),
    });
  });
});
