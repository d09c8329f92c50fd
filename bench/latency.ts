/**
 * Section 4 — latency: readings offered at a steady rate through local mode, push to stored.
 *
 * Method:
 * - Local mode is started with `startLocal` on a temporary data dir (default event-source settings: batch size 100,
 *   1 s batching window, 2 shards).
 * - 1,000 pumps each report once a second, so 1,000 readings/s with distinct keys (the readings table keys on pump,
 *   day and second). Reading k (pump k mod 1000, second ⌊k / 1000⌋) has the scheduled send time t0 + k ms: the
 *   offered schedule is the start of the clock, so any queueing in the producer counts. A timer offers every due
 *   reading to the project's {@link Producer} (KPL, `ratePerSecond` 1000, `lingerMs` 50) on schedule.
 * - Each reading's timestamp is its scheduled wall-clock second (today, UTC), so the stored item's key (`pk` = pump
 *   and day, `sk` = time of day) identifies k and thereby its scheduled time; nothing else is added to the data.
 * - "Stored" is observed at dynalite itself: a passive tap on dynalite's HTTP server (see dynamo-tap.ts) notes the
 *   moment the response to the BatchWriteItem carrying the item was handed to the socket — the first moment any
 *   reader could see it. Only the first time an item is seen counts. No polling load is added to the emulator.
 * - Latency = that moment − scheduled time; p50/p95/p99 by nearest rank over all offered readings. A reading never
 *   seen is reported as missing (and would fail the target).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocal } from '../local';
import { listOpenShards } from '../cli/shard-map';
import { pumpName } from '../lambdas/core/generator';
import { decodePayload } from '../lambdas/core/ingest';
import { kinesisClient } from '../lambdas/store/clients';
import { Producer, putRecordsWith } from '../cli/producer';
import { KEYS } from '../lambdas/config';
import { openTap, TAP_THREAD_MODULE } from './dynamo-tap';
import { summariseInvocations, timeInvocations, type InvocationSummary } from './invocations';
import { percentile, round, sleep } from './stats';

/** Options of {@link runLatency}. */
export interface LatencyOptions {
  /** Offered readings per second. @default 1000 */
  readonly rate?: number;
  /** Seconds of offered load. @default 30 */
  readonly seconds?: number;
  /** Producer linger, ms. @default 50 */
  readonly lingerMs?: number;
  readonly log?: (line: string) => void;
}

/** Result of section 4. */
export interface LatencyResult {
  readonly rate: number;
  readonly seconds: number;
  readonly pumps: number;
  readonly lingerMs: number;
  readonly offered: number;
  readonly stored: number;
  readonly missing: number;
  /** Offered readings per second actually achieved by the source (offered / time from first to last offer). */
  readonly achievedOfferRate: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly kinesisRecords: number;
  readonly readingsPerRecord: number;
  /** Mean data + partition key bytes per Kinesis record. */
  readonly bytesPerRecord: number;
  /**
   * Where the time goes (diagnostic; p50/p99 per stage, ms): scheduled → accepted by Kinesis (linger, pacing,
   * PutRecords; Kinesis' arrival timestamp), → its consumer invocation started (polling, batching window/size,
   * waiting for the shard's previous batch), → stored.
   */
  readonly stages: Record<'producerToKinesis' | 'kinesisToInvoke' | 'invokeToStored', { readonly p50: number; readonly p99: number }>;
  /**
   * Share of the run the process' event loop was busy. Local mode runs producer, emulators, event source and
   * handler on this one thread, so a value near 1 means the latency is queueing for the CPU.
   */
  readonly eventLoopUtilisation: number;
  readonly invocations: InvocationSummary;
  /** Consumer wall time per reading, ms (total handler time / readings). */
  readonly handlerMsPerReading: number;
  /** Readings per invocation. */
  readonly readingsPerInvocation: number;
}

const DAY_MS = 86_400_000;

/**
 * Runs section 4.
 *
 * @example
 * const { p99Ms } = await runLatency({ rate: 1000, seconds: 30 });
 */
export async function runLatency(options: LatencyOptions = {}): Promise<LatencyResult> {
  const rate = options.rate ?? 1000;
  const seconds = options.seconds ?? 30;
  const lingerMs = options.lingerMs ?? 50;
  const log = options.log ?? (() => undefined);
  const pumps = rate; // one reading per pump per second: distinct keys at second resolution
  const total = rate * seconds;
  const names = Array.from({ length: pumps }, (_, i) => pumpName(i));
  const pumpIndex = new Map(names.map((n, i) => [n, i]));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-bench-latency-'));
  const localLog: string[] = [];
  const runtime = await startLocal({ dataDir: dir, port: 0, schedule: false, log: (line) => localLog.push(line), notify: (line) => localLog.push(line), emulatorPreload: [TAP_THREAD_MODULE] });
  const kinesis = kinesisClient(runtime.config);
  try {
    // Wall-clock second of reading 0: the next whole second, at least 1 s from now (start-up settles first).
    const wall0 = Math.ceil((Date.now() + 1000) / 1000) * 1000;
    const secondKeys = new Map<string, number>();
    const stamp: { day: string; time: string }[] = [];
    for (let s = 0; s < seconds; s++) {
      const iso = new Date(wall0 + s * 1000).toISOString();
      const day = iso.slice(0, 10);
      const time = iso.slice(11, 19);
      stamp.push({ day, time });
      secondKeys.set(`${day}|${time}`, s);
    }
    if (wall0 % DAY_MS > DAY_MS - (seconds + 5) * 1000) log('  latency: the run crosses midnight UTC; late-day markers may add writes');

    const visible = new Float64Array(total).fill(NaN);
    const intervalMs = 1000 / rate;
    // performance.now() at the scheduled instant of reading 0, aligned with wall0.
    const t0 = performance.now() + (wall0 - Date.now());
    const tap = await openTap(runtime, {
      onStored: (table, items, at) => {
        if (table !== runtime.config.readingsTable) return;
        for (const item of items) {
          const pk = (item[KEYS.partitionKey] as { S: string } | undefined)?.S ?? '';
          const sk = (item[KEYS.sortKey] as { S: string } | undefined)?.S ?? '';
          const hash = pk.lastIndexOf(KEYS.separator);
          const p = pumpIndex.get(pk.slice(0, hash));
          const s = secondKeys.get(`${pk.slice(hash + 1)}|${sk}`);
          if (p === undefined || s === undefined) continue;
          const k = s * rate + p;
          if (Number.isNaN(visible[k]!)) visible[k] = at;
        }
      },
    });
    // Stage breakdown (diagnostic): per reading, when Kinesis accepted it and when its invocation started.
    const arrived = new Float64Array(total).fill(NaN);
    const invoked = new Float64Array(total).fill(NaN);
    const epochToPerf = performance.now() - Date.now();
    const invocations = timeInvocations(runtime.runner, (event, startedMs) => {
      for (const record of event.Records) {
        const arrival = record.kinesis.approximateArrivalTimestamp * 1000 + epochToPerf;
        for (const line of decodePayload(Buffer.from(record.kinesis.data, 'base64'))) {
          const f = line.split(',');
          const p = pumpIndex.get(f[0]!);
          const s = secondKeys.get(`${f[1]}|${f[2]}`);
          if (p === undefined || s === undefined) continue;
          const k = s * rate + p;
          if (Number.isNaN(arrived[k]!)) {
            arrived[k] = arrival;
            invoked[k] = startedMs;
          }
        }
      }
    });
    // Packed per shard, as `wellwatch push` does by default.
    const shards = await listOpenShards(kinesis, runtime.config.streamName);
    const producer = new Producer({
      streamName: runtime.config.streamName,
      putRecords: putRecordsWith(kinesis),
      format: 'kpl',
      shards,
      lingerMs,
      ratePerSecond: rate,
    });

    // Offer readings on schedule: every few ms, everything due so far.
    let next = 0;
    let firstOffer = NaN;
    let lastOffer = NaN;
    while (performance.now() < t0) await sleep(Math.max(1, t0 - performance.now()));
    const eluStart = performance.eventLoopUtilization();
    while (next < total) {
      const due = Math.min(total, Math.floor((performance.now() - t0) / intervalMs) + 1);
      while (next < due) {
        const p = next % rate;
        const s = Math.floor(next / rate);
        const psi = next % 37 === 0 ? 3 : 40 + (next % 50);
        const line = `${names[p]},${stamp[s]!.day},${stamp[s]!.time},9.87,3.21,${1000 + (next % 900)},1.52,${psi},1.12`;
        if (Number.isNaN(firstOffer)) firstOffer = performance.now();
        const wait = producer.add(line, 'latency', next + 1);
        next++;
        if (wait) await wait;
      }
      lastOffer = performance.now();
      if (next < total) await sleep(Math.max(1, t0 + next * intervalMs - performance.now()));
    }
    const stats = await producer.close();
    await runtime.waitForIdle({ timeoutMs: 120_000 });
    const elu = performance.eventLoopUtilization(eluStart).utilization;
    // Let the last answers reach the tap.
    await sleep(200);
    await tap.close();

    const latencies: number[] = [];
    let missing = 0;
    for (let k = 0; k < total; k++) {
      const v = visible[k]!;
      if (Number.isNaN(v)) missing++;
      else latencies.push(v - (t0 + k * intervalMs));
    }
    latencies.sort((a, b) => a - b);
    const stage = (from: (k: number) => number, to: (k: number) => number): { p50: number; p99: number } => {
      const values: number[] = [];
      for (let k = 0; k < total; k++) {
        const v = to(k) - from(k);
        if (!Number.isNaN(v)) values.push(v);
      }
      values.sort((a, b) => a - b);
      return { p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) };
    };
    const scheduled = (k: number) => t0 + k * intervalMs;
    const stages = {
      producerToKinesis: stage(scheduled, (k) => arrived[k]!),
      kinesisToInvoke: stage((k) => arrived[k]!, (k) => invoked[k]!),
      invokeToStored: stage((k) => invoked[k]!, (k) => visible[k]!),
    };
    const inv = summariseInvocations(invocations);
    const readingsSeen = latencies.length;
    log(`  latency: ${readingsSeen.toLocaleString('en-US')} stored, ${missing} missing, p50 ${Math.round(percentile(latencies, 50))} ms, p99 ${Math.round(percentile(latencies, 99))} ms`);
    return {
      rate,
      seconds,
      pumps,
      lingerMs,
      offered: total,
      stored: readingsSeen,
      missing,
      achievedOfferRate: round(((total - 1) / (lastOffer - firstOffer)) * 1000),
      p50Ms: round(percentile(latencies, 50)),
      p95Ms: round(percentile(latencies, 95)),
      p99Ms: round(percentile(latencies, 99)),
      maxMs: round(latencies[latencies.length - 1] ?? NaN),
      kinesisRecords: stats.records,
      readingsPerRecord: round(stats.sent / stats.records),
      bytesPerRecord: round(stats.bytesSent / stats.records),
      stages,
      eventLoopUtilisation: round(elu, 3),
      invocations: inv,
      handlerMsPerReading: round(inv.totalHandlerMs / Math.max(1, stats.sent)),
      readingsPerInvocation: round(stats.sent / Math.max(1, inv.invocations)),
    };
  } finally {
    kinesis.destroy();
    await runtime.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    const errorsLogged = localLog.filter((l) => /error|failed/i.test(l));
    if (errorsLogged.length > 0) log(`  latency: local mode reported: ${errorsLogged.slice(0, 3).join(' | ')}`);
  }
}

