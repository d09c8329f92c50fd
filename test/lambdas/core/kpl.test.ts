import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  AggregateBuilder,
  KPL_MAGIC,
  KPL_OVERHEAD_BYTES,
  aggregate,
  aggregatedSize,
  deaggregate,
  isAggregated,
  varintSize,
  type UserRecord,
} from '../../../lambdas/core/kpl';
import { RecordDecodeError } from '../../../lambdas/core/errors';

/** The parts of aws-kinesis-agg (the AWS reference implementation) the interop tests use. */
interface AwsKinesisAgg {
  deaggregateSync(
    record: { data: string; partitionKey: string; sequenceNumber: string },
    computeChecksums: boolean,
    cb: (err: Error | null | undefined, records?: { partitionKey: string; explicitPartitionKey?: string; data: string }[]) => void,
  ): void;
  aggregate(
    records: { partitionKey: string; data: Buffer; explicitHashKey?: string }[],
    onEncoded: (encoded: { partitionKey: string; data: Buffer }, done: (err?: Error) => void) => void,
    afterAll: () => void,
    onError: (err: Error) => void,
  ): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const agg: AwsKinesisAgg = require('aws-kinesis-agg');

function theirDeaggregate(data: Buffer): { partitionKey: string; explicitPartitionKey?: string; data: Buffer }[] {
  let out: { partitionKey: string; explicitPartitionKey?: string; data: Buffer }[] | undefined;
  agg.deaggregateSync({ data: data.toString('base64'), partitionKey: 'outer', sequenceNumber: '1' }, true, (err, records) => {
    if (err) throw err;
    out = records!.map((r) => ({ partitionKey: r.partitionKey, explicitPartitionKey: r.explicitPartitionKey, data: Buffer.from(r.data, 'base64') }));
  });
  if (!out) throw new Error('aws-kinesis-agg did not call back');
  return out;
}

function theirAggregate(records: { partitionKey: string; data: Buffer; explicitHashKey?: string }[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const encoded: Buffer[] = [];
    agg.aggregate(
      records,
      (e, done) => {
        encoded.push(e.data);
        done();
      },
      () => resolve(encoded),
      reject,
    );
  });
}

/** Wraps hand-written protobuf bytes into an aggregate with a correct checksum. */
function wrap(protobuf: number[] | Buffer): Buffer {
  const body = Buffer.from(protobuf);
  return Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
}

/** Field helpers for hand-written protobuf. */
const ld = (tag: number, bytes: number[]): number[] => [tag, bytes.length, ...bytes];
const str = (s: string): number[] => [...Buffer.from(s)];
const pkTable = (s: string): number[] => ld(0x0a, str(s));
const record = (fields: number[]): number[] => ld(0x1a, fields);

const lines = (n: number, pump = 'COHUTTA'): UserRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    partitionKey: `${pump}${i % 3}`,
    data: Buffer.from(`${pump},3/10/14,1:${String(i % 60).padStart(2, '0')},10.27,1.73,881,1.56,85,1.94\n`),
  }));

function expectDecodeError(buf: Buffer, message: RegExp): void {
  let thrown: unknown;
  try {
    deaggregate(buf);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(RecordDecodeError);
  expect((thrown as Error).message).toMatch(message);
}

describe('isAggregated', () => {
  it('recognises the magic and nothing else', () => {
    expect(isAggregated(aggregate(lines(2)))).toBe(true);
    expect(isAggregated(Buffer.from('COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94'))).toBe(false);
    expect(isAggregated(Buffer.from([0xf3, 0x89, 0x9a]))).toBe(false);
    expect(isAggregated(Buffer.alloc(0))).toBe(false);
    expect(isAggregated(Buffer.from([0xf3, 0x89, 0x9a, 0xc3, 0, 0]))).toBe(false);
  });

  it('requires every one of the four magic bytes', () => {
    expect(isAggregated(Buffer.from([0x00, 0x89, 0x9a, 0xc2, 0]))).toBe(false);
    expect(isAggregated(Buffer.from([0xf3, 0x00, 0x9a, 0xc2, 0]))).toBe(false);
    expect(isAggregated(Buffer.from([0xf3, 0x89, 0x00, 0xc2, 0]))).toBe(false);
    expect(isAggregated(Buffer.from([0x00, 0x00, 0x9a, 0xc2, 0]))).toBe(false);
  });

  it('counts a truncated aggregate as aggregated so deaggregate can say what is wrong', () => {
    expect(isAggregated(KPL_MAGIC)).toBe(true);
    expectDecodeError(Buffer.from(KPL_MAGIC), /4 bytes is shorter than the 20-byte minimum/);
  });
});

describe('aggregate / deaggregate', () => {
  it('round-trips user records with repeated partition keys, empty and binary data', () => {
    const records: UserRecord[] = [
      { partitionKey: 'A', data: Buffer.from('first\n') },
      { partitionKey: 'B', data: Buffer.alloc(0) },
      { partitionKey: 'A', data: Buffer.from([0, 255, 0xf3, 0x89, 0x9a, 0xc2]) },
      { partitionKey: 'pümp-ü', data: Buffer.alloc(20_000, 7) },
    ];
    const decoded = deaggregate(aggregate(records));
    expect(decoded.map((r) => r.partitionKey)).toEqual(['A', 'B', 'A', 'pümp-ü']);
    decoded.forEach((r, i) => expect(Buffer.compare(r.data, records[i]!.data)).toBe(0));
    expect(decoded.every((r) => r.explicitHashKey === undefined)).toBe(true);
  });

  it('stores each partition key once', () => {
    const one = aggregate([{ partitionKey: 'SAME-KEY-0123456789', data: Buffer.from('x') }]);
    const two = aggregate([
      { partitionKey: 'SAME-KEY-0123456789', data: Buffer.from('x') },
      { partitionKey: 'SAME-KEY-0123456789', data: Buffer.from('x') },
    ]);
    // The second record adds only tag+length+body (index, data), not the 19-byte key again.
    expect(two.length - one.length).toBe(1 + 1 + (2 + 3));
  });

  it('round-trips explicit hash keys', () => {
    const records: UserRecord[] = [
      { partitionKey: 'A', data: Buffer.from('1'), explicitHashKey: '170141183460469231731687303715884105728' },
      { partitionKey: 'B', data: Buffer.from('2') },
      { partitionKey: 'C', data: Buffer.from('3'), explicitHashKey: '1' },
    ];
    expect(deaggregate(aggregate(records)).map((r) => r.explicitHashKey)).toEqual([
      '170141183460469231731687303715884105728',
      undefined,
      '1',
    ]);
  });

  it('knows the exact size when an explicit hash key is used twice', () => {
    const records: UserRecord[] = [
      { partitionKey: 'A', data: Buffer.from('1'), explicitHashKey: '42' },
      { partitionKey: 'A', data: Buffer.from('2'), explicitHashKey: '42' },
    ];
    const buf = aggregate(records);
    expect(buf.length).toBe(aggregatedSize(records));
    expect(deaggregate(buf).map((r) => r.explicitHashKey)).toEqual(['42', '42']);
  });

  it('round-trips data whose length is exactly 128 bytes (a two-byte varint 0x80 0x01)', () => {
    const data = Buffer.alloc(128, 0x41);
    const buf = aggregate([{ partitionKey: 'A', data }]);
    expect(buf.length).toBe(aggregatedSize([{ partitionKey: 'A', data }]));
    const [r] = deaggregate(buf);
    expect(r!.data.equals(data)).toBe(true);
  });

  it('encodes an empty aggregate as magic plus the MD5 of nothing', () => {
    const empty = aggregate([]);
    expect(empty.length).toBe(KPL_OVERHEAD_BYTES);
    expect(empty.subarray(4).toString('hex')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(deaggregate(empty)).toEqual([]);
  });

  it('round-trips arbitrary records and knows their exact size (property)', () => {
    const arbRecord = fc.record({
      partitionKey: fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
      data: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    });
    fc.assert(
      fc.property(fc.array(arbRecord, { maxLength: 40 }), (records) => {
        const buf = aggregate(records);
        expect(buf.length).toBe(aggregatedSize(records));
        const decoded = deaggregate(buf);
        expect(decoded.map((r) => r.partitionKey)).toEqual(records.map((r) => r.partitionKey));
        expect(decoded.map((r) => r.data.toString('hex'))).toEqual(records.map((r) => r.data.toString('hex')));
      }),
      { numRuns: 200, seed: 4242 },
    );
  });
});

describe('varintSize', () => {
  it.each([
    [0, 1],
    [127, 1],
    [128, 2],
    [16_383, 2],
    [16_384, 3],
    [2 ** 21 - 1, 3],
    [2 ** 21, 4],
    [2 ** 32, 5],
  ])('encodes %d in %d bytes', (value, size) => {
    expect(varintSize(value)).toBe(size);
  });
});

describe('AggregateBuilder', () => {
  it('reports the exact encoded size after every add', () => {
    const b = new AggregateBuilder();
    expect(b.size).toBe(b.build().length);
    for (const r of [...lines(50), { partitionKey: 'BIG', data: Buffer.alloc(200_000, 1) }]) {
      const predicted = b.sizeWith(r.partitionKey, r.data);
      expect(b.tryAdd(r.partitionKey, r.data)).toBe(true);
      expect(b.size).toBe(predicted);
      expect(b.build().length).toBe(b.size);
    }
    expect(b.count).toBe(51);
  });

  it('packs up to the budget and refuses the record that would overflow it', () => {
    const budget = 1000;
    const b = new AggregateBuilder(budget);
    const records = lines(100);
    let added = 0;
    while (b.tryAdd(records[added]!.partitionKey, records[added]!.data)) added++;
    expect(added).toBeGreaterThan(5);
    expect(b.size).toBeLessThanOrEqual(budget);
    expect(b.sizeWith(records[added]!.partitionKey, records[added]!.data)).toBeGreaterThan(budget);
    expect(b.count).toBe(added);
    const built = b.build();
    expect(built.length).toBe(b.size);
    expect(deaggregate(built).map((r) => r.data.toString())).toEqual(records.slice(0, added).map((r) => r.data.toString()));
  });

  it('refuses a record larger than a whole empty aggregate', () => {
    const b = new AggregateBuilder(100);
    expect(b.tryAdd('K', Buffer.alloc(100))).toBe(false);
    expect(b.count).toBe(0);
    expect(b.size).toBe(KPL_OVERHEAD_BYTES);
  });

  it('starts over after reset', () => {
    const b = new AggregateBuilder();
    b.tryAdd('A', Buffer.from('1'));
    b.tryAdd('B', Buffer.from('2'));
    b.reset();
    b.tryAdd('C', Buffer.from('3'));
    expect(b.count).toBe(1);
    expect(deaggregate(b.build())).toEqual([{ partitionKey: 'C', data: Buffer.from('3') }]);
  });

  it('accepts a budget of exactly the fixed overhead (room for no record)', () => {
    const b = new AggregateBuilder(KPL_OVERHEAD_BYTES);
    expect(b.tryAdd('A', Buffer.from('x'))).toBe(false);
    expect(b.build().length).toBe(KPL_OVERHEAD_BYTES);
  });

  it('accepts a record that fills the budget to the last byte', () => {
    const data = Buffer.from('exact fit');
    const size = new AggregateBuilder().sizeWith('A', data);
    const b = new AggregateBuilder(size);
    expect(b.tryAdd('A', data)).toBe(true);
    expect(b.build().length).toBe(size);
  });

  it('rejects a budget below the fixed overhead', () => {
    expect(() => new AggregateBuilder(19)).toThrow('maxBytes must be at least 20, got 19');
  });
});

describe('interop with aws-kinesis-agg', () => {
  it('our aggregate decodes with their deaggregateSync (checksums on)', () => {
    const records = [...lines(25), { partitionKey: 'EHK', data: Buffer.from('x'), explicitHashKey: '42' }];
    const theirs = theirDeaggregate(aggregate(records));
    expect(theirs.map((r) => r.partitionKey)).toEqual(records.map((r) => r.partitionKey));
    expect(theirs.map((r) => r.data.toString())).toEqual(records.map((r) => r.data.toString()));
    expect(theirs[25]!.explicitPartitionKey).toBe('42');
  });

  it('their aggregate decodes with our deaggregate', async () => {
    const records = lines(40).map((r) => ({ partitionKey: r.partitionKey, data: Buffer.from(r.data) }));
    const encoded = await theirAggregate(records);
    expect(encoded).toHaveLength(1);
    expect(isAggregated(encoded[0]!)).toBe(true);
    const ours = deaggregate(encoded[0]!);
    expect(ours.map((r) => r.partitionKey)).toEqual(records.map((r) => r.partitionKey));
    expect(ours.map((r) => r.data.toString())).toEqual(records.map((r) => r.data.toString()));
  });

  it('produces byte-identical aggregates for the same records', async () => {
    const records = lines(10);
    const [theirs] = await theirAggregate(records.map((r) => ({ partitionKey: r.partitionKey, data: Buffer.from(r.data) })));
    expect(aggregate(records).equals(theirs!)).toBe(true);
  });
});

describe('deaggregate rejects corrupt aggregates with RecordDecodeError', () => {
  const good = aggregate(lines(5));

  it('rejects data without the magic', () => {
    expectDecodeError(Buffer.from('COHUTTA,3/10/14'), /not a KPL aggregate: expected magic f3899ac2, got 434f4855/);
  });

  it('rejects a wrong checksum', () => {
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 0xff;
    expectDecodeError(bad, /MD5 mismatch over \d+ protobuf bytes: trailer [0-9a-f]{32}, computed [0-9a-f]{32}/);
  });

  it('rejects a flipped bit in the protobuf by its checksum', () => {
    const bad = Buffer.from(good);
    bad[10] ^= 0x01;
    expectDecodeError(bad, /MD5 mismatch/);
  });

  it('rejects every truncation of a valid aggregate', () => {
    for (let n = 0; n < good.length; n++) {
      const cut = good.subarray(0, n);
      if (!isAggregated(cut)) continue;
      expect(() => deaggregate(cut)).toThrow(RecordDecodeError);
    }
  });

  it('rejects a truncated varint', () => {
    expectDecodeError(wrap([...pkTable('A'), 0x1a]), /AggregatedRecord: truncated varint at protobuf byte 4/);
  });

  it('rejects a length running past the end', () => {
    expectDecodeError(wrap([...pkTable('A'), 0x1a, 50, 0x08, 0x00]), /length 50 exceeds the 2 bytes left at protobuf byte 4/);
  });

  it('rejects a record field with the wrong wire type', () => {
    expectDecodeError(wrap([...pkTable('A'), ...record([0x0a, 0x01, 0x00, 0x1a, 0x00])]), /record 0: field 1 has wire type 2, expected 0/);
  });

  it('rejects a record without data', () => {
    expectDecodeError(wrap([...pkTable('A'), ...record([0x08, 0x00])]), /record 0: missing required field data \(3\)/);
  });

  it('rejects a record without a partition key index', () => {
    expectDecodeError(wrap([...pkTable('A'), ...record(ld(0x1a, str('x')))]), /record 0: missing required field partition_key_index \(1\)/);
  });

  it('rejects an out-of-range partition key index', () => {
    expectDecodeError(
      wrap([...pkTable('A'), ...record([0x08, 0x00, ...ld(0x1a, str('x'))]), ...record([0x08, 0x03, ...ld(0x1a, str('y'))])]),
      /record 1: partition_key_index 3 out of range \(partition key table has 1 entries\)/,
    );
  });

  it('rejects an out-of-range explicit hash key index', () => {
    expectDecodeError(
      wrap([...pkTable('A'), ...record([0x08, 0x00, 0x10, 0x00, ...ld(0x1a, str('x'))])]),
      /record 0: explicit_hash_key_index 0 out of range \(explicit hash key table has 0 entries\)/,
    );
  });

  it('rejects field number 0 and group wire types', () => {
    expectDecodeError(wrap([0x00, 0x00]), /field number 0/);
    expectDecodeError(wrap([(9 << 3) | 3]), /field 9 has unsupported wire type 3/);
  });

  it('says "an empty buffer" when there is nothing to read', () => {
    expectDecodeError(Buffer.alloc(0), /got an empty buffer/);
  });

  it('gives the protobuf size in the checksum message', () => {
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 0xff;
    expectDecodeError(bad, new RegExp(`MD5 mismatch over ${good.length - KPL_OVERHEAD_BYTES} protobuf bytes`));
  });

  it('rejects a varint cut off at the end of its record, even when bytes follow the record', () => {
    expectDecodeError(wrap([...pkTable('A'), ...record([0x08]), ...record([0x08, 0x00, ...ld(0x1a, str('x'))])]), /record 0: truncated varint/);
  });

  it('rejects a data length running past the end of its record, even when bytes follow the record', () => {
    expectDecodeError(
      wrap([...pkTable('A'), ...record([0x08, 0x00, 0x1a, 0x05, 0x61]), ...record([0x08, 0x00, ...ld(0x1a, str('x'))])]),
      /record 0: length 5 exceeds the 1 bytes left/,
    );
  });

  it('rejects a fixed-width field cut off at the end of its record, and accepts one that just fits', () => {
    const fixed64 = (n: number): number[] => [(15 << 3) | 1, ...Array(n).fill(0x11)];
    const rec = (n: number): number[] => [...pkTable('A'), ...record([0x08, 0x00, ...ld(0x1a, str('x')), ...fixed64(n)]), ...record([0x08, 0x00, ...ld(0x1a, str('y'))])];
    expectDecodeError(wrap(rec(7)), /record 0: truncated fixed-width field \(8 bytes needed\)/);
    expect(deaggregate(wrap(rec(8))).map((r) => r.data.toString())).toEqual(['x', 'y']);
  });

  it('rejects a varint above 2^53 - 1 and accepts 2^53 - 1 itself', () => {
    const maxSafe = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]; // 2^53 - 1
    const twoTo53 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]; // 2^53
    expect(deaggregate(wrap([(15 << 3) | 0, ...maxSafe]))).toEqual([]);
    expectDecodeError(wrap([(15 << 3) | 0, ...twoTo53]), /varint larger than 2\^53 at protobuf byte 1/);
  });

  it('rejects an 11-byte varint even when its value is small', () => {
    expectDecodeError(wrap([(15 << 3) | 0, ...Array(10).fill(0x80), 0x00]), /varint longer than 10 bytes/);
  });

  it('rejects an over-long varint', () => {
    expectDecodeError(wrap([0x1a, ...Array(11).fill(0xff)]), /varint longer than 10 bytes/);
  });
});

describe('deaggregate tolerates what protobuf allows', () => {
  it('skips tags and unknown fields of every wire type, and accepts tables after the records', () => {
    const tag = ld(0x22, [...ld(0x0a, str('k')), ...ld(0x12, str('v'))]);
    const buf = wrap([
      ...record([...ld(0x1a, str('hello')), ...tag, 0x08, 0x01]),
      (15 << 3) | 0, 0x96, 0x01, // unknown varint
      0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, // unknown fixed64, field 16 (two-byte key)
      (14 << 3) | 5, 1, 2, 3, 4, // unknown fixed32
      (13 << 3) | 2, 2, 0xaa, 0xbb, // unknown bytes
      ...pkTable('FIRST'),
      ...pkTable('SECOND'),
    ]);
    expect(deaggregate(buf)).toEqual([{ partitionKey: 'SECOND', data: Buffer.from('hello') }]);
  });
});
