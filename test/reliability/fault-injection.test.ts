/**
 * Nothing lost, nothing duplicated: DynamoDB faults and consumer crashes against a fault-free run on the same input.
 *
 * One local mode (startLocal, in memory) holds the stream and the emulators; its own consumer is the fault-free
 * baseline. The same records are consumed twice more, by the real event-source runner and the real consumer
 * handler, into separate tables of the same dynalite:
 *
 * - faulted: the consumer's and the rollup's DynamoDB client talk to dynalite through a fault proxy that answers
 *   ≥ 10 % of calls with ProvisionedThroughputExceededException, ThrottlingException, HTTP 500/503, a dropped
 *   connection, an answer held past the client's timeout (after the write landed), or a BatchWriteItem only partly
 *   applied (`UnprocessedItems`);
 * - crashing: the handler crashes at seeded random points — before any write, during the writes (a client
 *   middleware kills the invocation before or after the k-th DynamoDB call) and after all writes — and the runner
 *   retries and bisects as Lambda does.
 *
 * local mode cannot be pointed at another DynamoDB endpoint for its consumer without changing local/, so the two
 * extra pipelines are assembled here from the same parts local/index.ts uses.
 *
 * After a pending-mode rollup of each, the full contents of readings, both alert indexes, stats (table and
 * index) and catalog must equal the baseline's exactly, and the baseline must equal what an independent reading
 * of the input says: every good line stored once, nothing else. Size: 8,000 readings by default,
 * `WELLWATCH_RELIABILITY_FULL=1` → 100,000 (`npm run test:reliability`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisStreamEvent } from 'aws-lambda';
import { loadConfig, type WellwatchConfig } from '../../lambdas/config';
import { generateReadings } from '../../lambdas/core/generator';
import { createConsumerHandler } from '../../lambdas/consumer/handler';
import { createRollupHandler, type RollupHandler } from '../../lambdas/rollup/handler';
import { dynamoClient, kinesisClient } from '../../lambdas/store/clients';
import { ensureTables } from '../../lambdas/store/tables';
import type { DeadLetter } from '../../lambdas/core/types';
import { startLocal, type LocalRuntime } from '../../local';
import { CheckpointStore } from '../../local/checkpoints';
import { EventSourceRunner, type KinesisBatchHandler } from '../../local/event-source-runner';
import { pushCommand } from '../../cli/push';
import { bufferedIO } from '../../cli/io';
import { mulberry32 } from '../../lambdas/core/generator';
import { FAULT_KINDS, realmSafeErrors, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy';
import { diffLists, snapshotTables, scanAll, type TablesSnapshot } from '../helpers/table-snapshot';
import { expectRun, type ExpectedRun } from '../helpers/seed-oracle';

const FULL = process.env.WELLWATCH_RELIABILITY_FULL === '1';
const TARGET_READINGS = FULL ? 100_000 : 8_000;
const DAYS = 2;
/** The generator writes ~960 lines per pump-day. */
const PUMPS = Math.ceil(TARGET_READINGS / (960 * DAYS));
const FAULT_RATE = 0.15;
const CRASH_RATE = { before: 0.08, during: 0.2, after: 0.08 } as const;
const IDLE_TIMEOUT_MS = FULL ? 1_500_000 : 300_000;

// Per-test limit (beforeAll sets its own): the slowest check took 30 s at load 19; the full size is 5x the readings.
jest.setTimeout(FULL ? 600_000 : 120_000);

/** One extra consumer pipeline on the local stream, writing to its own tables. */
interface Pipeline {
  readonly name: string;
  readonly config: WellwatchConfig;
  readonly runner: EventSourceRunner;
  readonly rollup: RollupHandler;
  readonly log: string[];
}

/** Crash bookkeeping of one invocation. */
interface Invocation {
  /** DynamoDB calls left before the crash (during-crashes only). */
  callsLeft: number;
  /** Crash before sending that call (true) or after its answer (false). */
  beforeSend: boolean;
  crashed: boolean;
}

const crashes = { before: 0, duringBeforeSend: 0, duringAfterWrite: 0, after: 0, invocations: 0 };
const invocation = new AsyncLocalStorage<Invocation>();

class InjectedCrash extends Error {
  constructor(where: string) {
    super(`injected crash ${where}`);
    this.name = 'InjectedCrash';
  }
}

/** Makes a DynamoDB client die with the invocation: from the armed call on, every call of a crashed invocation fails. */
function armCrashes(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const inv = invocation.getStore();
      if (inv === undefined) return next(args);
      if (inv.crashed) throw new InjectedCrash('(process already dead)');
      if (inv.callsLeft > 0 && --inv.callsLeft === 0) {
        inv.crashed = true;
        if (inv.beforeSend) {
          crashes.duringBeforeSend++;
          throw new InjectedCrash('before a DynamoDB call');
        }
        await next(args);
        crashes.duringAfterWrite++;
        throw new InjectedCrash('after a DynamoDB call landed');
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectCrash' },
  );
}

/** Wraps the consumer: crashes before it runs, during its writes (via the client), or after it finished. */
function crashingHandler(inner: KinesisBatchHandler, seed: number): KinesisBatchHandler {
  const random = mulberry32(seed);
  return async (event: KinesisStreamEvent, context) => {
    crashes.invocations++;
    const u = random();
    if (u < CRASH_RATE.before) {
      crashes.before++;
      throw new InjectedCrash('before the handler');
    }
    const during = u < CRASH_RATE.before + CRASH_RATE.during;
    // The k-th DynamoDB call, k = 1–3: even a bisected one-record batch makes two (readings, then catalog).
    const inv: Invocation = { callsLeft: during ? 1 + Math.floor(random() * 3) : 0, beforeSend: random() < 0.4, crashed: false };
    const response = await invocation.run(inv, () => inner(event, context));
    if (inv.crashed) throw new InjectedCrash('during the writes');
    if (u < CRASH_RATE.before + CRASH_RATE.during + CRASH_RATE.after) {
      crashes.after++;
      throw new InjectedCrash('after all writes');
    }
    return response;
  };
}

async function pipeline(
  runtime: LocalRuntime,
  dir: string,
  name: string,
  dynamo: { endpoint: string; client: DynamoDBClient },
  options: { batchSize?: number; wrap?: (h: KinesisBatchHandler) => KinesisBatchHandler } = {},
): Promise<Pipeline> {
  const config = loadConfig(
    {
      region: runtime.config.region,
      readingsTable: `${name}-readings`,
      statsTable: `${name}-stats`,
      catalogTable: `${name}-catalog`,
      deadLetterUrl: pathToFileURL(path.join(dir, `${name}-dead-letters.jsonl`)).href,
      endpoints: { kinesis: runtime.endpoints.kinesis, dynamodb: dynamo.endpoint },
      eventSource: { ...runtime.config.eventSource, ...(options.batchSize ? { batchSize: options.batchSize } : {}) },
    },
    {},
  );
  await ensureTables(dynamoClient(runtime.config), config);
  const log: string[] = [];
  const consumer = createConsumerHandler(config, { dynamo: dynamo.client, metricsSink: () => undefined, log: (l) => log.push(l) });
  const runner = new EventSourceRunner({
    kinesis: kinesisClient(runtime.config),
    streamName: runtime.config.streamName,
    handler: options.wrap ? options.wrap(consumer) : consumer,
    settings: config.eventSource,
    region: config.region,
    checkpoints: new CheckpointStore(),
    failedBatchesFile: path.join(dir, `${name}-failed-batches.jsonl`),
    log: (l) => log.push(l),
  });
  const rollup = createRollupHandler(config, { dynamo: dynamo.client, metricsSink: () => undefined, log: (l) => log.push(l) });
  return { name, config, runner, rollup, log };
}

/** Runs the pending rollup until it succeeds, as the hourly schedule (and Lambda's async retries) would. */
async function rollupUntilDone(rollup: RollupHandler, maxRuns = 25): Promise<number> {
  for (let run = 1; ; run++) {
    try {
      await rollup({ pending: true });
      return run;
    } catch (e) {
      if (run >= maxRuns) throw e;
    }
  }
}

function readDeadLetters(file: string): DeadLetter[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DeadLetter);
}

describe(`DynamoDB faults and consumer crashes over ${TARGET_READINGS.toLocaleString('en')} readings through local mode`, () => {
  let dir: string;
  let runtime: LocalRuntime;
  let proxy: FaultProxy;
  let faulted: Pipeline;
  let crashing: Pipeline;
  let expected: ExpectedRun;
  let lines: string[];
  let baseline: TablesSnapshot;
  let faultedSnap: TablesSnapshot;
  let crashSnap: TablesSnapshot;
  const rollupRuns: Record<string, number> = {};
  let deadLetterRedeliveries = 0;
  const started = Date.now();
  /** When each step ended, seconds from the start: printed with the figures, to show where the suite's time goes. */
  const phases: string[] = [];
  const phase = (name: string): void => {
    phases.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  const timed = async <T>(name: string, work: Promise<T>): Promise<T> => {
    const out = await work;
    phase(name);
    return out;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-faults-'));
    runtime = await startLocal({ dataDir: dir, port: 0, memory: true, schedule: false, log: () => undefined });
    proxy = await startFaultProxy({ target: runtime.endpoints.dynamodb, rate: FAULT_RATE, seed: 20140310, delayMs: 2_500 });
    // The client's request timeout is shorter than the proxy's delay, so a delayed call times out after it landed.
    const faultedDynamo = dynamoClient(loadConfig({ endpoints: { dynamodb: proxy.endpoint } }, {}), { requestTimeoutMs: 1_000 });
    realmSafeErrors(faultedDynamo);
    faulted = await pipeline(runtime, dir, 'faulted', { endpoint: proxy.endpoint, client: faultedDynamo });
    const crashDynamo = dynamoClient(runtime.config);
    armCrashes(crashDynamo);
    // Smaller batches than the default 100 records: more invocations, so more places to crash.
    crashing = await pipeline(runtime, dir, 'crashing', { endpoint: runtime.endpoints.dynamodb, client: crashDynamo }, { batchSize: 25, wrap: (h) => crashingHandler(h, 7) });
    await Promise.all([faulted.runner.start(), crashing.runner.start()]);
    phase('started');

    lines = [...generateReadings({ pumps: PUMPS, days: DAYS, seed: 11, badLineRate: 0.001 })];
    expected = expectRun(lines);
    const file = path.join(dir, 'input.csv');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    phase('generated');
    const io = bufferedIO();
    const code = await pushCommand([file, '--local', '--data-dir', dir, '--quiet', '--no-validate', '--record-bytes', '1024'], io);
    if (code !== 0) throw new Error(`push failed (${code}): ${io.errLines.join('\n')}`);

    phase('pushed');
    await Promise.all([
      timed('baseline idle', runtime.waitForIdle({ timeoutMs: IDLE_TIMEOUT_MS })),
      timed('faulted idle', faulted.runner.waitForIdle({ timeoutMs: IDLE_TIMEOUT_MS })),
      timed('crashing idle', crashing.runner.waitForIdle({ timeoutMs: IDLE_TIMEOUT_MS })),
    ]);
    // The three rollups write to their own tables, so they run at once, as three deployments' schedules would.
    [, rollupRuns.faulted, rollupRuns.crashing] = await Promise.all([
      timed('baseline rolled up', runtime.scheduler.runNow({ pending: true })),
      timed('faulted rolled up', rollupUntilDone(faulted.rollup)),
      timed('crashing rolled up', rollupUntilDone(crashing.rollup)),
    ]);
    phase('rolled up');
    const direct = dynamoClient(runtime.config);
    [baseline, faultedSnap, crashSnap] = await Promise.all([
      snapshotTables(direct, runtime.config),
      snapshotTables(direct, faulted.config),
      snapshotTables(direct, crashing.config),
    ]);
    phase('snapshots taken');
  }, IDLE_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    await faulted?.runner.stop();
    await crashing?.runner.stop();
    await proxy?.close();
    await runtime?.stop();
    const s = proxy?.stats;
    if (s && lines && expected && crashing && faulted) {
      console.log(
        [
          `reliability: ${lines.length} lines pushed (${expected.readings.size} readings, ${expected.badLines.length} bad lines, ${expected.alerts} alerts) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
          `faults: ${s.faulted} of ${s.requests} DynamoDB calls (${((100 * s.faulted) / s.requests).toFixed(1)} %): ${JSON.stringify(s.byKind)}; ${s.withheldEntries} items returned as UnprocessedItems; calls by operation ${JSON.stringify(s.byOperation)}`,
          `crashes: ${JSON.stringify(crashes)}; runner ${JSON.stringify(crashing.runner.counters)}; dead letters delivered again after a crash: ${deadLetterRedeliveries}`,
          `faulted runner ${JSON.stringify(faulted.runner.counters)}; rollup runs until done ${JSON.stringify(rollupRuns)}`,
          `phases: ${phases.join(', ')}`,
        ].join('\n'),
      );
    }
    if (process.env.WELLWATCH_RELIABILITY_DEBUG && faulted) console.log(faulted.log.filter((l) => /ERROR|failed/.test(l)).join('\n'));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores in the fault-free baseline exactly the good input lines: nothing lost, nothing duplicated', async () => {
    const items = await scanAll(dynamoClient(runtime.config), runtime.config.readingsTable);
    const stored = new Map<string, number>();
    for (const item of items) {
      const key = `${item.pump!.S}#${item.ts!.S}`;
      stored.set(key, (stored.get(key) ?? 0) + 1);
    }
    const lost = [...expected.readings.keys()].filter((k) => !stored.has(k));
    const duplicated = [...stored.values()].filter((n) => n > 1).length;
    const unexpected = [...stored.keys()].filter((k) => !expected.readings.has(k));
    expect({ lost: lost.length, duplicated, unexpected: unexpected.length }).toEqual({ lost: 0, duplicated: 0, unexpected: 0 });
    expect(items).toHaveLength(expected.readings.size);
    expect(expected.readings.size).toBeGreaterThanOrEqual(TARGET_READINGS);
    for (const item of items) {
      const e = expected.readings.get(`${item.pump!.S}#${item.ts!.S}`)!;
      const d = item.d!.M!;
      expect(['hz', 'disp', 'flo', 'sedPPM', 'psi', 'chlPPM'].map((m) => Number(d[m]!.N))).toEqual(e.values);
      expect(item.a !== undefined).toBe(e.alert);
    }
    expect(baseline.alertsByDay).toHaveLength(expected.alerts);
    expect(baseline.alertsByPump).toHaveLength(expected.alerts);
  });

  it('computes in the baseline the daily stats an independent sequential sum gives', () => {
    // The stats table also holds the hourly series rows (`PUMP#1h`, no `date`); the daily rows are the ones with a date.
    const daily = baseline.stats.filter((json) => (JSON.parse(json) as Record<string, unknown>).date !== undefined);
    expect(daily).toHaveLength(expected.stats.size);
    expect(baseline.statsByDate).toHaveLength(expected.stats.size);
    const measures = ['hz', 'disp', 'flo', 'sedPPM', 'psi', 'chlPPM'];
    for (const json of daily) {
      const item = JSON.parse(json) as Record<string, { S?: string; N?: string }>;
      const e = expected.stats.get(`${item.pump!.S}#${item.date!.S}`)!;
      expect(Number(item.count!.N)).toBe(e.count);
      measures.forEach((m, i) => {
        expect(Number(item[`${m}_min`]!.N)).toBe(e.min[i]);
        expect(Number(item[`${m}_max`]!.N)).toBe(e.max[i]);
        const avg = e.sum[i]! / e.count;
        expect(Math.abs(Number(item[`${m}_avg`]!.N) - avg)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(avg)));
      });
    }
    // Every pending marker (PENDING#<bucket>) was cleared by the rollup.
    expect(baseline.catalog.filter((i) => i.includes('"PENDING#'))).toEqual([]);
    expect(baseline.catalog.some((i) => i.includes('"DAY#'))).toBe(true);
  });

  it('injected DynamoDB faults into at least 10 % of the calls, of every kind', () => {
    const s = proxy.stats;
    expect(s.faulted / s.requests).toBeGreaterThanOrEqual(0.1);
    for (const kind of FAULT_KINDS) expect(s.byKind[kind]).toBeGreaterThan(0);
    expect(s.withheldEntries).toBeGreaterThan(0);
  });

  it.each([
    ['readings'],
    ['alertsByDay'],
    ['alertsByPump'],
    ['stats'],
    ['statsByDate'],
    ['catalog'],
  ] as const)('ends the faulted run with %s exactly equal to the fault-free run', (part) => {
    const snap = faultedSnap;
    const { extra, missing } = diffLists(snap[part], baseline[part]);
    expect({ extra: extra.slice(0, 3), missing: missing.slice(0, 3), extraCount: extra.length, missingCount: missing.length }).toEqual({
      extra: [],
      missing: [],
      extraCount: 0,
      missingCount: 0,
    });
    expect(snap[part]).toEqual(baseline[part]);
  });

  it('gave up on no batch in the faulted run, and dead-lettered the same bad lines', () => {
    expect(faulted.runner.counters.failedBatches).toBe(0);
    expect(faulted.runner.counters.discardedRecords).toBe(0);
    const key = (l: DeadLetter) => `${l.sequenceNumber}#${l.lineInRecord}#${l.code}`;
    const clean = new Set(readDeadLetters(path.join(dir, 'dead-letters.jsonl')).map(key));
    const faultedLetters = new Set(readDeadLetters(path.join(dir, 'faulted-dead-letters.jsonl')).map(key));
    expect(clean.size).toBe(expected.badLines.length);
    expect(faultedLetters).toEqual(clean);
  });

  it('dead-lettered every bad line in the crashing run too (at least once: a crashed batch may deliver its letters again)', () => {
    const key = (l: DeadLetter) => `${l.sequenceNumber}#${l.lineInRecord}#${l.code}`;
    const clean = new Set(readDeadLetters(path.join(dir, 'dead-letters.jsonl')).map(key));
    const letters = readDeadLetters(path.join(dir, 'crashing-dead-letters.jsonl'));
    expect(new Set(letters.map(key))).toEqual(clean);
    deadLetterRedeliveries = letters.length - clean.size;
  });

  it('crashed the consumer before, during and after its writes', () => {
    expect(crashes.before).toBeGreaterThan(0);
    expect(crashes.duringBeforeSend).toBeGreaterThan(0);
    expect(crashes.duringAfterWrite).toBeGreaterThan(0);
    expect(crashes.after).toBeGreaterThan(0);
    expect(crashing.runner.counters.retries).toBeGreaterThan(0);
    expect(crashing.runner.counters.failedBatches).toBe(0);
  });

  it.each([
    ['readings'],
    ['alertsByDay'],
    ['alertsByPump'],
    ['stats'],
    ['statsByDate'],
    ['catalog'],
  ] as const)('ends the crashing run with %s exactly equal to the fault-free run', (part) => {
    const { extra, missing } = diffLists(crashSnap[part], baseline[part]);
    expect({ extraCount: extra.length, missingCount: missing.length, extra: extra.slice(0, 3), missing: missing.slice(0, 3) }).toEqual({
      extraCount: 0,
      missingCount: 0,
      extra: [],
      missing: [],
    });
    expect(crashSnap[part]).toEqual(baseline[part]);
  });
});
