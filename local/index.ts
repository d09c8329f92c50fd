/**
 * Local mode: the same handlers as in AWS, on protocol-level emulators in this process.
 *
 * `startLocal` starts kinesalite and dynalite on 127.0.0.1 (LevelDB under the data dir), creates the stream and
 * the tables when missing, feeds the real consumer handler through a Lambda-like event-source runner, runs the
 * rollup planner on the EventBridge schedule (its work items go through a local queue to the rollup worker handler,
 * see rollup-fanout.ts), and serves the API and dashboard. Files in the data dir:
 *
 * | file | content |
 * |---|---|
 * | `local.json` | discovery info for CLI commands (`--local`) and scripts; written complete and atomically once everything listens (the ready signal), removed on stop |
 * | `local.lock` | `{pid}` of the running instance, the lock against a second one on the data dir |
 * | `checkpoints.json` | per-shard checkpoints of the event source |
 * | `dead-letters.jsonl` | bad lines (the consumer's dead-letter sink) |
 * | `failed-batches.jsonl` | batches the event source gave up on (on-failure destination) |
 * | `metrics.jsonl` | the handlers' EMF metric lines (CloudWatch would ingest these in AWS) |
 * | `handler-log.jsonl` | the handlers' structured warnings and errors (errors are also passed to `log`) |
 * | `notifications.jsonl` | alarm notifications, one JSON line per transition (SNS in AWS); each also goes to `notify` |
 * | `partition-limits.json` | with `partitionLimits`: throttled requests and peak rates per partition key, written on stop |
 * | `kinesis/`, `dynamodb/` | emulator data (absent with `memory: true`) |
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { randomBytes } from 'node:crypto';
import { API_ENV, DEFAULT_EVENT_SOURCE, type EventSourceSettings, loadApiSettings, loadConfig, loadPartitionLimits, type PartitionLimitSettings, type WellwatchConfig } from '../lambdas/config';
import { describeError } from '../lambdas/core/errors';
import { createApiHandler } from '../lambdas/api/handler';
import { createConsumerHandler } from '../lambdas/consumer/handler';
import { createAlarmCheckHandler, type AlarmCheckResult } from '../lambdas/alarms/handler';
import { ALARM_DEFAULTS } from '../lambdas/config';
import { createNotifier, type AlarmNotification } from '../lambdas/store/notifier';
import type { AlertRule } from '../lambdas/core/types';
import type { RollupEvent, RollupResult } from '../lambdas/rollup/handler';
import { createLocalRollup } from './rollup-fanout';
import { dynamoClient, kinesisClient } from '../lambdas/store/clients';
import { ensureTables } from '../lambdas/store/tables';
import { CheckpointStore } from './checkpoints';
import { acquireLocalLock, LOCAL_INFO_FILE, LOCAL_LOCK_FILE, LOCAL_NOTIFICATIONS_FILE, type LocalInfo, removeLocalInfo, writeLocalInfo } from './discovery';
import { ensureStream, LOCAL_HOST, startEmulators, type EmulatorThread, type Emulators } from './emulators';
import { EventSourceRunner, type KinesisBatchHandler, type ShardBacklog } from './event-source-runner';
import { ROLLUP_SCHEDULE, Scheduler } from './scheduler';
import { DEFAULT_API_PORT, startServer, type LocalServer } from './server';
import { startPartitionLimitProxy, type PartitionLimitProxy } from './partition-limits/proxy';

export { readLocalInfo, type LocalInfo } from './discovery';
export type { ShardBacklog, RunnerCounters } from './event-source-runner';

/** Names of the files local mode keeps in its data dir. */
export const LOCAL_FILES = {
  info: LOCAL_INFO_FILE,
  lock: LOCAL_LOCK_FILE,
  checkpoints: 'checkpoints.json',
  deadLetters: 'dead-letters.jsonl',
  failedBatches: 'failed-batches.jsonl',
  metrics: 'metrics.jsonl',
  handlerLog: 'handler-log.jsonl',
  notifications: LOCAL_NOTIFICATIONS_FILE,
  partitionLimits: 'partition-limits.json',
} as const;

/** The scheduled alarm check's rule (EventBridge every 5 minutes in AWS). */
export const ALARM_CHECK_SCHEDULE = [{ name: 'alarm-check', cron: ALARM_DEFAULTS.noDataSchedule, event: {} }] as const;

/** The one line `wellwatch local` prints for an alarm notification. */
export function notificationLine(n: AlarmNotification): string {
  return `alarm: ${n.subject} — ${n.alarm} at ${n.at}${n.type === 'raised' ? ` (ack: wellwatch alarms ack ${n.alarm} --by NAME --local)` : ''}`;
}

/** Options of {@link startLocal}. */
export interface StartLocalOptions {
  /** Where everything lives; created when missing. */
  readonly dataDir: string;
  /**
   * Port of the API and dashboard on 127.0.0.1.
   *
   * @default 4680 - 0 picks a free port
   */
  readonly port?: number;
  /**
   * Keep emulator data and checkpoints in memory (tests); files in the data dir are still written.
   *
   * @default false
   */
  readonly memory?: boolean;
  /**
   * Shards of the stream when it is created (an existing stream keeps its shards).
   *
   * @default 2
   */
  readonly shards?: number;
  /** Progress and error lines. @default - `console.error` */
  readonly log?: (line: string) => void;
  /** Overrides of the event-source settings. @default DEFAULT_EVENT_SOURCE */
  readonly eventSource?: Partial<EventSourceSettings>;
  /**
   * The handlers' DynamoDB write retries (attempts per BatchWriteItem chunk, first try included, and the base delay
   * of their exponential backoff). Tests that exhaust a batch on purpose give up fast with them.
   *
   * @default - the configuration's (writeMaxAttempts 8, writeBaseDelayMs 50)
   */
  readonly writeRetry?: { readonly maxAttempts?: number; readonly baseDelayMs?: number };
  /** @default 0 - an ephemeral port */
  readonly kinesisPort?: number;
  /** @default 0 - an ephemeral port */
  readonly dynamodbPort?: number;
  /**
   * Arm the rollup schedule (daily 00:15 UTC, pending hourly).
   *
   * @default true
   */
  readonly schedule?: boolean;
  /**
   * Where kinesalite and dynalite run: a worker thread with a core of its own, or this thread (see
   * `EmulatorOptions.thread` in emulators.ts).
   *
   * @default 'worker'
   */
  readonly emulatorThread?: EmulatorThread;
  /** Modules loaded in the emulators' worker thread before they start (observers). @default - none */
  readonly emulatorPreload?: readonly string[];
  /**
   * Builds the DynamoDB client the handlers (consumer, alarm check, rollup) use, given dynalite's endpoint (tests
   * route it through a fault proxy to exhaust a batch, then replay it); the caller destroys it. Local mode's own
   * reads and table setup keep a direct client.
   *
   * @default - a client of dynalite's endpoint, shared with local mode
   */
  readonly handlerDynamo?: (dynamodbEndpoint: string) => DynamoDBClient | Promise<DynamoDBClient>;
  /** Alert/alarm rules of this local mode. @default - from WELLWATCH_ALERT_RULES, else DEFAULT_ALERT_RULES */
  readonly alertRules?: readonly AlertRule[];
  /** Receives one line per alarm notification (they are also appended to notifications.jsonl). @default - stdout */
  readonly notify?: (line: string) => void;
  /**
   * Run the handlers' DynamoDB calls through the partition-limit proxy (local/partition-limits/proxy.ts): DynamoDB's
   * per-partition-key limits divided by a scale factor, throttled exactly as DynamoDB throttles. With
   * `handlerDynamo`, that client is built on the proxy's endpoint. `false` turns it off whatever the environment says.
   *
   * @default - from WELLWATCH_PARTITION_LIMITS (see PARTITION_LIMITS in config.ts), else off
   */
  readonly partitionLimits?: PartitionLimitSettings | false;
  /**
   * The handlers' clock (consumer, alarm check, rollup): which day is "today", alarm times. The scale test runs a
   * simulated fleet across a midnight with it.
   *
   * @default - `new Date()`
   */
  readonly clock?: () => Date;
}

/** A running local mode. */
export interface LocalRuntime {
  /** Configuration pointing at the emulators; pass it to clients, handlers and queries. */
  readonly config: WellwatchConfig;
  readonly endpoints: { readonly kinesis: string; readonly dynamodb: string };
  /** Where the emulators run. */
  readonly emulatorThread: EmulatorThread;
  /** `http://127.0.0.1:<port>` of the API and dashboard. */
  readonly apiUrl: string;
  readonly dataDir: string;
  readonly runner: EventSourceRunner;
  readonly scheduler: Scheduler<RollupEvent, RollupResult>;
  /** Runs the scheduled alarm check (no-data, shelf expiry, pending notifications) every 5 minutes, and on demand. */
  readonly alarmCheck: Scheduler<unknown, AlarmCheckResult>;
  /** Stops everything in reverse order and removes `local.json` and `local.lock`. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when every record put so far has been processed (see {@link EventSourceRunner.waitForIdle}). */
  waitForIdle(options?: { timeoutMs?: number }): Promise<void>;
  /** Records after each shard's checkpoint. */
  backlog(): Promise<ShardBacklog[]>;
  /** The partition-limit proxy the handlers write through; absent unless `partitionLimits` is on. */
  readonly partitionLimits?: PartitionLimitProxy;
}

/**
 * An append-only line file that never throws into the caller (handlers log through it).
 *
 * A file that cannot be written (a directory in its place, a full disk) is reported once through `log` — the lines
 * after that are dropped, but whoever runs local mode knows — instead of failing silently.
 */
function lineFile(file: string, log: (line: string) => void): { write: (line: string) => void; close: () => Promise<void> } {
  const stream = fs.createWriteStream(file, { flags: 'a' });
  let broken = false;
  stream.on('error', (e) => {
    if (!broken) log(`local: cannot write ${file} (${describeError(e)}); its lines are dropped until restart`);
    broken = true;
  });
  return {
    write: (line) => {
      if (!broken) stream.write(line.endsWith('\n') ? line : `${line}\n`);
    },
    // A broken stream may never call back from end(); close() must not wait for it.
    close: () => (broken || stream.destroyed ? Promise.resolve() : new Promise<void>((resolve) => stream.end(() => resolve()))),
  };
}

/**
 * Starts local mode.
 *
 * @throws LocalAlreadyRunningError when another live process (or this one) runs local mode on the data dir.
 * @example
 * const local = await startLocal({ dataDir: '.wellwatch', port: 0 });
 * console.log(`dashboard: ${local.apiUrl}/`);
 * await local.waitForIdle();
 * await local.stop();
 */
export async function startLocal(opts: StartLocalOptions): Promise<LocalRuntime> {
  const dataDir = path.resolve(opts.dataDir);
  const log = opts.log ?? ((line: string) => console.error(line));
  const release = acquireLocalLock(dataDir);
  const cleanups: (() => Promise<void> | void)[] = [release];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (e) {
        log(`local: shutdown step failed: ${(e as Error)?.message ?? String(e)}`);
      }
    }
  };

  try {
    const file = (name: string) => path.join(dataDir, name);
    const emulators: Emulators = await startEmulators({
      dataDir,
      memory: opts.memory,
      kinesisPort: opts.kinesisPort,
      dynamodbPort: opts.dynamodbPort,
      thread: opts.emulatorThread ?? 'worker',
      ...(opts.emulatorPreload && opts.emulatorPreload.length > 0 ? { threadPreload: opts.emulatorPreload } : {}),
      onThreadFailure: (message) => log(`local: the emulators' thread failed; Kinesis and DynamoDB calls will fail until restart: ${message}`),
    });
    cleanups.push(() => emulators.stop());
    log(
      `local: kinesalite on ${emulators.kinesisEndpoint}, dynalite on ${emulators.dynamodbEndpoint} (bound to ${LOCAL_HOST} only; ` +
        `${emulators.thread === 'worker' ? 'own thread; ' : ''}data: ${opts.memory ? 'memory' : dataDir})`,
    );

    const deadLettersFile = file(LOCAL_FILES.deadLetters);
    const failedBatchesFile = file(LOCAL_FILES.failedBatches);
    const config = loadConfig({
      region: 'us-east-1',
      deadLetterUrl: pathToFileURL(deadLettersFile).href,
      alarms: { notifications: pathToFileURL(file(LOCAL_FILES.notifications)).href },
      ...(opts.alertRules ? { alertRules: opts.alertRules } : {}),
      endpoints: { kinesis: emulators.kinesisEndpoint, dynamodb: emulators.dynamodbEndpoint },
      eventSource: { ...DEFAULT_EVENT_SOURCE, ...(opts.eventSource ?? {}) },
      ...(opts.writeRetry?.maxAttempts !== undefined ? { writeMaxAttempts: opts.writeRetry.maxAttempts } : {}),
      ...(opts.writeRetry?.baseDelayMs !== undefined ? { writeBaseDelayMs: opts.writeRetry.baseDelayMs } : {}),
    });

    const kinesis: KinesisClient = kinesisClient(config);
    const dynamo: DynamoDBClient = dynamoClient(config);
    cleanups.push(() => {
      kinesis.destroy();
      dynamo.destroy();
    });
    const stream = await ensureStream(kinesis, config.streamName, opts.shards ?? 2);
    const createdTables = await ensureTables(dynamo, config);
    if (stream.created) log(`local: created stream ${config.streamName} with ${opts.shards ?? 2} shard(s)`);
    if (createdTables.length) log(`local: created tables ${createdTables.join(', ')}`);

    const metrics = lineFile(file(LOCAL_FILES.metrics), log);
    const handlerLog = lineFile(file(LOCAL_FILES.handlerLog), log);
    cleanups.push(() => Promise.all([metrics.close(), handlerLog.close()]).then(() => undefined));
    const handlerLogLine = (source: string) => (line: string) => {
      handlerLog.write(line);
      // Errors (writes failing after retries) matter to whoever runs local mode; warnings stay in the file.
      if (/"level"\s*:\s*"ERROR"/.test(line)) log(`${source}: ${line}`);
    };
    const limits = opts.partitionLimits === false ? undefined : (opts.partitionLimits ?? loadPartitionLimits());
    let limiter: PartitionLimitProxy | undefined;
    let limitedDynamo: DynamoDBClient | undefined;
    if (limits) {
      const proxy = await startPartitionLimitProxy({
        target: emulators.dynamodbEndpoint,
        writeUnitsPerSecond: limits.writeUnitsPerSecond,
        readUnitsPerSecond: limits.readUnitsPerSecond,
        burstSeconds: limits.burstSeconds,
      });
      limiter = proxy;
      cleanups.push(async () => {
        const throttled = proxy.keyStats().filter((k) => k.throttledRequests > 0);
        fs.writeFileSync(file(LOCAL_FILES.partitionLimits), JSON.stringify({ limits, counters: proxy.counters, throttledKeys: throttled }, null, 2));
        log(`local: partition limits: ${throttled.reduce((a, k) => a + k.throttledRequests, 0)} throttled request(s) on ${throttled.length} key(s); see ${LOCAL_FILES.partitionLimits}`);
        await proxy.close();
      });
      if (!opts.handlerDynamo) {
        const client = dynamoClient({ ...config, endpoints: { ...config.endpoints, dynamodb: proxy.endpoint } });
        limitedDynamo = client;
        cleanups.push(() => client.destroy());
      }
      log(
        `local: partition limits on ${proxy.endpoint}: ${limits.writeUnitsPerSecond} WCU/s and ${limits.readUnitsPerSecond} RCU/s per key ` +
          `(DynamoDB's limits / ${limits.factor}, burst ${limits.burstSeconds} s); the handlers write through it`,
      );
    }
    const handlerDynamo = opts.handlerDynamo ? await opts.handlerDynamo(limiter?.endpoint ?? emulators.dynamodbEndpoint) : (limitedDynamo ?? dynamo);
    const clock = opts.clock;
    const notify = opts.notify ?? ((line: string) => void process.stdout.write(`${line}\n`));
    const notifier = createNotifier(config, { onPublish: (n) => notify(notificationLine(n)) });
    // Lambda runs the batches of different shards in separate execution environments, each with its own module
    // state (logger context, cold start, metrics buffer, the alarm step's cache): one consumer instance per shard does
    // the same here. Lambda also tells Powertools that an environment is on-demand, which is what makes it report
    // cold starts.
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE ??= 'on-demand';
    const consumers = new Map<string, ReturnType<typeof createConsumerHandler>>();
    const consumer: KinesisBatchHandler = (event, context) => {
      const shard = event.Records[0]?.eventID.split(':')[0] ?? '';
      let handler = consumers.get(shard);
      if (!handler) {
        handler = createConsumerHandler(config, { dynamo: handlerDynamo, notifier, metricsSink: metrics.write, log: handlerLogLine('consumer'), ...(clock ? { clock } : {}) });
        consumers.set(shard, handler);
      }
      return handler(event, context);
    };
    const check = createAlarmCheckHandler(config, { dynamo: handlerDynamo, notifier, metricsSink: metrics.write, log: handlerLogLine('alarm-check'), ...(clock ? { clock } : {}) });
    // The rollup as deployed: the scheduler runs the planner, whose work items a local queue hands to the worker
    // handler with the configured concurrency (local/rollup-fanout.ts).
    const rollup = createLocalRollup(config, { dynamo: handlerDynamo, metricsSink: metrics.write, log: handlerLogLine('rollup') });
    cleanups.push(() => rollup.stop());

    const checkpoints = new CheckpointStore({ file: opts.memory ? undefined : file(LOCAL_FILES.checkpoints), log });
    const runner = new EventSourceRunner({
      kinesis,
      streamName: config.streamName,
      functionName: config.names.consumerFunction,
      handler: consumer,
      settings: config.eventSource,
      region: config.region,
      checkpoints,
      failedBatchesFile,
      log,
    });
    cleanups.push(() => runner.stop());
    await runner.start();

    const scheduler = new Scheduler<RollupEvent, RollupResult>({
      handler: (event) => rollup.run(event),
      rules: ROLLUP_SCHEDULE,
      log,
    });
    cleanups.push(() => scheduler.stop());
    if (opts.schedule !== false) scheduler.start();
    const alarmCheck = new Scheduler<unknown, AlarmCheckResult>({ handler: (event) => check(event), rules: ALARM_CHECK_SCHEDULE, log });
    cleanups.push(() => alarmCheck.stop());
    if (opts.schedule !== false) alarmCheck.start();

    // The query API, as deployed behind API Gateway; cursors are signed with a per-process secret unless one is set.
    const api = createApiHandler(config, loadApiSettings({ cursorSecret: process.env[API_ENV.cursorSecret] ?? randomBytes(32).toString('hex') }), {
      dynamo,
      notifier, // alarm actions from the dashboard notify like the CLI's: notifications.jsonl and the console
      log: handlerLogLine('api'),
    });
    const server: LocalServer = await startServer(
      { runner, scheduler, deadLettersFile, failedBatchesFile, api },
      { port: opts.port ?? DEFAULT_API_PORT, log },
    );
    cleanups.push(() => server.close());
    log(`local: API and dashboard on ${server.url}/ (bound to ${LOCAL_HOST} only)`);

    const info: LocalInfo = {
      pid: process.pid,
      kinesisEndpoint: emulators.kinesisEndpoint,
      dynamodbEndpoint: emulators.dynamodbEndpoint,
      apiUrl: server.url,
      deadLetterUrl: config.deadLetterUrl!,
      dataDir,
      startedAt: new Date().toISOString(),
      ...(limits && limiter ? { partitionLimits: { endpoint: limiter.endpoint, factor: limits.factor, burstSeconds: limits.burstSeconds } } : {}),
    };
    // The ready signal: everything listens, so publish the endpoints — complete, in one atomic rename. Stopping
    // withdraws it first, before anything closes.
    writeLocalInfo(dataDir, info);
    cleanups.push(() => removeLocalInfo(dataDir));

    let stopped: Promise<void> | undefined;
    return {
      config,
      endpoints: { kinesis: emulators.kinesisEndpoint, dynamodb: emulators.dynamodbEndpoint },
      emulatorThread: emulators.thread,
      apiUrl: server.url,
      dataDir,
      runner,
      scheduler,
      alarmCheck,
      stop: () => {
        stopped ??= cleanup();
        return stopped;
      },
      waitForIdle: (options) => runner.waitForIdle(options),
      backlog: () => runner.backlog(),
      ...(limiter ? { partitionLimits: limiter } : {}),
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
