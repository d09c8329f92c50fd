import { deadLetterId, failedBatchId } from '../../../lambdas/core/message-ids';

describe('message ids', () => {
  it('names an on-failure record by its shard and sequence range', () => {
    expect(failedBatchId({ KinesisBatchInfo: { shardId: 'shardId-000000000001', startSequenceNumber: '10', endSequenceNumber: '20' } })).toBe('shardId-000000000001:10-20');
  });

  it('gives both deliveries of a dead letter the same id, and line 1 when the record held one line', () => {
    const letter = { shardId: 'shardId-000000000000', sequenceNumber: '4959', lineInRecord: 3, rejectedAt: '2026-01-01T00:00:00Z' };
    const again: Parameters<typeof deadLetterId>[0] = { ...letter, rejectedAt: '2026-01-02T00:00:00Z' } as typeof letter;
    expect(deadLetterId(letter)).toBe(deadLetterId(again));
    expect(deadLetterId({ shardId: 's', sequenceNumber: '1' })).toBe('s:1:1');
  });

  it('marks each missing coordinate with ? so the id still shows what is known', () => {
    expect(failedBatchId({})).toBe('?:?-?');
    expect(failedBatchId({ KinesisBatchInfo: { shardId: 'shardId-000000000001' } })).toBe('shardId-000000000001:?-?');
    expect(failedBatchId({ KinesisBatchInfo: { startSequenceNumber: '10' } })).toBe('?:10-?');
    expect(deadLetterId({})).toBe('?:?:1');
    expect(deadLetterId({ sequenceNumber: '4959', lineInRecord: 2 })).toBe('?:4959:2');
  });
});
