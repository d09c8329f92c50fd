/**
 * One shard's throughput in the sizing model: how the producer packs a shard's readings into records, and how fast
 * the shard's single consumer works through full batches.
 *
 * Pure; constants from `lambdas/config.ts`. Used by the sizing model (sizing.ts) and the benchmark's check of it.
 */
import { LIMITS, PRODUCER_LINGER_MS, SERVICE_LIMITS, SIZING } from '../config';

/** The measured figures a shard's throughput depends on (SIZING's by default). */
export interface ShardFigures {
  /** Bytes a reading takes in a KPL record. */
  readonly bytesPerReading: number;
  /** Consumer wall time per reading, ms. */
  readonly consumerMsPerReading: number;
}

/**
 * Readings per record the producer packs for one shard receiving `shardReadingsPerSecond`: a record is sealed
 * when full (the byte budget) or `PRODUCER_LINGER_MS` after its first reading, whichever comes first.
 *
 * @example
 * readingsPerRecord(2_083, 65_536); // → 416.7: a live shard's record is sealed by the 200 ms linger
 */
export function readingsPerRecord(shardReadingsPerSecond: number, recordBytes: number, bytesPerReading: number = SIZING.bytesPerReading, lingerMs: number = PRODUCER_LINGER_MS): number {
  const full = Math.max(1, Math.floor(recordBytes / bytesPerReading));
  const lingered = Math.max(1, shardReadingsPerSecond * (lingerMs / 1000));
  return Math.min(full, lingered);
}

/**
 * Models one shard's consumer with full batches: records per batch (batch size, bounded by Lambda's 6 MB payload),
 * the invocation's time (measured consumer time per reading, plus DynamoDB's latency for each round of
 * `writeConcurrency` BatchWriteItem calls), and the readings/s that gives.
 *
 * @example
 * shardConsumer(416.7, 100, 8).readingsPerSecond; // → ~3,200
 */
export function shardConsumer(
  rpr: number,
  batchSize: number,
  writeConcurrency: number,
  a: ShardFigures = SIZING,
): { records: number; readings: number; invocationMs: number; readingsPerSecond: number } {
  const recordBytes = rpr * a.bytesPerReading;
  const byPayload = Math.floor(SERVICE_LIMITS.lambdaInvokePayloadBytes / ((recordBytes * 4) / 3 + SERVICE_LIMITS.lambdaEventRecordOverheadBytes));
  const records = Math.max(1, Math.min(batchSize, byPayload));
  const readings = records * rpr;
  const rounds = Math.ceil(readings / (LIMITS.batchWriteItems * writeConcurrency));
  const invocationMs = readings * a.consumerMsPerReading + rounds * SIZING.dynamoBatchWriteLatencyMs;
  return { records, readings, invocationMs, readingsPerSecond: (readings / invocationMs) * 1000 };
}
