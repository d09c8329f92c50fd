/**
 * The KPL aggregated record format, implemented by hand: magic, protobuf `AggregatedRecord`, MD5.
 *
 * Layout (https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md):
 * `F3 89 9A C2` ‖ protobuf bytes ‖ MD5(protobuf bytes), where the protobuf message is
 *
 * ```proto
 * message AggregatedRecord {
 *   repeated string partition_key_table     = 1;
 *   repeated string explicit_hash_key_table = 2;
 *   repeated Record records                 = 3;
 * }
 * message Record {
 *   required uint64 partition_key_index     = 1;
 *   optional uint64 explicit_hash_key_index = 2;
 *   required bytes  data                    = 3;
 *   repeated Tag    tags                    = 4;
 * }
 * ```
 *
 * Only the four protobuf wire types the format can contain are understood; unknown fields are skipped as protobuf
 * requires, so records written by newer producers still decode. The encoder writes partition keys in first-use order,
 * exactly like the KPL and `aws-kinesis-agg`, and can tell the exact encoded size of a pending aggregate without
 * encoding it, which is what a producer needs to fill Kinesis records up to a byte budget.
 */
import { createHash } from 'node:crypto';
import { ConfigError, InternalError, RecordDecodeError } from './errors';

/** The 4 bytes every KPL aggregated record starts with. Treat as read-only. */
export const KPL_MAGIC: Buffer = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);

/** Bytes an aggregate adds around its protobuf message: 4 bytes of magic and a 16-byte MD5 digest. */
export const KPL_OVERHEAD_BYTES = KPL_MAGIC.length + 16;

/** One user record inside (or destined for) an aggregated Kinesis record. */
export interface UserRecord {
  readonly partitionKey: string;
  /** The user record's bytes. Decoded records share memory with the aggregate they came from. */
  readonly data: Buffer;
  /** Explicit hash key, when the producer set one. */
  readonly explicitHashKey?: string;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/* Field tags (field number << 3 | wire type) written by the encoder. All fit in one byte. */
const TAG_PARTITION_KEY = (1 << 3) | WIRE_LENGTH_DELIMITED;
const TAG_EXPLICIT_HASH_KEY = (2 << 3) | WIRE_LENGTH_DELIMITED;
const TAG_RECORD = (3 << 3) | WIRE_LENGTH_DELIMITED;
const TAG_PARTITION_KEY_INDEX = (1 << 3) | WIRE_VARINT;
const TAG_EXPLICIT_HASH_KEY_INDEX = (2 << 3) | WIRE_VARINT;
const TAG_DATA = (3 << 3) | WIRE_LENGTH_DELIMITED;

/**
 * Tells whether a Kinesis record's data is a KPL aggregate (starts with {@link KPL_MAGIC}).
 *
 * Only the magic is checked, so a truncated aggregate still counts as one and {@link deaggregate} reports what is
 * wrong with it. No valid UTF-8 text starts with these bytes, so plain CSV records are never mistaken for aggregates.
 *
 * @example
 * const lines = isAggregated(data) ? deaggregate(data).map((r) => r.data.toString()) : [data.toString()];
 */
export function isAggregated(buf: Uint8Array): boolean {
  return (
    buf.length >= KPL_MAGIC.length &&
    buf[0] === KPL_MAGIC[0] &&
    buf[1] === KPL_MAGIC[1] &&
    buf[2] === KPL_MAGIC[2] &&
    buf[3] === KPL_MAGIC[3]
  );
}

/**
 * Number of bytes `value` (a non-negative safe integer) takes as a protobuf varint.
 *
 * @example
 * varintSize(127); // 1
 * varintSize(128); // 2
 */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Size of a length-delimited field with a one-byte tag and a payload of `length` bytes. */
function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Size of one encoded `Record` message body (without its own tag and length). */
function recordBodySize(partitionKeyIndex: number, explicitHashKeyIndex: number, dataLength: number): number {
  let size = 1 + varintSize(partitionKeyIndex) + fieldSize(dataLength);
  if (explicitHashKeyIndex >= 0) size += 1 + varintSize(explicitHashKeyIndex);
  return size;
}

interface PendingRecord {
  readonly pk: number;
  /** Index into the explicit hash key table, or -1 when absent. */
  readonly ehk: number;
  readonly data: Uint8Array;
  /** Size of the encoded `Record` body. */
  readonly bodySize: number;
}

/**
 * Accumulates user records into one KPL aggregate, tracking the exact encoded size as it goes.
 *
 * `maxBytes` bounds the whole aggregate (magic + protobuf + MD5), i.e. the `Data` of the Kinesis record. Leave room
 * for the outer partition key when `maxBytes` is derived from the Kinesis record limit, which counts both.
 * `tryAdd` refuses a record that would overflow the budget, including a record too large to fit even into an empty
 * aggregate; the caller decides whether to send it on its own or reject it. `build()` does not clear the builder,
 * call `reset()` to start the next aggregate.
 *
 * @example
 * const builder = new AggregateBuilder(64 * 1024);
 * for (const line of lines) {
 *   const data = Buffer.from(line + '\n');
 *   if (!builder.tryAdd(pump, data)) {
 *     await send(builder.build());
 *     builder.reset();
 *     if (!builder.tryAdd(pump, data)) throw new Error('line larger than a whole record');
 *   }
 * }
 * if (builder.count > 0) await send(builder.build());
 */
export class AggregateBuilder {
  private partitionKeys = new Map<string, number>();
  private explicitHashKeys = new Map<string, number>();
  private records: PendingRecord[] = [];
  private protobufSize = 0;

  /** @param maxBytes Budget for the whole encoded aggregate in bytes; `Infinity` for no limit. */
  constructor(readonly maxBytes: number = Infinity) {
    if (!(maxBytes >= KPL_OVERHEAD_BYTES)) {
      throw new ConfigError(`maxBytes must be at least ${KPL_OVERHEAD_BYTES}, got ${maxBytes}`);
    }
  }

  /** Exact size in bytes of what {@link build} would return now. */
  get size(): number {
    return KPL_OVERHEAD_BYTES + this.protobufSize;
  }

  /** Number of user records added since construction or the last {@link reset}. */
  get count(): number {
    return this.records.length;
  }

  /** Exact size the aggregate would have with this record added, without adding it. */
  sizeWith(partitionKey: string, data: Uint8Array, explicitHashKey?: string): number {
    return this.size + this.growth(partitionKey, data.length, explicitHashKey);
  }

  /**
   * Bytes a user record of `dataLength` bytes under `partitionKey` (no explicit hash key) would add, partition key
   * table entry included when the key is new.
   */
  growthOf(partitionKey: string, dataLength: number): number {
    return this.growth(partitionKey, dataLength, undefined);
  }

  /**
   * Adds a user record when the aggregate stays within `maxBytes`.
   *
   * @returns `false` (and changes nothing) when the record would push the aggregate over the budget.
   */
  tryAdd(partitionKey: string, data: Uint8Array, explicitHashKey?: string): boolean {
    const growth = this.growth(partitionKey, data.length, explicitHashKey);
    if (KPL_OVERHEAD_BYTES + this.protobufSize + growth > this.maxBytes) return false;
    let pk = this.partitionKeys.get(partitionKey);
    if (pk === undefined) {
      pk = this.partitionKeys.size;
      this.partitionKeys.set(partitionKey, pk);
    }
    let ehk = -1;
    if (explicitHashKey !== undefined) {
      const known = this.explicitHashKeys.get(explicitHashKey);
      ehk = known ?? this.explicitHashKeys.size;
      if (known === undefined) this.explicitHashKeys.set(explicitHashKey, ehk);
    }
    this.records.push({ pk, ehk, data, bodySize: recordBodySize(pk, ehk, data.length) });
    this.protobufSize += growth;
    return true;
  }

  /** Encodes the records added so far. The builder keeps its records. */
  build(): Buffer {
    const protobufSize = this.protobufSize;
    const out = Buffer.allocUnsafe(KPL_OVERHEAD_BYTES + protobufSize);
    KPL_MAGIC.copy(out, 0);
    let pos = KPL_MAGIC.length;
    for (const key of this.partitionKeys.keys()) pos = writeString(out, pos, TAG_PARTITION_KEY, key);
    for (const key of this.explicitHashKeys.keys()) pos = writeString(out, pos, TAG_EXPLICIT_HASH_KEY, key);
    for (const r of this.records) {
      out[pos++] = TAG_RECORD;
      pos = writeVarint(out, pos, r.bodySize);
      out[pos++] = TAG_PARTITION_KEY_INDEX;
      pos = writeVarint(out, pos, r.pk);
      if (r.ehk >= 0) {
        out[pos++] = TAG_EXPLICIT_HASH_KEY_INDEX;
        pos = writeVarint(out, pos, r.ehk);
      }
      out[pos++] = TAG_DATA;
      pos = writeVarint(out, pos, r.data.length);
      out.set(r.data, pos);
      pos += r.data.length;
    }
    if (pos !== KPL_MAGIC.length + protobufSize) {
      throw new InternalError(`KPL encoder size mismatch: wrote ${pos - KPL_MAGIC.length} bytes, computed ${protobufSize}`);
    }
    createHash('md5').update(out.subarray(KPL_MAGIC.length, pos)).digest().copy(out, pos);
    return out;
  }

  /** Forgets all records so the builder can fill the next aggregate. */
  reset(): void {
    this.partitionKeys = new Map();
    this.explicitHashKeys = new Map();
    this.records = [];
    this.protobufSize = 0;
  }

  /** Bytes the protobuf message grows by when this record is added. */
  private growth(partitionKey: string, dataLength: number, explicitHashKey: string | undefined): number {
    let growth = 0;
    let pk = this.partitionKeys.get(partitionKey);
    if (pk === undefined) {
      pk = this.partitionKeys.size;
      growth += fieldSize(Buffer.byteLength(partitionKey, 'utf8'));
    }
    let ehk = -1;
    if (explicitHashKey !== undefined) {
      const known = this.explicitHashKeys.get(explicitHashKey);
      ehk = known ?? this.explicitHashKeys.size;
      if (known === undefined) growth += fieldSize(Buffer.byteLength(explicitHashKey, 'utf8'));
    }
    return growth + fieldSize(recordBodySize(pk, ehk, dataLength));
  }
}

function writeVarint(out: Buffer, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[pos++] = value;
  return pos;
}

function writeString(out: Buffer, pos: number, tag: number, value: string): number {
  const length = Buffer.byteLength(value, 'utf8');
  out[pos++] = tag;
  pos = writeVarint(out, pos, length);
  return pos + out.write(value, pos, length, 'utf8');
}

/**
 * Encodes user records as one KPL aggregate.
 *
 * Partition keys (and explicit hash keys) are stored once each in first-use order. There is no size limit here;
 * use {@link AggregateBuilder} to pack up to a budget.
 *
 * @example
 * const data = aggregate([{ partitionKey: 'COHUTTA', data: Buffer.from('COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94') }]);
 */
export function aggregate(records: readonly UserRecord[]): Buffer {
  const builder = new AggregateBuilder();
  for (const r of records) builder.tryAdd(r.partitionKey, r.data, r.explicitHashKey);
  return builder.build();
}

/**
 * Exact byte size of `aggregate(records)`, computed without encoding.
 *
 * @example
 * if (aggregatedSize(batch) > LIMITS.kinesisMaxRecordBytes - partitionKey.length) split(batch);
 */
export function aggregatedSize(records: readonly UserRecord[]): number {
  const builder = new AggregateBuilder();
  for (const r of records) builder.tryAdd(r.partitionKey, r.data, r.explicitHashKey);
  return builder.size;
}

/** Cursor over a protobuf message; every read checks bounds and throws RecordDecodeError with the byte offset. */
class ProtoReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    /** Offset of `buf[0]` inside the protobuf message, for error messages. */
    private readonly base: number,
    private readonly what: string,
  ) {
    this.pos = start;
  }

  fail(message: string, at = this.pos): never {
    throw new RecordDecodeError(`corrupt KPL aggregate: ${this.what}: ${message} at protobuf byte ${at - this.base}`);
  }

  varint(): number {
    const start = this.pos;
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) this.fail('varint larger than 2^53', start);
        return result;
      }
      multiplier *= 128;
    }
    return this.fail('varint longer than 10 bytes', start);
  }

  /** Reads a length prefix and returns the end offset of the payload that follows. */
  lengthDelimited(): number {
    const start = this.pos;
    const length = this.varint();
    if (length > this.end - this.pos) {
      this.fail(`length ${length} exceeds the ${this.end - this.pos} bytes left`, start);
    }
    return this.pos + length;
  }

  skip(wireType: number, field: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.skipBytes(8);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.pos = this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        this.skipBytes(4);
        return;
      default:
        this.fail(`field ${field} has unsupported wire type ${wireType}`);
    }
  }

  private skipBytes(n: number): void {
    if (n > this.end - this.pos) this.fail(`truncated fixed-width field (${n} bytes needed)`);
    this.pos += n;
  }

  /** Reads a field key; returns `[field, wireType]`. */
  key(): [number, number] {
    const start = this.pos;
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) this.fail('field number 0', start);
    return [field, key & 7];
  }

  expectWireType(field: number, wireType: number, expected: number, start: number): void {
    if (wireType !== expected) this.fail(`field ${field} has wire type ${wireType}, expected ${expected}`, start);
  }
}

interface RawRecord {
  pk: number;
  ehk: number;
  dataStart: number;
  dataEnd: number;
}

/**
 * Decodes a KPL aggregate into its user records, verifying the MD5 checksum.
 *
 * Callers check {@link isAggregated} first; anything else is rejected rather than passed through. The returned
 * `data` buffers are views into `buf` (no copy).
 *
 * @throws RecordDecodeError when the buffer lacks the magic, is shorter than 20 bytes, fails the checksum, holds
 * corrupt or truncated protobuf, misses a required field, or references a key table entry that does not exist.
 * @example
 * for (const { partitionKey, data } of deaggregate(record.data)) handle(partitionKey, data.toString('utf8'));
 */
export function deaggregate(buf: Buffer): UserRecord[] {
  if (!isAggregated(buf)) {
    throw new RecordDecodeError(
      `not a KPL aggregate: expected magic f3899ac2, got ${buf.subarray(0, 4).toString('hex') || 'an empty buffer'}`,
    );
  }
  if (buf.length < KPL_OVERHEAD_BYTES) {
    throw new RecordDecodeError(
      `corrupt KPL aggregate: ${buf.length} bytes is shorter than the ${KPL_OVERHEAD_BYTES}-byte minimum (magic + MD5)`,
    );
  }
  const start = KPL_MAGIC.length;
  const end = buf.length - 16;
  const expected = buf.subarray(end);
  const actual = createHash('md5').update(buf.subarray(start, end)).digest();
  if (!actual.equals(expected)) {
    throw new RecordDecodeError(
      `corrupt KPL aggregate: MD5 mismatch over ${end - start} protobuf bytes: ` +
        `trailer ${expected.toString('hex')}, computed ${actual.toString('hex')}`,
    );
  }

  const partitionKeys: string[] = [];
  const explicitHashKeys: string[] = [];
  const raw: RawRecord[] = [];
  const reader = new ProtoReader(buf, start, end, start, 'AggregatedRecord');
  while (reader.pos < end) {
    const keyStart = reader.pos;
    const [field, wireType] = reader.key();
    if (field === 1 || field === 2) {
      reader.expectWireType(field, wireType, WIRE_LENGTH_DELIMITED, keyStart);
      const valueEnd = reader.lengthDelimited();
      (field === 1 ? partitionKeys : explicitHashKeys).push(buf.toString('utf8', reader.pos, valueEnd));
      reader.pos = valueEnd;
    } else if (field === 3) {
      reader.expectWireType(field, wireType, WIRE_LENGTH_DELIMITED, keyStart);
      const recordEnd = reader.lengthDelimited();
      raw.push(readRecord(buf, reader.pos, recordEnd, start, raw.length));
      reader.pos = recordEnd;
    } else {
      reader.skip(wireType, field);
    }
  }

  const out: UserRecord[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i]!;
    const partitionKey = partitionKeys[r.pk];
    if (partitionKey === undefined) {
      throw new RecordDecodeError(
        `corrupt KPL aggregate: record ${i}: partition_key_index ${r.pk} out of range ` +
          `(partition key table has ${partitionKeys.length} entries)`,
      );
    }
    const data = buf.subarray(r.dataStart, r.dataEnd);
    if (r.ehk < 0) {
      out[i] = { partitionKey, data };
      continue;
    }
    const explicitHashKey = explicitHashKeys[r.ehk];
    if (explicitHashKey === undefined) {
      throw new RecordDecodeError(
        `corrupt KPL aggregate: record ${i}: explicit_hash_key_index ${r.ehk} out of range ` +
          `(explicit hash key table has ${explicitHashKeys.length} entries)`,
      );
    }
    out[i] = { partitionKey, data, explicitHashKey };
  }
  return out;
}

function readRecord(buf: Buffer, start: number, end: number, base: number, index: number): RawRecord {
  const reader = new ProtoReader(buf, start, end, base, `record ${index}`);
  let pk = -1;
  let ehk = -1;
  let dataStart = -1;
  let dataEnd = -1;
  while (reader.pos < end) {
    const keyStart = reader.pos;
    const [field, wireType] = reader.key();
    if (field === 1 || field === 2) {
      reader.expectWireType(field, wireType, WIRE_VARINT, keyStart);
      const value = reader.varint();
      if (field === 1) pk = value;
      else ehk = value;
    } else if (field === 3) {
      reader.expectWireType(field, wireType, WIRE_LENGTH_DELIMITED, keyStart);
      dataEnd = reader.lengthDelimited();
      dataStart = reader.pos;
      reader.pos = dataEnd;
    } else {
      // Field 4 (tags) and any unknown field: not needed here, skipped by wire type.
      reader.skip(wireType, field);
    }
  }
  if (pk < 0) reader.fail('missing required field partition_key_index (1)', start);
  if (dataStart < 0) reader.fail('missing required field data (3)', start);
  return { pk, ehk, dataStart, dataEnd };
}
