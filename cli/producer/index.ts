/**
 * The producer engine's public surface: everything `wellwatch push`, the benchmarks and the tests use.
 *
 * One job per module:
 * - types.ts — options, counters, reports, payload formats, the PutRecords seam, ProducerError.
 * - input.ts — input decoding: files, `.gz` and stdin as streams of lines.
 * - routing.ts — which record (and queue) a pump's readings go to: per pump, or per shard with a shard map.
 * - record-packing.ts — lines into one record within the byte budget, `kpl` or `lines`.
 * - rate-limiter.ts — the token bucket behind `--rate`.
 * - dispatch.ts — PutRecords calls, in order per queue, bounded concurrency, retries.
 * - producer.ts — the run: validation, open records, sealing, backpressure, stop and close; `produce()`.
 */
export { linesOf, openInput, type InputSource, type LineSource } from './input';
export { produce, Producer } from './producer';
export {
  PAYLOAD_FORMATS,
  ProducerError,
  putRecordsWith,
  type FailedRecord,
  type LineOrigin,
  type PayloadFormat,
  type ProducerOptions,
  type ProducerStats,
  type PutRecordsFn,
  type RefusedLine,
} from './types';
