/**
 * The local event-source runner against a real kinesalite (in memory, 127.0.0.1, port 0), with handlers that
 * record every event and fail in scripted ways.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamEvent } from 'aws-lambda';
import { CheckpointStore } from '../../local/checkpoints';
import { ensureStream, startEmulators, type Emulators } from '../../local/emulators';
import { EventSourceRunner, EventSourceRunnerError, type EventSourceRunnerOptions, type FailedBatchRecord, type KinesisBatchHandler } from '../../local/event-source-runner';

interface PutRecord {
  readonly text: string;
  readonly partitionKey: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

let emulators: Emulators;
let kinesis: KinesisClient;
let dir: string;
let streamCounter = 0;
const runners: EventSourceRunner[] = [];

beforeAll(async () => {
  emulators = await startEmulators({ memory: true });
  kinesis = new KinesisClient({
    endpoint: emulators.kinesisEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-runner-'));
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  kinesis.destroy();
  await emulators.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Splits the stream's only shard in two and waits until the stream is ACTIVE again. */
async function splitFirstShard(stream: string): Promise<void> {
  await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
  for (let i = 0; i < 200; i++) {
    const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`stream ${stream} did not become ACTIVE after the split`);
}

async function newStream(shards: number): Promise<string> {
  const name = `runner-test-${++streamCounter}`;
  await ensureStream(kinesis, name, shards);
  return name;
}

/** Puts records (`text` is the data) and returns where each landed. */
async function put(stream: string, items: readonly { text: string; partitionKey: string }[]): Promise<PutRecord[]> {
  const out = await kinesis.send(
    new PutRecordsCommand({ StreamName: stream, Records: items.map((i) => ({ PartitionKey: i.partitionKey, Data: Buffer.from(i.text) })) }),
  );
  expect(out.FailedRecordCount ?? 0).toBe(0);
  return items.map((i, n) => ({ ...i, shardId: out.Records![n].ShardId!, sequenceNumber: out.Records![n].SequenceNumber! }));
}

function texts(prefix: string, n: number, partitionKey: (i: number) => string = () => 'P'): { text: string; partitionKey: string }[] {
  return Array.from({ length: n }, (_, i) => ({ text: `${prefix}-${i}`, partitionKey: partitionKey(i) }));
}

const decode = (event: KinesisStreamEvent): string[] => event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString('utf8'));

/** A handler that records every event and delegates its outcome to `behaviour`. */
function recorder(behaviour: (event: KinesisStreamEvent, call: number) => ReturnType<KinesisBatchHandler> = async () => undefined) {
  const calls: KinesisStreamEvent[] = [];
  const handler: KinesisBatchHandler = async (event) => {
    calls.push(event);
    return behaviour(event, calls.length);
  };
  return { calls, handler };
}

async function run(stream: string, handler: KinesisBatchHandler, options: Partial<EventSourceRunnerOptions> = {}): Promise<EventSourceRunner> {
  const runner = new EventSourceRunner({
    kinesis,
    streamName: stream,
    handler,
    pollIntervalMs: 20,
    retryBaseDelayMs: 1,
    ...options,
    settings: { maxBatchingWindowSeconds: 0, ...(options.settings ?? {}) },
  });
  runners.push(runner);
  await runner.start();
  return runner;
}

function readJsonl<T>(file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as T);
}

describe('EventSourceRunner', () => {
  it('delivers every record exactly once, in order per shard, in Lambda-shaped events', async () => {
    const stream = await newStream(2);
    const { calls, handler } = recorder();
    const runner = await run(stream, handler, { settings: { batchSize: 7 } });
    const sent = [
      ...(await put(stream, texts('a', 30, (i) => `pump-${i % 5}`))),
      ...(await put(stream, texts('b', 30, (i) => `pump-${i % 7}`))),
    ];
    await runner.waitForIdle({ timeoutMs: 30_000 });

    const byShard = new Map<string, string[]>();
    for (const event of calls) {
      expect(event.Records.length).toBeGreaterThan(0);
      expect(event.Records.length).toBeLessThanOrEqual(7);
      const shards = new Set(event.Records.map((r) => r.eventID.split(':')[0]));
      expect(shards.size).toBe(1); // one batch = one shard
      const [shard] = shards;
      byShard.set(shard, [...(byShard.get(shard) ?? []), ...event.Records.map((r) => r.kinesis.sequenceNumber)]);
    }
    expect(byShard.size).toBe(2);
    for (const [shard, delivered] of byShard) {
      const expected = sent.filter((r) => r.shardId === shard).map((r) => r.sequenceNumber);
      expect(delivered).toEqual(expected);
    }
    expect(calls.flatMap(decode).sort()).toEqual(sent.map((r) => r.text).sort());
    expect(runner.counters.records).toBe(60);
    expect(runner.counters.failures).toBe(0);

    const first = calls[0].Records[0];
    const original = sent.find((r) => r.sequenceNumber === first.kinesis.sequenceNumber)!;
    expect(Object.keys(first)).toEqual(['kinesis', 'eventSource', 'eventVersion', 'eventID', 'eventName', 'invokeIdentityArn', 'awsRegion', 'eventSourceARN']);
    expect(Object.keys(first.kinesis).sort()).toEqual(['approximateArrivalTimestamp', 'data', 'kinesisSchemaVersion', 'partitionKey', 'sequenceNumber']);
    expect(first).toMatchObject({
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventName: 'aws:kinesis:record',
      eventID: `${original.shardId}:${original.sequenceNumber}`,
      awsRegion: 'us-east-1',
      eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`,
      kinesis: { kinesisSchemaVersion: '1.0', partitionKey: original.partitionKey, sequenceNumber: original.sequenceNumber },
    });
    expect(first.invokeIdentityArn).toMatch(/^arn:aws:iam::000000000000:role\/.+/);
    expect(Buffer.from(first.kinesis.data, 'base64').toString()).toBe(original.text);
    // Epoch seconds (with a fraction), not milliseconds.
    expect(Math.abs(first.kinesis.approximateArrivalTimestamp - Date.now() / 1000)).toBeLessThan(600);
  });

  it('retries from the reported failed sequence number after a partial batch failure', async () => {
    const stream = await newStream(1);
    const sent = await put(stream, texts('r', 10));
    let failedOnce = false;
    const { calls, handler } = recorder(async (event) => {
      const at = decode(event).indexOf('r-4');
      if (at >= 0 && !failedOnce) {
        failedOnce = true;
        return { batchItemFailures: [{ itemIdentifier: event.Records[at].kinesis.sequenceNumber }] };
      }
      return { batchItemFailures: [] };
    });
    const runner = await run(stream, handler, { settings: { batchSize: 10 } });
    const seen: string[] = [];
    runner.onInvocation((i) => seen.push(`${i.outcome}:${i.event.Records.length}`));
    await runner.waitForIdle({ timeoutMs: 30_000 });

    expect(calls.map(decode)).toEqual([texts('r', 10).map((t) => t.text), ['r-4', 'r-5', 'r-6', 'r-7', 'r-8', 'r-9']]);
    expect(seen).toEqual(['partial:10', 'success:6']);
    expect(runner.counters).toMatchObject({ batches: 2, failures: 1, retries: 1, records: 10, failedBatches: 0 });
    expect(runner.checkpoints.get('shardId-000000000000')?.sequenceNumber).toBe(sent[9].sequenceNumber);
  });

  it('fails the whole batch when an item identifier is not in the batch', async () => {
    const stream = await newStream(1);
    await put(stream, texts('u', 3));
    const { calls, handler } = recorder(async (_event, call) => (call === 1 ? { batchItemFailures: [{ itemIdentifier: 'no-such-sequence' }] } : undefined));
    const runner = await run(stream, handler, { settings: { batchSize: 3, bisectBatchOnError: false } });
    await runner.waitForIdle({ timeoutMs: 30_000 });
    expect(calls.map(decode)).toEqual([
      ['u-0', 'u-1', 'u-2'],
      ['u-0', 'u-1', 'u-2'],
    ]);
  });

  it('bisects a throwing batch down to the poison record and hands it to failed-batches.jsonl after the retries', async () => {
    const stream = await newStream(1);
    const sent = await put(stream, texts('b', 16));
    const { calls, handler } = recorder(async (event) => {
      if (decode(event).includes('b-10')) throw new Error('poison record b-10');
    });
    const failedFile = path.join(dir, 'bisect-failed.jsonl');
    const outcomes: string[] = [];
    const runner = new EventSourceRunner({
      kinesis,
      streamName: stream,
      handler,
      failedBatchesFile: failedFile,
      retryBaseDelayMs: 1,
      settings: { batchSize: 16, retryAttempts: 2, bisectBatchOnError: true, maxBatchingWindowSeconds: 0 },
    });
    runners.push(runner);
    runner.onInvocation((i) => outcomes.push(i.outcome));
    await runner.start();
    await runner.waitForIdle({ timeoutMs: 30_000 });

    // 16 ✗ → 8 ✓ + 8 ✗ → 4 ✗ → 2 ✓ + 2 ✗ → 1 ✗ (+2 retries ✗ → discarded) + 1 ✓ → 4 ✓
    expect(calls.map((e) => e.Records.length)).toEqual([16, 8, 8, 4, 2, 2, 1, 1, 1, 1, 4]);
    expect(outcomes).toEqual(['error', 'success', 'error', 'error', 'success', 'error', 'error', 'error', 'error', 'success', 'success']);
    const succeeded = calls.filter((e) => !decode(e).includes('b-10')).flatMap(decode);
    expect(succeeded.sort()).toEqual(texts('b', 16).map((t) => t.text).filter((t) => t !== 'b-10').sort());

    const failures = readJsonl<FailedBatchRecord>(failedFile);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      version: '1.0',
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 7 },
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: sent[10].sequenceNumber,
        endSequenceNumber: sent[10].sequenceNumber,
        batchSize: 1,
        streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`,
      },
    });
    expect(failures[0].reason).toContain('poison record b-10');
    expect(runner.counters).toMatchObject({ bisections: 4, failedBatches: 1, discardedRecords: 1, records: 15 });
    expect(runner.checkpoints.get('shardId-000000000000')?.sequenceNumber).toBe(sent[15].sequenceNumber);
  });

  it('without bisection retries the whole batch, then gives up on all of it', async () => {
    const stream = await newStream(1);
    const sent = await put(stream, texts('w', 8));
    const { calls, handler } = recorder(async (event) => {
      if (decode(event).includes('w-5')) throw new Error('cannot handle w-5');
    });
    const failedFile = path.join(dir, 'whole-failed.jsonl');
    const runner = await run(stream, handler, { failedBatchesFile: failedFile, settings: { batchSize: 4, retryAttempts: 1, bisectBatchOnError: false } });
    await runner.waitForIdle({ timeoutMs: 30_000 });

    expect(calls.map(decode)).toEqual([
      ['w-0', 'w-1', 'w-2', 'w-3'],
      ['w-4', 'w-5', 'w-6', 'w-7'],
      ['w-4', 'w-5', 'w-6', 'w-7'],
    ]);
    const [failure] = readJsonl<FailedBatchRecord>(failedFile);
    expect(failure.KinesisBatchInfo).toMatchObject({ startSequenceNumber: sent[4].sequenceNumber, endSequenceNumber: sent[7].sequenceNumber, batchSize: 4 });
    expect(failure.requestContext.approximateInvokeCount).toBe(2);
    expect(runner.counters).toMatchObject({ batches: 3, failures: 2, retries: 1, failedBatches: 1, discardedRecords: 4, records: 4 });
  });

  it('hands records older than maxRecordAgeSeconds to the on-failure file without invoking', async () => {
    const stream = await newStream(1);
    const sent = await put(stream, texts('old', 5));
    const { calls, handler } = recorder();
    const failedFile = path.join(dir, 'age-failed.jsonl');
    const twoHoursLater = () => Date.now() + 2 * 3_600_000;
    const runner = await run(stream, handler, { failedBatchesFile: failedFile, now: twoHoursLater, settings: { maxRecordAgeSeconds: 3_600 } });
    await runner.waitForIdle({ timeoutMs: 30_000 });

    expect(calls).toHaveLength(0);
    const failures = readJsonl<FailedBatchRecord>(failedFile);
    expect(failures.map((f) => f.requestContext.condition)).toEqual(['RecordAgeExceeded']);
    expect(failures[0].KinesisBatchInfo).toMatchObject({ startSequenceNumber: sent[0].sequenceNumber, endSequenceNumber: sent[4].sequenceNumber, batchSize: 5 });
    expect(runner.checkpoints.get('shardId-000000000000')?.sequenceNumber).toBe(sent[4].sequenceNumber);
  });

  it('persists checkpoints so that a restarted runner resumes without re-delivering', async () => {
    const stream = await newStream(1);
    const file = path.join(dir, `checkpoints-${stream}.json`);
    const first = await put(stream, texts('c', 10));
    const a = recorder();
    const runnerA = await run(stream, a.handler, { checkpoints: new CheckpointStore({ file }), settings: { batchSize: 4 } });
    await runnerA.waitForIdle({ timeoutMs: 30_000 });
    await runnerA.stop();
    expect(a.calls.flatMap(decode)).toEqual(texts('c', 10).map((t) => t.text));

    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(saved.streams[stream].shards['shardId-000000000000'].sequenceNumber).toBe(first[9].sequenceNumber);
    expect(fs.readdirSync(dir).filter((f) => f.includes(`checkpoints-${stream}`))).toEqual([`checkpoints-${stream}.json`]); // no temp files left

    await put(stream, texts('d', 5));
    const b = recorder();
    const runnerB = await run(stream, b.handler, { checkpoints: new CheckpointStore({ file }), settings: { batchSize: 4 } });
    await runnerB.waitForIdle({ timeoutMs: 30_000 });
    expect(b.calls.flatMap(decode)).toEqual(texts('d', 5).map((t) => t.text));

    // Control: without the checkpoint file the stream is read from the start again.
    const c = recorder();
    const runnerC = await run(stream, c.handler, { settings: { batchSize: 100 } });
    await runnerC.waitForIdle({ timeoutMs: 30_000 });
    expect(c.calls.flatMap(decode)).toHaveLength(15);
  });

  it('on stop, tells the in-flight handler its time is up and keeps the part of the batch it finished', async () => {
    const stream = await newStream(1);
    const file = path.join(dir, `checkpoints-${stream}.json`);
    const sent = await put(stream, texts('s', 10));
    const remainingSeen: number[] = [];
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let calls = 0;
    // A slow consumer: waits until its time is up, then reports everything from record 4 on as not done.
    const handler: KinesisBatchHandler = async (event, context) => {
      if (++calls > 1) return undefined;
      remainingSeen.push(context.getRemainingTimeInMillis());
      entered();
      while (context.getRemainingTimeInMillis() > 0) await new Promise((r) => setTimeout(r, 5));
      remainingSeen.push(context.getRemainingTimeInMillis());
      return { batchItemFailures: [{ itemIdentifier: event.Records[4]!.kinesis.sequenceNumber }] };
    };
    const runner = await run(stream, handler, { checkpoints: new CheckpointStore({ file }), settings: { batchSize: 100 } });
    await inside;
    await runner.stop();
    // The function timeout (CONSUMER_FUNCTION), counting down.
    expect(remainingSeen[0]).toBeLessThanOrEqual(runner.functionTimeoutMs);
    expect(remainingSeen[0]).toBeGreaterThan(runner.functionTimeoutMs - 5_000);
    expect(remainingSeen[1]).toBe(0);
    expect(runner.counters.failures).toBe(0);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(saved.streams[stream].shards['shardId-000000000000'].sequenceNumber).toBe(sent[3]!.sequenceNumber);

    // The next start resumes at record 4.
    const next = recorder();
    const again = await run(stream, next.handler, { checkpoints: new CheckpointStore({ file }), settings: { batchSize: 100 } });
    await again.waitForIdle({ timeoutMs: 30_000 });
    expect(next.calls.flatMap(decode)).toEqual(texts('s', 10).map((t) => t.text).slice(4));
  });

  it('on stop, names the error of a handler that failed, and moves no checkpoint', async () => {
    const stream = await newStream(1);
    const file = path.join(dir, `checkpoints-${stream}.json`);
    await put(stream, texts('e', 3));
    const logs: string[] = [];
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const handler: KinesisBatchHandler = async (_event, context) => {
      entered();
      while (context.getRemainingTimeInMillis() > 0) await new Promise((r) => setTimeout(r, 5));
      throw new Error('boom: real bug');
    };
    const runner = await run(stream, handler, { checkpoints: new CheckpointStore({ file }), log: (l) => logs.push(l) });
    await inside;
    await runner.stop();
    expect(logs).toContainEqual(expect.stringMatching(/stopping with 3 of 3 records of the batch left for the next start \(the handler failed: .*boom: real bug\)/));
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).streams[stream].shards).toEqual({});
  });

  it('discards checkpoints of a stream that was re-created', () => {
    const file = path.join(dir, 'recreated.json');
    const a = new CheckpointStore({ file });
    a.bindStream('s', '2024-01-01T00:00:00.000Z');
    return a.commit('shardId-000000000000', { sequenceNumber: '123' }).then(() => {
      const same = new CheckpointStore({ file });
      expect(same.bindStream('s', '2024-01-01T00:00:00.000Z')).toBe(false);
      expect(same.get('shardId-000000000000')?.sequenceNumber).toBe('123');
      const recreated = new CheckpointStore({ file });
      expect(recreated.bindStream('s', '2024-02-01T00:00:00.000Z')).toBe(true);
      expect(recreated.get('shardId-000000000000')).toBeUndefined();
    });
  });

  it('starts at LATEST when configured, skipping records already in the stream', async () => {
    const stream = await newStream(1);
    await put(stream, texts('before', 3));
    const { calls, handler } = recorder();
    const runner = await run(stream, handler, { settings: { startingPosition: 'LATEST' } });
    await put(stream, texts('after', 2));
    await runner.waitForIdle({ timeoutMs: 30_000 });
    expect(calls.flatMap(decode)).toEqual(['after-0', 'after-1']);
  });

  it('counts the backlog after the checkpoint and waits for an in-flight batch before reporting idle', async () => {
    const stream = await newStream(1);
    const sent = await put(stream, texts('k', 12));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const firstCall = new Promise<void>((r) => (started = r));
    const { calls, handler } = recorder(async (_e, call) => {
      if (call === 1) {
        started();
        await gate;
      }
    });
    const runner = await run(stream, handler, { settings: { batchSize: 5 } });
    await firstCall;
    expect(await runner.backlog()).toEqual([{ shardId: 'shardId-000000000000', checkpoint: undefined, backlog: 12, truncated: false }]);
    expect(await runner.backlog({ limit: 10 })).toEqual([{ shardId: 'shardId-000000000000', checkpoint: undefined, backlog: 10, truncated: true }]);
    expect(await runner.isIdle()).toBe(false);
    await expect(runner.waitForIdle({ timeoutMs: 200 })).rejects.toThrow(/not idle after 200 ms \(backlog shardId-000000000000: 12\)/);
    release();
    await runner.waitForIdle({ timeoutMs: 30_000 });
    expect(calls.map((e) => e.Records.length)).toEqual([5, 5, 2]);
    expect(await runner.backlog()).toEqual([{ shardId: 'shardId-000000000000', checkpoint: sent[11].sequenceNumber, backlog: 0, truncated: false }]);
  });

  it('reads a split shard to its end before its children, keeping order per partition key', async () => {
    const stream = await newStream(1);
    const { calls, handler } = recorder();
    const runner = await run(stream, handler, { shardRefreshMs: 100 });
    await put(stream, texts('parent', 5, () => 'same-key'));
    await runner.waitForIdle({ timeoutMs: 30_000 });

    await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
    for (let i = 0; i < 100; i++) {
      const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const children = await put(stream, texts('child', 5, () => 'same-key'));
    await runner.waitForIdle({ timeoutMs: 30_000 });

    expect(calls.flatMap(decode)).toEqual([...texts('parent', 5), ...texts('child', 5)].map((t) => t.text));
    const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
    expect(Shards).toHaveLength(3);
    expect(children[0].shardId).not.toBe('shardId-000000000000');
    const states = Object.fromEntries(runner.shards().map((s) => [s.shardId, s.state]));
    expect(states['shardId-000000000000']).toBe('finished');
    expect(states[children[0].shardId]).toBe('running');
    expect(runner.checkpoints.get('shardId-000000000000')?.finished).toBe(true);
  });

  it('stops cleanly while idle and refuses to wait afterwards', async () => {
    const stream = await newStream(1);
    const { handler } = recorder();
    const runner = await run(stream, handler);
    await runner.stop();
    await runner.stop(); // idempotent
    await expect(runner.waitForIdle({ timeoutMs: 1_000 })).rejects.toThrow(/stopped/);
  });
});

describe('EventSourceRunner failure handling (AWS documented behaviour)', () => {
  it('retries only the remaining records of a partially failed batch, never records fetched after it', async () => {
    const stream = await newStream(1);
    await put(stream, texts('p', 20));
    let failed = false;
    const { calls, handler } = recorder(async (event) => {
      const at = decode(event).indexOf('p-3');
      if (at >= 0 && !failed) {
        failed = true;
        return { batchItemFailures: [{ itemIdentifier: event.Records[at]!.kinesis.sequenceNumber }] };
      }
      return undefined;
    });
    const runner = await run(stream, handler, { settings: { batchSize: 10 } });
    await runner.waitForIdle({ timeoutMs: 30_000 });
    const all = texts('p', 20).map((t) => t.text);
    expect(calls.map(decode)).toEqual([all.slice(0, 10), all.slice(3, 10), all.slice(10, 20)]);
    expect(runner.counters).toMatchObject({ bisections: 0, records: 20 });
  });

  it('retries from the lowest sequence number when a handler reports several failures', async () => {
    const stream = await newStream(1);
    await put(stream, texts('m', 8));
    const { calls, handler } = recorder(async (event, call) => {
      if (call > 1) return undefined;
      const seq = (text: string) => event.Records[decode(event).indexOf(text)]!.kinesis.sequenceNumber;
      return { batchItemFailures: [{ itemIdentifier: seq('m-6') }, { itemIdentifier: seq('m-2') }, { itemIdentifier: seq('m-4') }] };
    });
    const runner = await run(stream, handler, { settings: { batchSize: 8 } });
    await runner.waitForIdle({ timeoutMs: 30_000 });
    expect(calls.map(decode)).toEqual([texts('m', 8).map((t) => t.text), ['m-2', 'm-3', 'm-4', 'm-5', 'm-6', 'm-7']]);
  });

  it('never halves a batch whose first record is reported failed: it retries it whole', async () => {
    const stream = await newStream(1);
    await put(stream, texts('f', 8));
    const { calls, handler } = recorder(async (event, call) => (call === 1 ? { batchItemFailures: [{ itemIdentifier: event.Records[0]!.kinesis.sequenceNumber }] } : undefined));
    const runner = await run(stream, handler, { settings: { batchSize: 8, bisectBatchOnError: true } });
    await runner.waitForIdle({ timeoutMs: 30_000 });
    expect(calls.map((e) => e.Records.length)).toEqual([8, 8]);
    expect(runner.counters).toMatchObject({ bisections: 0, retries: 1, records: 8 });
  });

  it('treats an invocation still running at the function timeout as a function error, and keeps its writes', async () => {
    const stream = await newStream(1);
    await put(stream, texts('t', 4));
    const written: string[] = [];
    let hang = true;
    const never = new Promise<never>(() => undefined);
    const { calls, handler } = recorder(async (event) => {
      written.push(...decode(event).slice(0, 1)); // a write made before the timeout
      if (hang) {
        hang = false;
        await never;
      }
      return undefined;
    });
    const outcomes: string[] = [];
    const runner = await run(stream, handler, { functionTimeoutSeconds: 1, settings: { batchSize: 4, bisectBatchOnError: true } });
    runner.onInvocation((i) => outcomes.push(`${i.outcome}:${i.event.Records.length}:${i.error ?? ''}`));
    await runner.waitForIdle({ timeoutMs: 30_000 });
    expect(outcomes[0]).toBe('error:4:Task timed out after 1.00 seconds');
    expect(calls.map((e) => e.Records.length)).toEqual([4, 2, 2]); // bisected like any function error
    expect(written[0]).toBe('t-0');
    expect(runner.counters).toMatchObject({ timeouts: 1, bisections: 1, records: 4 });
  });

  it('delivers a backlog younger than maxRecordAgeSeconds even when draining it takes many minutes', async () => {
    const stream = await newStream(1);
    const sent = await put(stream, texts('age', 12));
    // The mapping's clock jumps 10 minutes per invocation: the 6th batch runs 50 minutes after the records arrived;
    // at the 7th they are just over 60 minutes old, and with maxRecordAgeSeconds = 3600 the rest is too old.
    let offset = 0;
    const { calls, handler } = recorder(async () => {
      offset += 10 * 60_000;
    });
    const failedFile = path.join(dir, `age-drain-${stream}.jsonl`);
    const runner = await run(stream, handler, { failedBatchesFile: failedFile, now: () => Date.now() + offset, settings: { batchSize: 1, maxRecordAgeSeconds: 3_600 } });
    await runner.waitForIdle({ timeoutMs: 30_000 });
    expect(calls.flatMap(decode)).toEqual(['age-0', 'age-1', 'age-2', 'age-3', 'age-4', 'age-5']);
    const failures = readJsonl<FailedBatchRecord>(failedFile);
    expect(failures.map((f) => f.requestContext.condition)).toEqual(Array(6).fill('RecordAgeExceeded'));
    expect(failures[0]!.KinesisBatchInfo).toMatchObject({ startSequenceNumber: sent[6]!.sequenceNumber, endSequenceNumber: sent[6]!.sequenceNumber });
    expect(runner.counters.discardedRecords).toBe(6);
  });
});

describe('EventSourceRunner starting positions and resharding', () => {
  it('keeps a backlog in the parent shard during a split and starts the children only after the parent is drained', async () => {
    const stream = await newStream(1);
    await put(stream, texts('parent', 12, () => 'k'));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const { calls, handler } = recorder(async (_e, call) => {
      if (call === 1) {
        entered();
        await gate;
      }
    });
    const runner = await run(stream, handler, { shardRefreshMs: 50, settings: { batchSize: 2 } });
    await inside;
    await splitFirstShard(stream);
    const children = await put(stream, texts('child', 6, () => 'k'));
    expect(children.every((c) => c.shardId !== 'shardId-000000000000')).toBe(true);
    await new Promise((r) => setTimeout(r, 200)); // several refreshes see the children while the parent is held
    expect(runner.shards().filter((s) => s.shardId !== 'shardId-000000000000').map((s) => s.state)).toEqual(['waiting', 'waiting']);
    release();
    await runner.waitForIdle({ timeoutMs: 30_000 });
    expect(calls.flatMap(decode)).toEqual([...texts('parent', 12), ...texts('child', 6)].map((t) => t.text));
    expect(calls.every((e) => new Set(e.Records.map((r) => r.eventID.split(':')[0])).size === 1)).toBe(true);
  });

  it('with LATEST on first start, starts the children of an earlier split at LATEST too', async () => {
    const stream = await newStream(1);
    await put(stream, texts('old-parent', 2));
    await splitFirstShard(stream);
    await put(stream, texts('old-child', 6, (i) => `key-${i}`));
    const { calls, handler } = recorder();
    const runner = await run(stream, handler, { settings: { startingPosition: 'LATEST' } });
    const fresh = await put(stream, texts('new', 6, (i) => `key-${i}`));
    await runner.waitForIdle({ timeoutMs: 30_000 });
    expect(calls.flatMap(decode).sort()).toEqual(fresh.map((r) => r.text).sort());
  });

  it('with LATEST, a restart reads what was written while it was down', async () => {
    const stream = await newStream(1);
    const file = path.join(dir, `checkpoints-latest-${stream}.json`);
    await put(stream, texts('before', 2));
    const first = await run(stream, recorder().handler, { checkpoints: new CheckpointStore({ file }), settings: { startingPosition: 'LATEST' } });
    await first.waitForIdle({ timeoutMs: 30_000 });
    await first.stop();
    await put(stream, texts('down', 3));
    const { calls, handler } = recorder();
    const second = await run(stream, handler, { checkpoints: new CheckpointStore({ file }), settings: { startingPosition: 'LATEST' } });
    await second.waitForIdle({ timeoutMs: 30_000 });
    expect(calls.flatMap(decode)).toEqual(['down-0', 'down-1', 'down-2']);
  });

  it('with AT_TIMESTAMP, starts at the first record that arrived at or after the timestamp', async () => {
    const stream = await newStream(1);
    await put(stream, texts('early', 3));
    await new Promise((r) => setTimeout(r, 50));
    const from = Date.now() / 1000;
    await new Promise((r) => setTimeout(r, 10));
    await put(stream, texts('late', 3));
    const { calls, handler } = recorder();
    const runner = await run(stream, handler, { settings: { startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: from } });
    expect(await runner.backlog()).toEqual([expect.objectContaining({ backlog: 3 })]);
    await runner.waitForIdle({ timeoutMs: 30_000 });
    expect(calls.flatMap(decode)).toEqual(['late-0', 'late-1', 'late-2']);
  });
});

describe('EventSourceRunner settings', () => {
  it.each<[string, Partial<EventSourceRunnerOptions>, RegExp]>([
    ['batch size 0', { settings: { batchSize: 0 } }, /^batchSize must be 1–10000, got 0$/],
    ['a timeout over 15 minutes', { functionTimeoutSeconds: 901 }, /^functionTimeoutSeconds must be 1–900, got 901$/],
    ['AT_TIMESTAMP without a timestamp', { settings: { startingPosition: 'AT_TIMESTAMP' } }, /startingPositionTimestamp \(epoch seconds\) is required/],
  ])('rejects %s with a one-line ConfigError', (_, options, message) => {
    const build = () => new EventSourceRunner({ kinesis, streamName: 'any', handler: async () => undefined, ...options });
    expect(build).toThrow(message);
    expect(build).toThrow(expect.objectContaining({ name: 'ConfigError' }));
  });
});

describe('EventSourceRunner internal errors', () => {
  it('logs the late failure of an invocation that timed out, never leaving it unhandled', async () => {
    const stream = await newStream(1);
    await put(stream, texts('late', 1));
    const logs: string[] = [];
    let fail!: (e: Error) => void;
    const { handler } = recorder(async (_e, call) => {
      if (call === 1) await new Promise<never>((_, reject) => (fail = reject));
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const runner = await run(stream, handler, { functionTimeoutSeconds: 1, log: (l) => logs.push(l) });
      await runner.waitForIdle({ timeoutMs: 30_000 });
      fail(new Error('socket hang up, after the timeout'));
      await new Promise((r) => setTimeout(r, 50));
      expect(logs).toContainEqual(expect.stringMatching(/an invocation that timed out failed later .*socket hang up, after the timeout/));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stops with a clear error when the on-failure destination cannot be written, instead of losing it', async () => {
    const stream = await newStream(1);
    await put(stream, texts('x', 1));
    const fatal: Error[] = [];
    const notAFile = fs.mkdtempSync(path.join(dir, 'failed-batches-dir-'));
    const { handler } = recorder(async () => {
      throw new Error('always fails');
    });
    const runner = await run(stream, handler, { failedBatchesFile: notAFile, onFatal: (e) => fatal.push(e), settings: { retryAttempts: 0 } });
    const waited = runner.waitForIdle({ timeoutMs: 30_000 });
    await expect(waited).rejects.toBeInstanceOf(EventSourceRunnerError);
    await expect(waited).rejects.toThrow(/event source runner stopped: shard shardId-000000000000: .*EISDIR/);
    expect(fatal).toHaveLength(1);
    expect(runner.failure).toBe(fatal[0]);
    expect(runner.checkpoints.get('shardId-000000000000')).toBeUndefined(); // not moved past the undelivered failure
  });
});
