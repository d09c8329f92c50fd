/**
 * Every PutRecords call the producer makes is one real Kinesis would accept: at most 500 records and at most 5 MiB,
 * counted as AWS counts it — "Each PutRecords request can support up to 500 records. Each record in the request can
 * be as large as 1 MiB, up to a limit of 5 MiB for the entire request, including partition keys." (Kinesis API
 * reference, PutRecords; "The record size limit applies to the total size of the partition key and data blob").
 *
 * kinesalite does not enforce these limits, so a fake Kinesis client does: it rejects an oversized call the way AWS
 * does (a non-retryable validation error, which stops the run) and records the largest call it saw, so the test
 * also proves the limits were actually approached.
 */
import type { KinesisClient, PutRecordsCommandInput, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { generateReadings, pumpName } from '../../../lambdas/core/generator';
import { deaggregate, isAggregated } from '../../../lambdas/core/kpl';
import { produce, putRecordsWith, type PayloadFormat, type ProducerStats } from '../../../cli/producer';

const MAX_RECORDS = 500;
const MAX_REQUEST_BYTES = 5 * 1024 * 1024;
const MAX_RECORD_BYTES = 1024 * 1024;

/** A Kinesis client whose PutRecords checks AWS's request limits and keeps what it accepted. */
class LimitCheckingKinesis {
  readonly calls: { records: number; bytes: number }[] = [];
  readonly violations: string[] = [];
  /** Lines received, per partition key of the user record (the pump) or of the record. */
  lines = 0;

  async send(command: unknown): Promise<PutRecordsCommandOutput> {
    if (!(command instanceof PutRecordsCommand)) throw new Error(`unexpected command ${(command as object).constructor.name}`);
    const input: PutRecordsCommandInput = command.input;
    const records = input.Records ?? [];
    let bytes = 0;
    for (const r of records) {
      const recordBytes = (r.Data?.length ?? 0) + Buffer.byteLength(r.PartitionKey ?? '', 'utf8');
      if (recordBytes > MAX_RECORD_BYTES) this.violations.push(`record of ${recordBytes} bytes`);
      bytes += recordBytes;
    }
    this.calls.push({ records: records.length, bytes });
    if (records.length > MAX_RECORDS || bytes > MAX_REQUEST_BYTES) {
      this.violations.push(`call of ${records.length} records, ${bytes} bytes`);
      // What AWS answers: the whole request is refused; not retryable.
      throw Object.assign(new Error(`1 validation error detected: request of ${records.length} records / ${bytes} bytes exceeds the limits`), {
        name: 'ValidationException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    }
    for (const r of records) {
      const data = Buffer.from(r.Data!);
      if (isAggregated(data)) for (const u of deaggregate(data)) this.lines += u.data.toString('utf8').split('\n').length;
      else this.lines += data.toString('utf8').split('\n').length;
    }
    // A little latency, so sealed records of many pumps queue up and calls are built from many of them at once.
    await new Promise((resolve) => setTimeout(resolve, 2));
    return { $metadata: {}, FailedRecordCount: 0, Records: records.map((_, i) => ({ SequenceNumber: String(this.calls.length * 1000 + i), ShardId: 'shardId-000000000000' })) };
  }
}

async function push(lines: Iterable<string>, format: PayloadFormat, options: { recordBytes?: number; lingerMs?: number } = {}): Promise<{ kinesis: LimitCheckingKinesis; stats: ProducerStats }> {
  const kinesis = new LimitCheckingKinesis();
  const stats = await produce([{ name: 'generated', lines }], {
    streamName: 'wellwatch-readings',
    putRecords: putRecordsWith(kinesis as unknown as KinesisClient),
    format,
    concurrency: 4,
    ...options,
  });
  return { kinesis, stats };
}

describe('PutRecords calls stay within 500 records and 5 MiB', () => {
  it.each<PayloadFormat>(['kpl', 'lines'])('150 pumps pushing full 64 KiB records (%s): no call above 5 MiB, and calls come close to it', async (format) => {
    // Two days of 150 pumps interleaved in time order: all pumps fill their records at about the same pace, so
    // many full records are ready at once — the case where a call could grow past 5 MiB.
    const lines = [...generateReadings({ pumps: 150, days: 2, seed: 14 })];
    const { kinesis, stats } = await push(lines, format, { recordBytes: 64 * 1024 });
    expect(kinesis.violations).toEqual([]);
    expect(stats.sent).toBe(lines.length);
    expect(kinesis.lines).toBe(lines.length);
    const largest = Math.max(...kinesis.calls.map((c) => c.bytes));
    // The test can fail only if calls get near the limit: more than 4 MiB in one call means the cap was binding.
    expect(largest).toBeGreaterThan(4 * 1024 * 1024);
    expect(largest).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
  });

  it('12 pumps pushing full 1 MiB records: never more than five in a call', async () => {
    // Enough lines that each of 12 pumps fills one record of the largest size Kinesis accepts; the first four go out
    // alone (four calls in flight), the other eight wait and must be split into calls of at most five.
    const lines = [...generateReadings({ pumps: 12, days: 25, seed: 3 })];
    const { kinesis, stats } = await push(lines, 'lines', { recordBytes: MAX_RECORD_BYTES });
    expect(kinesis.violations).toEqual([]);
    expect(stats.sent).toBe(lines.length);
    expect(Math.max(...kinesis.calls.map((c) => c.bytes))).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('more pumps than 500 with a record each ready at once: no call above 500 records', async () => {
    // 700 pumps, one reading each, sealed together by the linger timer: 700 queues wait at once.
    const lines = Array.from({ length: 700 }, (_, i) => `${pumpName(i)},3/10/14,0:01,10.27,1.73,881,1.56,85,1.94`);
    const { kinesis, stats } = await push(lines, 'kpl', { lingerMs: 50 });
    expect(kinesis.violations).toEqual([]);
    expect(stats.sent).toBe(700);
    expect(Math.max(...kinesis.calls.map((c) => c.records))).toBe(MAX_RECORDS);
  });
});
