/**
 * Record packing: fills one Kinesis record with lines within a byte budget and seals it into bytes to send.
 *
 * Owns the two payload formats — newline-joined lines, or a KPL aggregate whose user records each hold a small group
 * of one pump's lines and keep that pump as partition key — and exact size accounting: the size of an open record is
 * exactly the size its encoding will have, so a record never exceeds its budget (data plus partition key, the unit
 * Kinesis limits to 1 MiB per record).
 */
import { InternalError } from '../../lambdas/core/errors';
import { AggregateBuilder, KPL_OVERHEAD_BYTES } from '../../lambdas/core/kpl';
import type { Route } from './routing';
import type { LineOrigin } from './types';

/** A record ready to send, with its send state: attempts so far, earliest next attempt, last error. */
export interface SealedRecord {
  readonly route: Route;
  readonly data: Buffer;
  /** data + partition key bytes */
  readonly bytes: number;
  readonly readings: number;
  readonly userRecords: number;
  readonly first: LineOrigin;
  readonly last: LineOrigin;
  attempts: number;
  /** Epoch milliseconds before which the record is not sent again (backoff). */
  notBefore: number;
  lastError: string;
}

/** One queue's record being filled. */
export class OpenRecord {
  readonly firstAt: number;
  readings = 0;
  userRecords = 0;
  readonly first: LineOrigin;
  private lastSource: string;
  private lastLine: number;
  /** `lines`: the lines; `kpl`: the current (uncommitted) line group, all of one pump. */
  private parts: string[] = [];
  private partsBytes = 0;
  private partsPump = '';
  private readonly builder: AggregateBuilder | undefined;
  /** Bytes of data so far (an estimate of memory use and, exactly, of the encoded size). */
  size: number;

  constructor(
    readonly route: Route,
    private readonly budget: number,
    private readonly groupBytes: number,
    kpl: boolean,
    now: number,
    source: string,
    line: number,
  ) {
    this.firstAt = now;
    this.first = { source, line };
    this.lastSource = source;
    this.lastLine = line;
    this.builder = kpl ? new AggregateBuilder(budget - route.pkBytes) : undefined;
    this.size = kpl ? KPL_OVERHEAD_BYTES : 0;
  }

  /** Adds a line of `pump` if the record stays within budget; returns false (the encoding unchanged) otherwise. */
  tryAdd(pump: string, line: string, lineBytes: number, source: string, lineNumber: number): boolean {
    const dataBudget = this.budget - this.route.pkBytes;
    const builder = this.builder;
    if (builder === undefined) {
      const next = this.size + (this.readings > 0 ? 1 : 0) + lineBytes;
      if (next > dataBudget) return false;
      this.size = next;
      this.parts.push(line);
    } else {
      // size = committed aggregate + the open group as it would be encoded (partition key table entry included).
      let added = false;
      if (this.parts.length > 0 && pump === this.partsPump) {
        const joined = this.partsBytes + 1 + lineBytes;
        const size = builder.size + builder.growthOf(pump, joined);
        if (joined <= this.groupBytes && size <= dataBudget) {
          this.parts.push(line);
          this.partsBytes = joined;
          this.size = size;
          added = true;
        }
      }
      if (!added) {
        // A new group: commit the open one (already counted in size, so the encoding does not change), then see
        // whether the line fits as a user record of its own.
        this.commitGroup();
        const size = builder.size + builder.growthOf(pump, lineBytes);
        if (size > dataBudget) return false;
        this.parts.push(line);
        this.partsBytes = lineBytes;
        this.partsPump = pump;
        this.size = size;
      }
    }
    this.readings++;
    this.lastSource = source;
    this.lastLine = lineNumber;
    return true;
  }

  private commitGroup(): void {
    if (this.parts.length === 0 || this.builder === undefined) return;
    const data = Buffer.from(this.parts.length === 1 ? this.parts[0]! : this.parts.join('\n'), 'utf8');
    if (!this.builder.tryAdd(this.partsPump, data)) {
      throw new InternalError(`KPL packing overflow for ${this.route.partitionKey} (${this.builder.size}+${data.length} > ${this.builder.maxBytes})`);
    }
    this.userRecords++;
    this.parts = [];
    this.partsBytes = 0;
  }

  seal(): SealedRecord {
    let data: Buffer;
    if (this.builder === undefined) {
      data = Buffer.from(this.parts.join('\n'), 'utf8');
      this.userRecords = 1;
    } else {
      this.commitGroup();
      data = this.builder.build();
      if (data.length !== this.size) throw new InternalError(`KPL size estimate ${this.size} != encoded ${data.length}`);
    }
    const bytes = data.length + this.route.pkBytes;
    if (bytes > this.budget) throw new InternalError(`record of ${bytes} bytes exceeds the ${this.budget}-byte budget`);
    return {
      route: this.route,
      data,
      bytes,
      readings: this.readings,
      userRecords: this.userRecords,
      first: this.first,
      last: { source: this.lastSource, line: this.lastLine },
      attempts: 0,
      notBefore: 0,
      lastError: '',
    };
  }
}
