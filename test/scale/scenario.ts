/**
 * The scale scenario: a simulated fleet through local mode (Kinesis → event-source runner → consumer → partition-
 * limit proxy → dynalite) across a midnight and through an alert storm, reporting throttling per key and the
 * consumer's lag.
 *
 * Equivalence: `pumps` pumps against DynamoDB's per-key limits divided by `factor` stand for `pumps × factor` pumps
 * against the real limits. The fleet reports at the real interval and the run takes real time, so every per-key
 * rate relative to its limit — the day markers in the minute after midnight, the alerts of a storm — is the full
 * fleet's. The handlers run on a simulated clock (local mode's `clock`) that starts shortly before a midnight.
 *
 * The consumers start warm: one reading of every pump in the minute before the feed goes through unmetered, so
 * the pump registry and the day's markers are written and cached, as in a deployment that has been running (a cold
 * start at this size would hammer the same keys as the midnight does).
 *
 * Lag is measured two ways: the iterator age of every invocation (start of the invocation minus the put time of the
 * last record in its batch — Lambda's IteratorAge metric: "the age of the last record in the event"), and, for
 * batches that succeed, the time from each record's put to the end of the invocation that stored it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { kinesisClient } from '../../lambdas/store/clients';
import { forgetWrittenMarkers } from '../../lambdas/store/catalog-store';
import { loadPartitionLimits } from '../../lambdas/config';
import type { KeyStats } from '../../local/partition-limits/key-meter';
import { startLocal, type RunnerCounters } from '../../local';
import { feedSecond, type FeedRecord, type FleetShape } from './fleet-feed';

/** One scale scenario. */
export interface ScaleScenario {
  readonly name: string;
  readonly pumps: number;
  /** The per-key limits are divided by this; the run stands for `pumps × factor` pumps. */
  readonly factor: number;
  /** Seconds of capacity a key's bucket holds (see PARTITION_LIMITS in config.ts). */
  readonly burstSeconds: number;
  readonly intervalSeconds: number;
  /** Simulated time of the first second of the feed, ISO (shortly before a midnight). */
  readonly simStart: string;
  readonly feedSeconds: number;
  /** The alert storm, seconds after the start: [from, to). */
  readonly storm: { readonly from: number; readonly to: number; readonly share: number };
  readonly shards: number;
  readonly linesPerRecord: number;
  /** How long the backlog may take to drain after the feed ends before the run gives up waiting. */
  readonly drainTimeoutSeconds: number;
  /** Iterator age at or below which the consumer counts as caught up. */
  readonly caughtUpMs: number;
}

/**
 * The full-size runs (`npm run scale`): 10,000 pumps against limits / 100 stand for 1,000,000 pumps, in two runs,
 * because on today's keys each event stalls the consumer for longer than a run lasts and would hide the other:
 * the midnight (from 23:59:00, 90 s into the new day) and a two-minute alert storm at noon.
 */
export const FULL_SCENARIOS: readonly ScaleScenario[] = [
  {
    name: 'midnight',
    pumps: 10_000,
    factor: 100,
    burstSeconds: 2,
    intervalSeconds: 60,
    simStart: '2026-12-01T23:59:00Z',
    feedSeconds: 150,
    storm: { from: 0, to: 0, share: 0.1 },
    shards: 2,
    linesPerRecord: 25,
    drainTimeoutSeconds: 120,
    caughtUpMs: 5_000,
  },
  {
    name: 'storm',
    pumps: 10_000,
    factor: 100,
    burstSeconds: 2,
    intervalSeconds: 60,
    simStart: '2026-12-02T12:00:00Z',
    feedSeconds: 180,
    storm: { from: 30, to: 150, share: 0.1 },
    shards: 2,
    linesPerRecord: 25,
    drainTimeoutSeconds: 120,
    caughtUpMs: 5_000,
  },
];

/**
 * The reduced run (jest): 1,500 pumps against limits / 666.7 stand for 1,000,000 pumps. From 23:59:10: a 30 s
 * storm, then the midnight and 25 s of the new day. The burst is 10 s: at 1.5 units/s per key, a second's per-key
 * count of a 1,500-pump fleet jitters ~26 (√666.7) times more than a million pumps' does, relative to its mean.
 */
export const REDUCED_SCENARIO: ScaleScenario = {
  name: 'reduced',
  pumps: 1_500,
  factor: 1_000_000 / 1_500,
  burstSeconds: 10,
  intervalSeconds: 60,
  simStart: '2026-12-01T23:59:10Z',
  feedSeconds: 75,
  storm: { from: 3, to: 33, share: 0.1 },
  shards: 2,
  linesPerRecord: 25,
  drainTimeoutSeconds: 45,
  caughtUpMs: 5_000,
};

/** Whether the feed of a scenario crosses a midnight (simulated time). */
export function crossesMidnight(s: Pick<ScaleScenario, 'simStart' | 'feedSeconds'>): boolean {
  const start = Date.parse(s.simStart);
  return Math.floor((start + s.feedSeconds * 1000 - 1) / 86_400_000) > Math.floor(start / 86_400_000);
}

/** Whether a scenario has an alert storm. */
export function hasStorm(s: Pick<ScaleScenario, 'storm'>): boolean {
  return s.storm.to > s.storm.from;
}

/** Throttling and peak load of one family of keys (e.g. every `DAY#<day>` key of the catalog). */
export interface KeyFamily {
  readonly resource: string;
  readonly pattern: string;
  readonly direction: 'read' | 'write';
  readonly keys: number;
  readonly throttledRequests: number;
  readonly consumedUnits: number;
  /** Highest units admitted on one key in one second, and that key's limit. */
  readonly peakConsumedPerSecond: number;
  /** Highest units asked for on one key in one second (admitted or throttled; retries included). */
  readonly peakDemandPerSecond: number;
  readonly limit: number;
}

/** What a run measured. */
export interface ScaleReport {
  readonly scenario: ScaleScenario;
  readonly equivalentPumps: number;
  readonly limits: { readonly writeUnitsPerSecond: number; readonly readUnitsPerSecond: number };
  readonly startedAt: string;
  readonly feed: { readonly lines: number; readonly records: number; readonly producerBehindMaxMs: number };
  readonly throttledRequests: number;
  readonly throttledByOperation: Record<string, number>;
  readonly unprocessedEntries: number;
  /** Key families, most throttled first. */
  readonly families: KeyFamily[];
  /** The most throttled keys. */
  readonly topKeys: KeyStats[];
  readonly lag: {
    readonly maxIteratorAgeMs: number;
    /** Max iterator age per phase: the minute after midnight, the storm, the rest of the feed, after the feed. */
    readonly byPhase: Record<'midnightMinute' | 'storm' | 'quiet' | 'afterFeed', number>;
    /** Max iterator age per wall-clock second of the run. */
    readonly perSecond: number[];
    readonly putToStoredMs: { readonly p50: number; readonly p99: number; readonly max: number };
    /** Seconds from the end of the last load event until the iterator age stayed at or below `caughtUpMs`; undefined: never. */
    readonly recoveredAfterSeconds: number | undefined;
    /** Seconds after the feed ended until every record was processed; undefined: not within the drain timeout. */
    readonly drainedAfterSeconds: number | undefined;
  };
  readonly runner: RunnerCounters;
}

/** The family of a partition key: pump names, days and bucket numbers replaced by placeholders. */
export function keyPattern(key: string): string {
  return key
    .replace(/\d{4}-\d{2}-\d{2}/g, '<day>')
    .replace(/^([A-Z]+#)\d+$/, '$1<n>')
    .replace(/^(DAY#<day>|<day>)#\d+$/, '$1#<b>')
    .replace(/^(?!DAY#)[A-Z][A-Z0-9]*#<day>$/, '<pump>#<day>')
    .replace(/^N#.+$/, 'N#<transition>')
    .replace(/^([A-Z]+)#[A-Z][A-Z0-9]*$/, (k, prefix: string) => (prefix === 'PENDING' || prefix === 'PUMPS' ? k : `${prefix}#<pump>`))
    .replace(/^[A-Z][A-Z0-9]+$/, (k) => (k === 'DAYS' || k === 'PENDING' ? k : '<pump>'));
}

function families(stats: readonly KeyStats[]): KeyFamily[] {
  const byFamily = new Map<string, { -readonly [K in keyof KeyFamily]: KeyFamily[K] }>();
  for (const s of stats) {
    const pattern = keyPattern(s.key);
    const id = `${s.direction}\u0000${s.resource}\u0000${pattern}`;
    const f = byFamily.get(id) ?? { resource: s.resource, pattern, direction: s.direction, keys: 0, throttledRequests: 0, consumedUnits: 0, peakConsumedPerSecond: 0, peakDemandPerSecond: 0, limit: s.limit };
    f.keys++;
    f.throttledRequests += s.throttledRequests;
    f.consumedUnits += s.consumedUnits;
    f.peakConsumedPerSecond = Math.max(f.peakConsumedPerSecond, s.peakConsumedPerSecond);
    f.peakDemandPerSecond = Math.max(f.peakDemandPerSecond, s.peakDemandPerSecond);
    byFamily.set(id, f);
  }
  return [...byFamily.values()].sort((a, b) => b.throttledRequests - a.throttledRequests || b.peakDemandPerSecond / b.limit - a.peakDemandPerSecond / a.limit);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Runs a scenario end to end and reports; local mode runs in memory in a temporary data dir, removed afterwards.
 *
 * @example
 * const report = await runScaleScenario(REDUCED_SCENARIO, { log: console.error });
 * console.table(report.families.slice(0, 5));
 */
export async function runScaleScenario(s: ScaleScenario, options: { log?: (line: string) => void } = {}): Promise<ScaleReport> {
  const log = options.log ?? (() => undefined);
  const limits = loadPartitionLimits({ factor: s.factor, burstSeconds: s.burstSeconds }, {})!;
  const simStartMs = Date.parse(s.simStart);
  let offsetMs = 0;
  forgetWrittenMarkers(); // a previous run in this process must not have warmed the marker cache
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-scale-'));
  const local = await startLocal({
    dataDir,
    memory: true,
    port: 0,
    schedule: false,
    shards: s.shards,
    partitionLimits: limits,
    clock: () => new Date(Date.now() + offsetMs),
    notify: () => undefined,
    log: (line) => log(line),
  });
  const kinesis = kinesisClient(local.config);
  const putAt = new Map<string, number>();
  const ages: { at: number; ageMs: number }[] = [];
  const storedLag: number[] = [];
  const startedAt = new Date().toISOString();
  const shape: FleetShape = { pumps: s.pumps, intervalSeconds: s.intervalSeconds, stormShare: s.storm.share, linesPerRecord: s.linesPerRecord };
  const put = async (batch: readonly FeedRecord[], onStored: (sequenceNumber: string, at: number) => void): Promise<void> => {
    for (let i = 0; i < batch.length; i += 500) {
      let entries: PutRecordsRequestEntry[] = batch.slice(i, i + 500).map((r) => ({ PartitionKey: r.partitionKey, Data: Buffer.from(r.data) }));
      for (let attempt = 0; entries.length > 0 && attempt < 5; attempt++) {
        const out = await kinesis.send(new PutRecordsCommand({ StreamName: local.config.streamName, Records: entries }));
        const now = Date.now();
        const retry: PutRecordsRequestEntry[] = [];
        out.Records!.forEach((r, j) => (r.SequenceNumber ? onStored(r.SequenceNumber, now) : retry.push(entries[j]!)));
        entries = retry;
      }
    }
  };
  try {
    // Warm-up, unmetered: one reading of every pump in the minute before the feed, so the consumers have registered
    // the pumps and written the day's markers, as in a deployment that has been running.
    const proxy = local.partitionLimits!;
    proxy.enforce(false);
    offsetMs = simStartMs - Date.now();
    for (let k = -s.intervalSeconds; k < 0; k++) await put(feedSecond(shape, new Date(simStartMs + k * 1000), false), () => undefined);
    await local.waitForIdle({ timeoutMs: 120_000 });
    proxy.enforce(true);
    log(`scale: warmed up (${s.pumps} pumps registered, day markers written); feeding ${s.feedSeconds} s from ${s.simStart}`);

    const wallStart = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    offsetMs = simStartMs - wallStart;
    const off = local.runner.onInvocation((info) => {
      const startWall = performance.timeOrigin + info.startedMs;
      const endWall = performance.timeOrigin + info.endedMs;
      const puts = info.event.Records.map((r) => putAt.get(r.kinesis.sequenceNumber)).filter((t): t is number => t !== undefined);
      if (puts.length === 0) return;
      ages.push({ at: startWall, ageMs: Math.max(0, startWall - Math.max(...puts)) });
      if (info.outcome === 'success') for (const t of puts) storedLag.push(endWall - t);
    });
    let lines = 0;
    let records = 0;
    let behindMax = 0;
    for (let k = 0; k < s.feedSeconds; k++) {
      const due = wallStart + k * 1000;
      await sleep(due - Date.now());
      behindMax = Math.max(behindMax, Date.now() - due);
      const batch = feedSecond(shape, new Date(simStartMs + k * 1000), k >= s.storm.from && k < s.storm.to);
      await put(batch, (sequenceNumber, at) => putAt.set(sequenceNumber, at));
      lines += batch.reduce((a, r) => a + r.lines, 0);
      records += batch.length;
      if (k % 30 === 29) log(`scale: ${k + 1}/${s.feedSeconds} s fed (${lines} readings), throttled so far ${Object.values(local.partitionLimits!.counters.throttledRequests).reduce((a, n) => a + n, 0)}`);
    }
    const feedEnd = Date.now();
    let drainedAfterSeconds: number | undefined;
    try {
      await local.waitForIdle({ timeoutMs: s.drainTimeoutSeconds * 1000 });
      drainedAfterSeconds = (Date.now() - feedEnd) / 1000;
    } catch {
      drainedAfterSeconds = undefined;
    }
    off();
    const runEnd = Date.now();

    // Lag per wall second and per phase.
    const seconds = Math.ceil((runEnd - wallStart) / 1000);
    const perSecond = new Array<number>(Math.max(0, seconds)).fill(0);
    for (const a of ages) {
      const i = Math.floor((a.at - wallStart) / 1000);
      if (i >= 0 && i < perSecond.length) perSecond[i] = Math.max(perSecond[i]!, a.ageMs);
    }
    const midnight = crossesMidnight(s) ? Math.round((Math.ceil(simStartMs / 86_400_000) * 86_400_000 - simStartMs) / 1000) : s.feedSeconds;
    const phaseOf = (i: number): keyof ScaleReport['lag']['byPhase'] =>
      i >= s.feedSeconds ? 'afterFeed' : i >= s.storm.from && i < s.storm.to ? 'storm' : i >= midnight && i < midnight + s.intervalSeconds ? 'midnightMinute' : 'quiet';
    const byPhase = { midnightMinute: 0, storm: 0, quiet: 0, afterFeed: 0 };
    perSecond.forEach((v, i) => (byPhase[phaseOf(i)] = Math.max(byPhase[phaseOf(i)], v)));
    const loadEnd = Math.min(s.feedSeconds, Math.max(crossesMidnight(s) ? midnight + s.intervalSeconds : 0, s.storm.to));
    let lastHigh = -1;
    perSecond.forEach((v, i) => v > s.caughtUpMs && (lastHigh = i));
    const recoveredAfterSeconds = drainedAfterSeconds === undefined ? undefined : Math.max(0, lastHigh + 1 - loadEnd);
    const sortedLag = [...storedLag].sort((a, b) => a - b);

    const stats = proxy.keyStats();
    return {
      scenario: s,
      equivalentPumps: Math.round(s.pumps * s.factor),
      limits: { writeUnitsPerSecond: limits.writeUnitsPerSecond, readUnitsPerSecond: limits.readUnitsPerSecond },
      startedAt,
      feed: { lines, records, producerBehindMaxMs: behindMax },
      throttledRequests: Object.values(proxy.counters.throttledRequests).reduce((a, n) => a + n, 0) + proxy.counters.unprocessedEntries,
      throttledByOperation: { ...proxy.counters.throttledRequests, unprocessedEntries: proxy.counters.unprocessedEntries },
      unprocessedEntries: proxy.counters.unprocessedEntries,
      families: families(stats),
      topKeys: stats.filter((k) => k.throttledRequests > 0).slice(0, 10),
      lag: {
        maxIteratorAgeMs: Math.max(0, ...perSecond),
        byPhase,
        perSecond,
        putToStoredMs: { p50: percentile(sortedLag, 50), p99: percentile(sortedLag, 99), max: sortedLag.at(-1) ?? 0 },
        recoveredAfterSeconds,
        drainedAfterSeconds,
      },
      runner: { ...local.runner.counters },
    };
  } finally {
    kinesis.destroy();
    await local.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The report as a few lines of text: key families with throttling or above half their limit, and the lag.
 *
 * @example
 * console.log(formatReport(report));
 */
export function formatReport(r: ScaleReport): string {
  const s = r.scenario;
  const out = [
    `scale ${s.name}: ${s.pumps.toLocaleString('en-US')} pumps × limits/${+s.factor.toFixed(2)} ≙ ${r.equivalentPumps.toLocaleString('en-US')} pumps; ` +
      `${r.limits.writeUnitsPerSecond.toFixed(2)} WCU/s, ${r.limits.readUnitsPerSecond.toFixed(2)} RCU/s per key (burst ${s.burstSeconds} s); ${r.feed.lines} readings in ${s.feedSeconds} s`,
    `throttled: ${r.throttledRequests} requests and batch entries (${Object.entries(r.throttledByOperation).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    'key family                                   keys  throttled  peak demand/s  peak admitted/s  limit/s',
  ];
  for (const f of r.families.filter((f) => f.throttledRequests > 0 || f.peakDemandPerSecond > f.limit / 2).slice(0, 12)) {
    out.push(
      `${`${f.direction} ${f.resource} ${f.pattern}`.padEnd(44)} ${String(f.keys).padStart(5)} ${String(f.throttledRequests).padStart(10)} ${f.peakDemandPerSecond.toFixed(1).padStart(14)} ${f.peakConsumedPerSecond.toFixed(1).padStart(16)} ${f.limit.toFixed(2).padStart(8)}`,
    );
  }
  const l = r.lag;
  out.push(
    `lag: max iterator age ${(l.maxIteratorAgeMs / 1000).toFixed(1)} s (midnight minute ${(l.byPhase.midnightMinute / 1000).toFixed(1)}, storm ${(l.byPhase.storm / 1000).toFixed(1)}, ` +
      `rest of the feed ${(l.byPhase.quiet / 1000).toFixed(1)}, after the feed ${(l.byPhase.afterFeed / 1000).toFixed(1)}); ` +
      `put→stored p50 ${(l.putToStoredMs.p50 / 1000).toFixed(1)} s, p99 ${(l.putToStoredMs.p99 / 1000).toFixed(1)} s; ` +
      `recovered ${l.recoveredAfterSeconds === undefined ? 'not within the run' : `${l.recoveredAfterSeconds} s after the last load event`}; ` +
      `drained ${l.drainedAfterSeconds === undefined ? `not within ${s.drainTimeoutSeconds} s` : `${l.drainedAfterSeconds.toFixed(1)} s after the feed`}`,
    `runner: ${r.runner.batches} invocations, ${r.runner.failures} failed, ${r.runner.retries} retries, ${r.runner.discardedRecords} records discarded`,
  );
  return out.join('\n');
}

/** Whether a fleet-wide key family was written on one key per day or sharded over buckets; 'unseen' when not written. */
export type KeyShape = 'single' | 'sharded' | 'unseen';

/**
 * The key design a run exercised, read from the keys it actually wrote: the catalog's day markers and the
 * readings' alertsByDay index entries.
 *
 * @example
 * keyDesign(report); // → { dayMarkers: 'single', alertsByDay: 'single' } on today's design
 */
export function keyDesign(r: Pick<ScaleReport, 'families'>): { dayMarkers: KeyShape; alertsByDay: KeyShape } {
  const writes = r.families.filter((f) => f.direction === 'write');
  const shape = (match: (f: KeyFamily) => boolean, single: string): KeyShape => {
    const found = writes.filter(match);
    if (found.length === 0) return 'unseen';
    return found.some((f) => f.pattern === single) ? 'single' : 'sharded';
  };
  return {
    dayMarkers: shape((f) => f.pattern.startsWith('DAY#<day>'), 'DAY#<day>'),
    alertsByDay: shape((f) => f.resource.endsWith('/alertsByDay'), '<day>'),
  };
}
