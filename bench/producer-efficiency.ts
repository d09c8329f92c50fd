/**
 * Section 2 — producer efficiency: what the records the producer really builds cost a Kinesis shard.
 *
 * The data set is pushed through the project's own {@link Producer} (its packing, sealing and batching code, with
 * the default record budget and linger) whose `putRecords` is a fake that acknowledges everything and measures
 * every record it is handed: count, data + partition-key bytes, 25 KB PUT payload units (rounded up per record)
 * and 1 KB on-demand ingest units (rounded up per record). Nothing is re-implemented here.
 *
 * Modes:
 * - `kpl` — the default: per-pump KPL aggregates of ~1 KiB line groups, up to `producerRecordBytes` (64 KiB).
 * - `lines` — per-pump newline-joined records, same budget.
 * - `one-per-record` — `lines` with `maxOpenBytes: 1`, which makes the producer seal every open record after every
 *   line: exactly one reading per record, through the same code path. (The producer has no dedicated option.)
 *
 * Shard capacity under both write limits: records/s ≤ 1,000 → readings/s ≤ 1,000 × readings per record;
 * bytes/s ≤ 1 MiB → readings/s ≤ 1,048,576 / bytes per reading. The smaller bound is what one shard takes.
 */
import type { PutRecordsCommandInput, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { loadConfig } from '../lambdas/config';
import { PRICES, SERVICE_LIMITS } from '../lambdas/config';
import { produce, type PayloadFormat, type ProducerOptions } from '../cli/producer';
import { blockLines, type Dataset } from './dataset';
import { round } from './stats';

/** Kinesis PUT payload unit: 25 KB chunks of a record's payload, counted per record (provisioned mode). */
export const PUT_PAYLOAD_UNIT_BYTES = PRICES.kinesis.putPayloadUnitBytes;
/** Kinesis on-demand bills each record's size rounded up to the nearest 1 KB (1,024 bytes). */
export const ON_DEMAND_RECORD_ROUNDING_BYTES = 1024;
/** Write limits of one shard. */
export const SHARD_LIMITS = { recordsPerSecond: SERVICE_LIMITS.kinesisShardRecordsPerSecond, bytesPerSecond: SERVICE_LIMITS.kinesisShardBytesPerSecond } as const;

/** One producer mode's figures. */
export interface ProducerModeResult {
  readonly mode: string;
  readonly format: PayloadFormat;
  readonly readings: number;
  readonly records: number;
  readonly putRecordsCalls: number;
  readonly readingsPerRecord: number;
  /** Mean data + partition key bytes per record. */
  readonly bytesPerRecord: number;
  /** Largest record seen (data + partition key). */
  readonly maxRecordBytes: number;
  readonly bytesPerReading: number;
  /** 25 KB PUT payload units per million readings. */
  readonly putPayloadUnitsPerMillion: number;
  /** On-demand ingest: GB (2^30 bytes) billed per million readings, records rounded up to 1 KB. */
  readonly onDemandIngestGbPerMillion: number;
  /** Actual payload GB per million readings (what a consumer retrieves). */
  readonly payloadGbPerMillion: number;
  /** Readings/s one shard takes under the 1,000 records/s limit alone. */
  readonly shardReadingsPerSecondByRecords: number;
  /** Readings/s one shard takes under the 1 MiB/s limit alone. */
  readonly shardReadingsPerSecondByBytes: number;
  /** Readings/s one shard takes under both limits. */
  readonly shardReadingsPerSecond: number;
  /** Which limit binds. */
  readonly bindingLimit: 'records' | 'bytes';
  /** Fraction of the 1 MiB/s byte limit the records use at that rate (framing included). */
  readonly byteLimitUtilisation: number;
  /** CSV line bytes (newline excluded) per reading: the payload that is actually useful. */
  readonly lineBytesPerReading: number;
  /** Fraction of the 1 MiB/s byte limit carrying CSV line bytes at that rate (the "≥ 70 % of the byte limit"). */
  readonly usefulByteLimitUtilisation: number;
  /** Wall time of the producer run (packing + fake sends), milliseconds. */
  readonly elapsedMs: number;
}

/** Result of section 2. */
export interface ProducerEfficiencyResult {
  readonly recordBytesBudget: number;
  readonly modes: ProducerModeResult[];
}

interface Capture {
  records: number;
  calls: number;
  bytes: number;
  maxBytes: number;
  putUnits: number;
  onDemandBytes: number;
}

/** A PutRecords function that acknowledges every record and measures it. */
function capturingPut(capture: Capture): (input: PutRecordsCommandInput) => Promise<PutRecordsCommandOutput> {
  return async (input) => {
    const entries = input.Records ?? [];
    capture.calls++;
    for (const entry of entries) {
      const bytes = (entry.Data?.length ?? 0) + Buffer.byteLength(entry.PartitionKey ?? '', 'utf8');
      capture.records++;
      capture.bytes += bytes;
      if (bytes > capture.maxBytes) capture.maxBytes = bytes;
      capture.putUnits += Math.ceil(bytes / PUT_PAYLOAD_UNIT_BYTES);
      capture.onDemandBytes += Math.ceil(bytes / ON_DEMAND_RECORD_ROUNDING_BYTES) * ON_DEMAND_RECORD_ROUNDING_BYTES;
    }
    return {
      $metadata: {},
      FailedRecordCount: 0,
      Records: entries.map((_, i) => ({ SequenceNumber: String(capture.records - entries.length + i), ShardId: 'shardId-000000000000' })),
    };
  };
}

async function runMode(data: Dataset, mode: string, format: PayloadFormat, extra: Partial<ProducerOptions>, recordBytes: number): Promise<ProducerModeResult> {
  const capture: Capture = { records: 0, calls: 0, bytes: 0, maxBytes: 0, putUnits: 0, onDemandBytes: 0 };
  const started = performance.now();
  const stats = await produce(
    [{ name: 'bench', lines: blockLines(data.blocks) }],
    { streamName: 'bench', putRecords: capturingPut(capture), format, recordBytes, ...extra },
  );
  const elapsedMs = performance.now() - started;
  if (stats.sent !== data.lines || stats.records !== capture.records) {
    throw new Error(`${mode}: producer sent ${stats.sent} readings in ${stats.records} records; captured ${capture.records} records of ${data.lines} lines`);
  }
  const readings = stats.sent;
  const perMillion = 1e6 / readings;
  const readingsPerRecord = readings / capture.records;
  const bytesPerReading = capture.bytes / readings;
  const byRecords = SHARD_LIMITS.recordsPerSecond * readingsPerRecord;
  const byBytes = SHARD_LIMITS.bytesPerSecond / bytesPerReading;
  const shard = Math.min(byRecords, byBytes);
  return {
    mode,
    format,
    readings,
    records: capture.records,
    putRecordsCalls: capture.calls,
    readingsPerRecord: round(readingsPerRecord),
    bytesPerRecord: round(capture.bytes / capture.records),
    maxRecordBytes: capture.maxBytes,
    bytesPerReading: round(bytesPerReading),
    putPayloadUnitsPerMillion: round(capture.putUnits * perMillion),
    onDemandIngestGbPerMillion: round((capture.onDemandBytes * perMillion) / 2 ** 30),
    payloadGbPerMillion: round((capture.bytes * perMillion) / 2 ** 30),
    shardReadingsPerSecondByRecords: round(byRecords),
    shardReadingsPerSecondByBytes: round(byBytes),
    shardReadingsPerSecond: round(shard),
    bindingLimit: byRecords < byBytes ? 'records' : 'bytes',
    byteLimitUtilisation: round((shard * bytesPerReading) / SHARD_LIMITS.bytesPerSecond, 3),
    lineBytesPerReading: round(data.bytes / data.lines),
    usefulByteLimitUtilisation: round((shard * (data.bytes / data.lines)) / SHARD_LIMITS.bytesPerSecond, 3),
    elapsedMs: round(elapsedMs),
  };
}

/**
 * Runs section 2: the three modes over the same data set.
 *
 * @example
 * const { modes } = await runProducerEfficiency(buildDataset(MAIN_DATASET));
 */
export async function runProducerEfficiency(data: Dataset, options: { log?: (line: string) => void } = {}): Promise<ProducerEfficiencyResult> {
  const log = options.log ?? (() => undefined);
  // The default budget, from the shared configuration (what `wellwatch push` uses), ignoring the environment.
  const recordBytes = loadConfig({}, {}).producerRecordBytes;
  const modes: ProducerModeResult[] = [];
  for (const [mode, format, extra] of [
    ['kpl', 'kpl', {}],
    ['lines', 'lines', {}],
    ['one-per-record', 'lines', { maxOpenBytes: 1 }],
  ] as const) {
    const result = await runMode(data, mode, format, extra, recordBytes);
    log(`  producer ${mode}: ${result.records.toLocaleString('en-US')} records, ${result.readingsPerRecord} readings/record, ${Math.round(result.elapsedMs)} ms`);
    if (mode === 'one-per-record' && result.records !== result.readings) {
      throw new Error(`one-per-record produced ${result.records} records for ${result.readings} readings`);
    }
    modes.push(result);
  }
  return { recordBytesBudget: recordBytes, modes };
}
