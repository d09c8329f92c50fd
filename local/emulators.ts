/**
 * kinesalite and dynalite in this process: real Kinesis and DynamoDB wire protocols on 127.0.0.1.
 *
 * They run on this thread (`thread: 'inline'`) or in a worker thread of this process (`'worker'`, see
 * emulator-thread.js), where they get a core of their own while this thread runs the CLI, the event-source runner and
 * the handlers — the emulators are most of local mode's CPU time.
 *
 * Both are plain `http.Server`s backed by LevelDB (`<dataDir>/kinesis`, `<dataDir>/dynamodb`), so streams, records
 * and items survive a restart; `memory: true` keeps everything in memory for tests. Nothing binds to another
 * interface: the emulators accept any credentials, so they must never be reachable from the network.
 */
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import { ConfigError, WellwatchError } from '../lambdas/core/errors';

/** The only interface local mode listens on. */
export const LOCAL_HOST = '127.0.0.1';

/** Options of {@link startEmulators}. */
export interface EmulatorOptions {
  /** Data dir; LevelDB lives in `<dataDir>/kinesis` and `<dataDir>/dynamodb`. Required unless `memory`. */
  readonly dataDir?: string;
  /**
   * Keep all data in memory (tests).
   *
   * @default false
   */
  readonly memory?: boolean;
  /**
   * Port of kinesalite.
   *
   * @default 0 - an ephemeral port
   */
  readonly kinesisPort?: number;
  /**
   * Port of dynalite.
   *
   * @default 0 - an ephemeral port
   */
  readonly dynamodbPort?: number;
  /**
   * Where the emulators run: `'inline'` on this thread, or `'worker'` in a worker thread of this process (their own
   * core; local mode's default — ~15 % faster end to end on 2 cores, `npm run bench` section 3). In-process HTTP
   * diagnostics (`node:diagnostics_channel`) only see inline servers; use `threadPreload` to observe a worker's.
   *
   * @default 'inline'
   */
  readonly thread?: EmulatorThread;
  /**
   * Worker only: absolute paths of modules (TypeScript or JavaScript) loaded in the emulators' thread before they
   * start, e.g. an observer of their HTTP servers.
   *
   * @default - none
   */
  readonly threadPreload?: readonly string[];
  /**
   * Worker only: called once if the emulators' thread dies (an uncaught error in an emulator); requests then fail
   * with connection errors, which the runner and clients report and retry.
   *
   * @default - nothing
   */
  readonly onThreadFailure?: (message: string) => void;
}

/** Where the emulators run. */
export type EmulatorThread = 'inline' | 'worker';

/** Running emulators. */
export interface Emulators {
  /** `http://127.0.0.1:<port>` of kinesalite. */
  readonly kinesisEndpoint: string;
  /** `http://127.0.0.1:<port>` of dynalite. */
  readonly dynamodbEndpoint: string;
  /** Where the data lives, or `memory`. */
  readonly storage: { readonly kinesis: string; readonly dynamodb: string };
  /** Where they run. */
  readonly thread: EmulatorThread;
  /** Closes both servers and their stores. Idempotent. */
  stop(): Promise<void>;
}

type ServerFactory = (options: Record<string, unknown>) => Server;

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(port, LOCAL_HOST, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    // A client that is already gone must not keep the store open: idle keep-alive sockets close now, busy ones
    // shortly after.
    const force = setTimeout(() => server.closeAllConnections(), 2_000);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Starts kinesalite and dynalite on 127.0.0.1.
 *
 * Stream/table state changes are instant (`create…Ms: 0`) so provisioning does not wait. The caller provisions the
 * stream ({@link ensureStream}) and the tables.
 *
 * @example
 * const emu = await startEmulators({ dataDir: '.wellwatch' });
 * console.log(emu.kinesisEndpoint, emu.dynamodbEndpoint);
 * await emu.stop();
 */
export async function startEmulators(options: EmulatorOptions): Promise<Emulators> {
  const thread = options.thread ?? 'inline';
  if (thread !== 'inline' && thread !== 'worker') throw new ConfigError(`thread must be 'inline' or 'worker', got ${JSON.stringify(thread)}`);
  if (thread === 'worker') return startInWorker(options);
  if (options.threadPreload && options.threadPreload.length > 0) throw new ConfigError('threadPreload needs thread: worker');
  const memory = options.memory === true;
  if (!memory && !options.dataDir) throw new ConfigError('startEmulators needs a dataDir unless memory is true');
  const kinesisDir = memory ? undefined : path.resolve(options.dataDir!, 'kinesis');
  const dynamoDir = memory ? undefined : path.resolve(options.dataDir!, 'dynamodb');
  // leveldown does not create parent directories; a missing one is an uncatchable 'error' event inside kinesalite.
  if (kinesisDir) fs.mkdirSync(kinesisDir, { recursive: true });
  if (dynamoDir) fs.mkdirSync(dynamoDir, { recursive: true });

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const kinesalite = require('kinesalite') as ServerFactory;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as ServerFactory;
  const kinesisServer = kinesalite({
    ...(kinesisDir ? { path: kinesisDir } : {}),
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 50,
  });
  const dynamoServer = dynalite({
    ...(dynamoDir ? { path: dynamoDir } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= Promise.all([close(kinesisServer), close(dynamoServer)]).then(() => undefined);
    return stopped;
  };
  try {
    const [kinesisPort, dynamoPort] = await Promise.all([listen(kinesisServer, options.kinesisPort ?? 0), listen(dynamoServer, options.dynamodbPort ?? 0)]);
    return {
      kinesisEndpoint: `http://${LOCAL_HOST}:${kinesisPort}`,
      dynamodbEndpoint: `http://${LOCAL_HOST}:${dynamoPort}`,
      storage: { kinesis: kinesisDir ?? 'memory', dynamodb: dynamoDir ?? 'memory' },
      thread: 'inline',
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** What the worker entry (emulator-thread.js) posts. */
type ThreadMessage =
  | { readonly ready: Pick<Emulators, 'kinesisEndpoint' | 'dynamodbEndpoint' | 'storage'> }
  | { readonly error: string }
  | { readonly stopped: true };

/** Starts the emulators in a worker thread; same contract as inline. */
function startInWorker(options: EmulatorOptions): Promise<Emulators> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { onThreadFailure, ...rest } = options;
  const worker = new Worker(path.join(__dirname, 'emulator-thread.js'), { workerData: { ...rest, thread: 'inline' } });
  let exited = false;
  let ready = false;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      exited = true;
      if (ready && !stopping) onThreadFailure?.(`emulator thread exited with code ${code}`);
      resolve();
    }),
  );
  return new Promise<Emulators>((resolve, reject) => {
    worker.on('error', (e: Error) => {
      if (!ready) reject(e);
      else if (!stopping) onThreadFailure?.(e.stack ?? e.message);
    });
    worker.on('message', (m: ThreadMessage) => {
      if ('error' in m) {
        reject(new WellwatchError(`emulator thread failed to start: ${m.error}`));
        void worker.terminate();
      } else if ('ready' in m) {
        ready = true;
        resolve({
          ...m.ready,
          thread: 'worker',
          stop: () =>
            (stopped ??= (async () => {
              stopping = true;
              if (exited) return;
              // Ask the thread to close the servers and stores (flushing LevelDB), then end it; a thread that does
              // not answer within 10 s is terminated anyway.
              const answered = new Promise<void>((done) => worker.on('message', (x: ThreadMessage) => 'stopped' in x && done()));
              worker.postMessage('stop');
              await Promise.race([answered, exit, new Promise((done) => setTimeout(done, 10_000).unref())]);
              await worker.terminate();
              await exit;
            })()),
        });
      }
    });
    void exit.then(() => {
      if (!ready) reject(new WellwatchError('emulator thread exited before it was ready'));
    });
  });
}

/** Result of {@link ensureStream}. */
export interface EnsureStreamResult {
  /** True when the stream was created by this call. */
  readonly created: boolean;
  /** Number of open shards. */
  readonly openShards: number;
}

/**
 * Creates the stream with `shardCount` shards unless it exists, then waits until it is ACTIVE.
 *
 * An existing stream keeps its shards (resharding is an explicit operation, not a side effect of a restart).
 *
 * @example
 * await ensureStream(kinesisClient(cfg), cfg.streamName, 2);
 */
export async function ensureStream(client: KinesisClient, streamName: string, shardCount: number, timeoutMs = 30_000): Promise<EnsureStreamResult> {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 50) throw new ConfigError(`shards must be an integer 1–50, got ${shardCount}`);
  let created = false;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { StreamDescriptionSummary: s } = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
      if (s?.StreamStatus === 'ACTIVE') return { created, openShards: s.OpenShardCount ?? 0 };
    } catch (e) {
      if (!(e instanceof ResourceNotFoundException) && (e as Error).name !== 'ResourceNotFoundException') throw e;
      if (created) throw e;
      await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
      created = true;
      continue;
    }
    if (Date.now() > deadline) throw new WellwatchError(`stream ${streamName} did not become ACTIVE within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
