/**
 * How replay cuts a shard's records into invocations: by count, and by the size of the event Lambda would get.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { nextInvokeBatchSize } from '../../cli/replay-session';
import { REPLAY } from '../../lambdas/config';
import { kinesisEventRecord, MAX_INVOKE_PAYLOAD_BYTES, type ReplayRecord } from '../../local/event-source-runner';

function records(n: number, dataBytes: number): ReplayRecord[] {
  const data64 = Buffer.alloc(dataBytes, 7).toString('base64');
  return Array.from({ length: n }, (_, i) => ({ sequenceNumber: `4959${String(i).padStart(52, '0')}`, partitionKey: `PUMP-${i}`, data64, arrivalMs: Date.now() }));
}

/** The event the deployed consumer would get for records[from, from + n), with ARNs of a real deployment. */
function eventBytes(rs: readonly ReplayRecord[], from: number, n: number): number {
  const event: KinesisStreamEvent = {
    Records: rs.slice(from, from + n).map((r) =>
      kinesisEventRecord({
        shardId: 'shardId-000000000003',
        ...r,
        region: 'eu-central-1',
        streamArn: 'arn:aws:kinesis:eu-central-1:123456789012:stream/wellwatch-staging-readings',
        invokeIdentityArn: 'arn:aws:iam::123456789012:role/Wellwatch-staging-ConsumerConsumerRoleA1B2C3D4-ABCDEFGHIJKL',
      }),
    ),
  };
  return Buffer.byteLength(JSON.stringify(event));
}

describe('nextInvokeBatchSize', () => {
  it('takes the batch size of small records, and the rest at the end', () => {
    const rs = records(250, 200);
    expect(nextInvokeBatchSize(rs, 0, REPLAY.invokeBatchSize)).toBe(REPLAY.invokeBatchSize);
    expect(nextInvokeBatchSize(rs, 200, REPLAY.invokeBatchSize)).toBe(50);
  });

  it('keeps an invocation of 1 MiB records under the 6 MB payload limit, as full as the limit allows', () => {
    const rs = records(100, 1024 * 1024);
    const n = nextInvokeBatchSize(rs, 0, REPLAY.invokeBatchSize);
    expect(eventBytes(rs, 0, n)).toBeLessThanOrEqual(MAX_INVOKE_PAYLOAD_BYTES);
    // One more record would not have fitted.
    expect(eventBytes(rs, 0, n + 1)).toBeGreaterThan(MAX_INVOKE_PAYLOAD_BYTES);
    expect(n).toBe(4);
  });

  it('still sends a single record larger than the limit (Lambda then refuses it, as it would refuse the event source)', () => {
    expect(nextInvokeBatchSize(records(3, 7 * 1024 * 1024), 0, REPLAY.invokeBatchSize)).toBe(1);
  });
});
