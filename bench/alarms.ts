/**
 * Alarm layer bench (issue 9): what alarms add to the cost of a live feed, and how fast a notification follows the
 * reading that caused it. Run on its own: `npm run bench:alarms` (`-- --json` for JSON); not part of `npm run bench`.
 *
 * Cost — a live feed of 10,000 pumps reporting once a minute, modelled with 1,000 pumps (per-pump behaviour and the
 * batch composition of the 10,000-pump feed are kept, so every count per reading is the same): 2 shards polled once a
 * second, so a batch holds 10,000 / 60 / 2 ≈ 83 readings. Pumps fail like the generator's (3 failures per pump-week,
 * 30–180 minutes of psi 0). The real alarm step and the real alarm check (every 5 simulated minutes) run against
 * dynalite; every DynamoDB request and SNS publish is counted at the client and billed with DynamoDB's rules (write
 * units per started KB of item, +1 per GSI the item is written to — counted for every state write, an upper bound;
 * strongly consistent reads per started 4 KB, eventually consistent half). The first simulated hour warms the
 * containers' caches; the second hour is measured (steady state). The extra consumer time is measured too, with
 * dynalite's latency in it (an upper bound of Lambda duration).
 *
 * Latency — local mode at 1,000 readings/s (1,000 pumps, one reading per second each) for 30 s; after 10 s of warm-up,
 * 50 pumps drop to psi 0 at known seconds. Latency = time the `raised` notification reached local mode's notification sink − the
 * offending reading's scheduled send time; p50/p99 by nearest rank.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createAlarmCheckHandler } from '../lambdas/alarms/handler';
import { createAlarmStep } from '../lambdas/consumer/alarm-step';
import { EARLY_WARNING, loadConfig } from '../lambdas/config';
import { createEarlyWarningSource } from '../lambdas/consumer/early-warning-source';
import { alarmRuleOf, thresholdSource } from '../lambdas/core/alarm-rules';
import { createDetectorStore } from '../lambdas/store/detector-store';
import { pumpBucket } from '../lambdas/core/alarm-keys';
import { mulberry32, pumpName } from '../lambdas/core/generator';
import type { Reading } from '../lambdas/core/types';
import { createAlarmStore } from '../lambdas/store/alarm-store';
import { dynamoClient } from '../lambdas/store/clients';
import { ensureTables } from '../lambdas/store/tables';
import { startLocal } from '../local';
import { listOpenShards } from '../cli/shard-map';
import { Producer, putRecordsWith } from '../cli/producer';
import { kinesisClient } from '../lambdas/store/clients';
import { PRICES } from './cost-model';
import { decodePayload } from '../lambdas/core/ingest';
import { summariseInvocations, timeInvocations } from './invocations';
import { percentile, round, sleep } from './stats';

/** Request counts and billed units, by what they were for. */
interface Counted {
  requests: Record<string, number>;
  wru: number;
  rru: number;
  publishes: number;
  /** Early-warning detector checkpoints (PutItem of `D#detectors`) and the write units they were billed. */
  checkpointPuts: number;
  checkpointWru: number;
}

function itemBytes(item: unknown): number {
  // DynamoDB bills attribute names plus values; JSON of the wire shape is a close, slightly high approximation.
  return Buffer.byteLength(JSON.stringify(item ?? {}));
}

/** Wraps `client.send` to count requests and the units DynamoDB would bill for them. */
function countingClient(client: DynamoDBClient, counted: Counted): void {
  const send = client.send.bind(client) as (c: any) => Promise<any>;
  (client as unknown as { send: (c: any) => Promise<any> }).send = async (command: any) => {
    const name: string = command.constructor.name.replace(/Command$/, '');
    counted.requests[name] = (counted.requests[name] ?? 0) + 1;
    const out = await send(command);
    const input = command.input;
    switch (name) {
      case 'PutItem': {
        const units = Math.ceil(itemBytes(input.Item) / 1024);
        // State items: +1 for the keys-only openAlarms entry (written, updated or removed — counted on every state
        // write, an upper bound). Archived alarms: the alarmHistory index holds a full copy.
        counted.wru += units + (input.Item?.st ? 1 : 0) + (input.Item?.hb ? units : 0);
        if (input.Item?.sk?.S === EARLY_WARNING.checkpointSort) {
          counted.checkpointPuts++;
          counted.checkpointWru += units;
        }
        break;
      }
      case 'UpdateItem':
      case 'DeleteItem':
        counted.wru += 1;
        break;
      case 'GetItem':
        counted.rru += Math.max(1, Math.ceil(itemBytes(out.Item) / 4096)) * (input.ConsistentRead ? 1 : 0.5);
        break;
      case 'BatchGetItem':
        for (const items of Object.values(out.Responses ?? {}) as unknown[][]) for (const i of items) counted.rru += Math.max(1, Math.ceil(itemBytes(i) / 4096));
        break;
      case 'Query': {
        const bytes = (out.Items ?? []).reduce((n: number, i: unknown) => n + itemBytes(i), 0);
        counted.rru += Math.max(1, Math.ceil(bytes / 4096)) * (input.ConsistentRead ? 1 : 0.5);
        break;
      }
    }
    return out;
  };
}

/** Result of the cost part. */
export interface AlarmCostResult {
  readonly modelledPumps: number;
  readonly scaledFrom: number;
  readonly readingsMeasured: number;
  readonly offendingShare: number;
  readonly alarmsRaised: number;
  readonly perMillion: { readonly wru: number; readonly rru: number; readonly publishes: number; readonly requests: Record<string, number> };
  readonly usdPerMillion: { readonly dynamodbWrites: number; readonly dynamodbReads: number; readonly sns: number; readonly lambda: number; readonly total: number };
  readonly baselineUsdPerMillion: number;
  readonly deltaPercent: number;
  readonly consumerMsPerReading: number;
  /**
   * The early-warning detectors' checkpoints (issue 10), amortised: one per pump every `checkpointReadings` accepted
   * readings, priced from the write units of the checkpoints this run wrote (every pump's first one is written at
   * the end of its first batch, so the run writes one per pump even though the measured hour holds fewer than
   * `checkpointReadings` readings a pump). Their CPU time is in `consumerMsPerReading` (the detectors run in the step).
   */
  readonly detectorCheckpoints: {
    readonly written: number;
    readonly wruPerCheckpoint: number;
    readonly checkpointReadings: number;
    readonly wruPerMillion: number;
    readonly usdPerMillion: number;
    readonly deltaPercent: number;
  };
}

/**
 * Runs the cost part (see the module comment).
 *
 * @example
 * const cost = await runAlarmCost();
 */
export async function runAlarmCost(options: { pumps?: number; log?: (l: string) => void } = {}): Promise<AlarmCostResult> {
  const pumps = options.pumps ?? 1000;
  const log = options.log ?? (() => undefined);
  const fleet = 10_000;
  const perBatch = Math.round(fleet / 60 / 2);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (o: Record<string, unknown>) => import('node:http').Server;
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as import('node:net').AddressInfo).port;
  const cfg = loadConfig({ endpoints: { dynamodb: `http://127.0.0.1:${port}` } }, {});
  const client = dynamoClient(cfg);
  await ensureTables(client, cfg);
  const counted: Counted = { requests: {}, wru: 0, rru: 0, publishes: 0, checkpointPuts: 0, checkpointWru: 0 };
  countingClient(client, counted);
  const store = createAlarmStore(client, cfg);
  const notifier = { description: 'count', publish: async () => void counted.publishes++ };
  // The consumer's sources: the threshold rules and the early-warning detectors (as handler.ts builds them).
  const step = createAlarmStep(cfg, store, notifier, [thresholdSource(cfg.alertRules.map(alarmRuleOf)), createEarlyWarningSource(cfg, createDetectorStore(client, cfg))]);
  try {
    const rng = mulberry32(20261130);
    const names = Array.from({ length: pumps }, (_, i) => pumpName(i));
    const offset = names.map(() => Math.floor(rng() * 60));
    const failedUntil = new Float64Array(pumps);
    const failureProbability = 3 / (7 * 1440);
    const t0 = Date.parse('2026-11-30T00:00:00Z');
    const minutes = 120;
    let measured = 0;
    let offending = 0;
    let handlerMs = 0;
    let raised = 0;
    let snapshot: Counted | undefined;
    const check = createAlarmCheckHandler(cfg, { dynamo: client, store, notifier, clock: () => new Date(simNow), metricsSink: () => undefined, log: () => undefined });
    let simNow = t0;
    for (let m = 0; m < minutes; m++) {
      if (m === 60) snapshot = { ...counted, requests: { ...counted.requests } };
      // This minute's readings in time order, split by shard (bucket parity), cut into batches of the live feed's size.
      const minute: { r: Reading; shard: number; at: number }[] = [];
      for (let p = 0; p < pumps; p++) {
        if (failedUntil[p]! <= m && rng() < failureProbability) failedUntil[p] = m + 30 + Math.floor(rng() * 151);
        const at = t0 + m * 60_000 + offset[p]! * 1000;
        const ts = new Date(at).toISOString().replace(/\.\d+Z$/, 'Z');
        const psi = failedUntil[p]! > m ? 0 : 60 + rng() * 20;
        if (m >= 60) {
          measured++;
          if (psi < 5) offending++;
        }
        minute.push({ r: { pump: names[p]!, day: ts.slice(0, 10), time: ts.slice(11, 19), ts, values: { hz: 10, disp: 2, flo: 1000, sedPPM: 1, psi, chlPPM: 1 } }, shard: pumpBucket(names[p]!, 2), at });
      }
      minute.sort((a, b) => a.at - b.at);
      for (const shard of [0, 1]) {
        const mine = minute.filter((x) => x.shard === shard);
        for (let i = 0; i < mine.length; i += perBatch) {
          const batch = mine.slice(i, i + perBatch);
          simNow = batch[batch.length - 1]!.at + 1000;
          const started = performance.now();
          const result = await step.run(batch.map((x) => x.r), { shardId: `shardId-00000000000${shard}`, now: new Date(simNow) });
          if (m >= 60) handlerMs += performance.now() - started;
          raised += result.transitions;
        }
      }
      if (m % 5 === 4) {
        simNow = t0 + (m + 1) * 60_000;
        await check();
      }
    }
    const base = snapshot!;
    const delta = (a: number, b: number) => a - b;
    const perM = 1e6 / measured;
    const requests: Record<string, number> = {};
    for (const [k, v] of Object.entries(counted.requests)) requests[k] = round((v - (base.requests[k] ?? 0)) * perM, 1);
    const wru = delta(counted.wru, base.wru) * perM;
    const rru = delta(counted.rru, base.rru) * perM;
    const publishes = delta(counted.publishes, base.publishes) * perM;
    const consumerMsPerReading = handlerMs / measured;
    // Lambda: consumer duration added (512 MB arm64) and the check's 12 runs an hour at the fleet's size.
    const lambdaUsd = ((consumerMsPerReading * 1e6) / 1000) * 0.5 * PRICES.lambda.gbSecondArm64;
    const usd = {
      dynamodbWrites: round((wru / 1e6) * PRICES.dynamodb.writeRequestUnitsPerMillion, 5),
      dynamodbReads: round((rru / 1e6) * PRICES.dynamodb.readRequestUnitsPerMillion, 5),
      sns: round((publishes / 1e6) * 0.5, 5),
      lambda: round(lambdaUsd, 5),
      total: 0,
    };
    usd.total = round(usd.dynamodbWrites + usd.dynamodbReads + usd.sns + usd.lambda, 5);
    const baseline = liveFeedBaseline(fleet);
    const wruPerCheckpoint = counted.checkpointPuts > 0 ? counted.checkpointWru / counted.checkpointPuts : 0;
    const checkpointWruPerMillion = (wruPerCheckpoint * 1e6) / EARLY_WARNING.checkpointReadings;
    const checkpointUsd = (checkpointWruPerMillion / 1e6) * PRICES.dynamodb.writeRequestUnitsPerMillion;
    log(`  detector checkpoints: ${counted.checkpointPuts} written, ${round(wruPerCheckpoint, 2)} WRU each, +$${checkpointUsd.toFixed(5)} per million readings`);
    log(`  alarms cost: +$${usd.total.toFixed(4)} per million readings on $${baseline.toFixed(4)} (${((usd.total / baseline) * 100).toFixed(1)} %)`);
    return {
      modelledPumps: pumps,
      scaledFrom: fleet,
      readingsMeasured: measured,
      offendingShare: round(offending / measured, 4),
      alarmsRaised: raised,
      perMillion: { wru: round(wru), rru: round(rru), publishes: round(publishes, 1), requests },
      usdPerMillion: usd,
      baselineUsdPerMillion: round(baseline, 4),
      deltaPercent: round((usd.total / baseline) * 100, 2),
      consumerMsPerReading: round(consumerMsPerReading, 4),
      detectorCheckpoints: {
        written: counted.checkpointPuts,
        wruPerCheckpoint: round(wruPerCheckpoint, 2),
        checkpointReadings: EARLY_WARNING.checkpointReadings,
        wruPerMillion: round(checkpointWruPerMillion, 1),
        usdPerMillion: round(checkpointUsd, 5),
        deltaPercent: round((checkpointUsd / baseline) * 100, 3),
      },
    };
  } finally {
    client.destroy();
    server.close();
  }
}

/**
 * The cost per million readings of the live feed without alarms: the last saved bench run's live-feed scenario
 * (section 5, priced at 20,000 readings/s), with its shard-hours re-priced for `fleet` pumps at one reading a minute
 * on the stack's 2 shards.
 */
function liveFeedBaseline(fleet: number): number {
  const dir = path.join(__dirname, 'results');
  const latest = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().pop()!;
  const saved = JSON.parse(fs.readFileSync(path.join(dir, latest), 'utf8'));
  const scenario = saved.cost.scenarios.find((s: { name: string }) => s.name.includes('live'));
  const shardLine = scenario.lines.find((l: { item: string }) => l.item.startsWith('Kinesis shard-hours'));
  const hoursPerMillion = 1e6 / ((fleet / 60) * 3600);
  return scenario.totalProvisionedUsd - shardLine.usd + 2 * hoursPerMillion * PRICES.kinesis.shardHour;
}

/** Result of the latency part. */
export interface AlarmLatencyResult {
  readonly rate: number;
  readonly seconds: number;
  readonly alarms: number;
  readonly notified: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The part inside the consumer: start of the invocation carrying the offending reading → notification. */
  readonly invokeToNotifiedP50Ms: number;
  readonly invokeToNotifiedP99Ms: number;
}

/**
 * Runs the latency part (see the module comment).
 *
 * @example
 * const latency = await runAlarmLatency();
 */
export async function runAlarmLatency(options: { rate?: number; seconds?: number; log?: (l: string) => void } = {}): Promise<AlarmLatencyResult> {
  const rate = options.rate ?? 1000;
  const seconds = options.seconds ?? 30;
  const log = options.log ?? (() => undefined);
  const names = Array.from({ length: rate }, (_, i) => pumpName(i));
  const failing = 50;
  // Pump p < failing goes to psi 0 at second 10 + (p % 15) and stays there: the first 10 s warm the containers'
  // caches and write every new pump's last-seen (a new fleet's one-off cost), so the failures meet the steady state.
  const failsAt = (p: number) => (p < failing ? 10 + (p % 15) : Infinity);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-bench-alarms-'));
  const notifiedAt = new Map<string, number>();
  const runtime = await startLocal({
    dataDir: dir,
    port: 0,
    schedule: false,
    memory: true,
    log: () => undefined,
    notify: (line) => {
      const m = /raised: (\S+) low-psi/.exec(line);
      if (m && !notifiedAt.has(m[1]!)) notifiedAt.set(m[1]!, performance.now());
    },
  });
  const kinesis = kinesisClient(runtime.config);
  // When the invocation carrying each failing pump's first offending reading started (to split the latency).
  const invokedAt = new Map<string, number>();
  const invocations = timeInvocations(runtime.runner, (event, startedMs) => {
    for (const record of event.Records) {
      for (const line of decodePayload(Buffer.from(record.kinesis.data, 'base64'))) {
        const [pump, , , , , , , psi] = line.split(',');
        if (psi === '0' && !invokedAt.has(pump!)) invokedAt.set(pump!, startedMs);
      }
    }
  });
  try {
    const shards = await listOpenShards(kinesis, runtime.config.streamName);
    const producer = new Producer({ streamName: runtime.config.streamName, putRecords: putRecordsWith(kinesis), format: 'kpl', shards, lingerMs: 50, ratePerSecond: rate });
    const wall0 = Math.ceil((Date.now() + 1000) / 1000) * 1000;
    const t0 = performance.now() + (wall0 - Date.now());
    const intervalMs = 1000 / rate;
    const scheduled = new Map<string, number>();
    let next = 0;
    const total = rate * seconds;
    while (performance.now() < t0) await sleep(Math.max(1, t0 - performance.now()));
    while (next < total) {
      const due = Math.min(total, Math.floor((performance.now() - t0) / intervalMs) + 1);
      while (next < due) {
        const p = next % rate;
        const s = Math.floor(next / rate);
        const iso = new Date(wall0 + s * 1000).toISOString();
        const offending = s >= failsAt(p);
        if (offending && s === failsAt(p)) scheduled.set(names[p]!, t0 + next * intervalMs);
        const line = `${names[p]},${iso.slice(0, 10)},${iso.slice(11, 19)},9.87,3.21,1200,1.52,${offending ? 0 : 60},1.12`;
        const wait = producer.add(line, 'alarms', next + 1);
        next++;
        if (wait) await wait;
      }
      if (next < total) await sleep(Math.max(1, t0 + next * intervalMs - performance.now()));
    }
    await producer.close();
    await runtime.waitForIdle({ timeoutMs: 120_000 });
    await sleep(200);
    const latencies: number[] = [];
    const inHandler: number[] = [];
    for (const [pump, at] of scheduled) {
      const seen = notifiedAt.get(pump);
      if (seen !== undefined) latencies.push(seen - at);
      const invoked = invokedAt.get(pump);
      if (seen !== undefined && invoked !== undefined) inHandler.push(seen - invoked);
    }
    latencies.sort((a, b) => a - b);
    inHandler.sort((a, b) => a - b);
    log(`  alarms latency: invocation start -> notification p50 ${Math.round(percentile(inHandler, 50))} ms, p99 ${Math.round(percentile(inHandler, 99))} ms`);
    log(`  alarms latency: invocations ${JSON.stringify(summariseInvocations(invocations))}; first durations ${invocations.durationsMs.slice(0, 12).map(Math.round).join(' ')}`);
    log(`  alarms latency: ${latencies.length}/${scheduled.size} notified, p50 ${Math.round(percentile(latencies, 50))} ms, p99 ${Math.round(percentile(latencies, 99))} ms`);
    return {
      rate,
      seconds,
      alarms: scheduled.size,
      notified: latencies.length,
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      maxMs: round(latencies[latencies.length - 1] ?? NaN),
      invokeToNotifiedP50Ms: round(percentile(inHandler, 50)),
      invokeToNotifiedP99Ms: round(percentile(inHandler, 99)),
    };
  } finally {
    kinesis.destroy();
    await runtime.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, only: { type: 'string' } } });
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const cost = values.only === 'latency' ? undefined : await runAlarmCost({ log });
  const latency = values.only === 'cost' ? undefined : await runAlarmLatency({ log });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ cost, latency }, null, 2)}\n`);
    return;
  }
  if (cost) {
    process.stdout.write(
      [
        `Alarm layer cost, live feed of ${cost.scaledFrom.toLocaleString('en-US')} pumps at 1/min (modelled with ${cost.modelledPumps}; ${cost.readingsMeasured.toLocaleString('en-US')} readings measured, ${(cost.offendingShare * 100).toFixed(2)} % offending)`,
        `  per million readings: ${cost.perMillion.wru.toLocaleString('en-US')} WRU, ${cost.perMillion.rru.toLocaleString('en-US')} RRU, ${cost.perMillion.publishes} SNS publishes; requests ${JSON.stringify(cost.perMillion.requests)}`,
        `  $ per million: writes ${cost.usdPerMillion.dynamodbWrites}, reads ${cost.usdPerMillion.dynamodbReads}, SNS ${cost.usdPerMillion.sns}, Lambda ${cost.usdPerMillion.lambda} = +$${cost.usdPerMillion.total}`,
        `  on a baseline of $${cost.baselineUsdPerMillion}: +${cost.deltaPercent} % (goal <= 10 %: ${cost.deltaPercent <= 10 ? 'met' : 'MISSED'})`,
        `  early-warning checkpoints (one per pump every ${cost.detectorCheckpoints.checkpointReadings} readings, ${cost.detectorCheckpoints.wruPerCheckpoint} WRU each): ${cost.detectorCheckpoints.wruPerMillion} WRU = +$${cost.detectorCheckpoints.usdPerMillion} per million readings, +${cost.detectorCheckpoints.deltaPercent} % (goal <= 10 %: ${cost.detectorCheckpoints.deltaPercent <= 10 ? 'met' : 'MISSED'}); detectors' CPU is in the Lambda figure above`,
        '',
      ].join('\n'),
    );
  }
  if (latency) {
    process.stdout.write(
      `Alarm latency, offending reading -> notification at ${latency.rate} readings/s for ${latency.seconds} s: ${latency.notified}/${latency.alarms} notified, p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms, max ${latency.maxMs} ms (goal p99 <= 1 s: ${latency.p99Ms <= 1000 ? 'met' : 'MISSED'})\n`,
    );
  }
}

if (require.main === module || process.argv[1] === __filename) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
