/**
 * EventSourceRunner.invokeWith against a real kinesalite: the event a replay hands to the handler is the event
 * normal delivery built for the same records, key for key, and nothing else moves (no checkpoint, no on-failure
 * record, no retry).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { readSequenceRange } from '../../cli/stream-range';
import { EventSourceRunner, EventSourceRunnerError, type InvocationInfo } from '../../local/event-source-runner';
import { startKinesalite, type KinesaliteHandle } from '../helpers/kinesalite';

let k: KinesaliteHandle;
let dir: string;

beforeAll(async () => {
  k = await startKinesalite({ shards: 1 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-invoke-with-'));
});

afterAll(async () => {
  await k?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('EventSourceRunner.invokeWith', () => {
  it('builds the same event as normal delivery and moves no checkpoint', async () => {
    const events: KinesisStreamEvent[] = [];
    let failNext = false;
    const failedBatchesFile = path.join(dir, 'failed.jsonl');
    const runner = new EventSourceRunner({
      kinesis: k.client,
      streamName: k.streamName,
      failedBatchesFile,
      pollIntervalMs: 20,
      handler: async (event) => {
        events.push(event);
        if (failNext) return { batchItemFailures: [{ itemIdentifier: event.Records[1].kinesis.sequenceNumber }] };
        return { batchItemFailures: [] };
      },
    });
    const seen: InvocationInfo[] = [];
    runner.onInvocation((i) => seen.push(i));
    await runner.start();
    try {
      const put = await k.client.send(
        new PutRecordsCommand({ StreamName: k.streamName, Records: ['a', 'b', 'c'].map((x) => ({ PartitionKey: `P-${x}`, Data: Buffer.from(`line ${x}`) })) }),
      );
      await runner.waitForIdle({ timeoutMs: 30_000 });
      expect(events).toHaveLength(1);
      const delivered = events[0];
      const checkpoint = runner.checkpoints.get('shardId-000000000000')?.sequenceNumber;
      expect(checkpoint).toBe(put.Records![2].SequenceNumber);

      const { records } = await readSequenceRange(k.client, k.streamName, 'shardId-000000000000', put.Records![0].SequenceNumber!, put.Records![2].SequenceNumber!);
      const ok = await runner.invokeWith(records, 'shardId-000000000000');
      expect(ok).toEqual({ outcome: 'success', batchItemFailures: [] });
      expect(events[1]).toEqual(delivered);

      failNext = true;
      const partial = await runner.invokeWith(records, 'shardId-000000000000');
      expect(partial.failedAt).toBe(1);
      expect(partial.outcome).toBe('partial');
      expect(partial.batchItemFailures).toEqual([{ itemIdentifier: put.Records![1].SequenceNumber }]);

      expect(events).toHaveLength(3); // not retried
      expect(seen.map((i) => i.outcome)).toEqual(['success', 'success', 'partial']);
      expect(runner.checkpoints.get('shardId-000000000000')?.sequenceNumber).toBe(checkpoint);
      expect(fs.existsSync(failedBatchesFile)).toBe(false);
    } finally {
      await runner.stop();
    }
  });

  it('runs under the function timeout like a delivery and reports a timed-out or throwing handler as a function error', async () => {
    let mode: 'hang' | 'throw' = 'hang';
    const runner = new EventSourceRunner({
      kinesis: k.client,
      streamName: k.streamName,
      pollIntervalMs: 20,
      functionTimeoutSeconds: 1,
      settings: { startingPosition: 'LATEST' },
      handler: async () => {
        if (mode === 'throw') throw new Error('table is on fire');
        await new Promise((r) => setTimeout(r, 1_500));
        return { batchItemFailures: [] };
      },
    });
    await runner.start();
    try {
      const countersBefore = { ...runner.counters };
      const records = [{ sequenceNumber: '1', partitionKey: 'P', data64: Buffer.from('x').toString('base64'), arrivalMs: Date.now() }];
      const timedOut = await runner.invokeWith(records, 'shardId-000000000000');
      expect(timedOut).toEqual({ outcome: 'error', failedAt: 0, error: 'Task timed out after 1.00 seconds', batchItemFailures: [] });
      mode = 'throw';
      const thrown = await runner.invokeWith(records, 'shardId-000000000000');
      expect(thrown).toEqual({ outcome: 'error', failedAt: 0, error: 'table is on fire', batchItemFailures: [] });
      // The mapping's own counters describe deliveries only.
      expect(runner.counters).toEqual(countersBefore);
    } finally {
      await runner.stop();
    }
    await expect(runner.invokeWith([{ sequenceNumber: '1', partitionKey: 'P', data64: '', arrivalMs: 0 }], 'shardId-000000000000')).rejects.toThrow(
      EventSourceRunnerError,
    );
  });
});
