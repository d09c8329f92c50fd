/**
 * Reading ranges back from a real Kinesis API (kinesalite over HTTP): exact sequence ranges, a range whose start is
 * no longer in the shard (what Kinesis shows for records past retention), and time ranges.
 */
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { listAllShards, readSequenceRange, readTimeRange, retentionHorizon, StreamRangeError } from '../../cli/stream-range';
import { startKinesalite, type KinesaliteHandle } from '../helpers/kinesalite';

let k: KinesaliteHandle;
const seqs: string[] = [];
let shardId: string;
/** The shard's first sequence number: valid in the shard, but no record is there (like a trimmed one). */
let shardStart: string;
let putAt: number;

beforeAll(async () => {
  k = await startKinesalite({ shards: 1 });
  const shard = (await listAllShards(k.client, k.streamName))[0];
  shardId = shard.ShardId!;
  shardStart = shard.SequenceNumberRange!.StartingSequenceNumber!;
  putAt = Date.now() - 1_000;
  for (let i = 0; i < 12; i++) {
    const out = await k.client.send(new PutRecordCommand({ StreamName: k.streamName, PartitionKey: `P${i}`, Data: Buffer.from(`line ${i}`) }));
    seqs.push(out.SequenceNumber!);
  }
});

afterAll(() => k?.close());

const text = (r: { data64: string }) => Buffer.from(r.data64, 'base64').toString();

describe('readSequenceRange', () => {
  it('reads exactly the records from start to end inclusive', async () => {
    const { records, trimmed } = await readSequenceRange(k.client, k.streamName, shardId, seqs[3], seqs[8], 6);
    expect(records.map(text)).toEqual(['line 3', 'line 4', 'line 5', 'line 6', 'line 7', 'line 8']);
    expect(records.map((r) => r.partitionKey)).toEqual(['P3', 'P4', 'P5', 'P6', 'P7', 'P8']);
    expect(trimmed).toBeUndefined();
  });

  it('reports the part of a range that is gone by range and count when the shard starts later than asked', async () => {
    // A range starting before the shard's first record: what a range past retention looks like once trimmed.
    const { records, trimmed } = await readSequenceRange(k.client, k.streamName, shardId, shardStart, seqs[2], 5);
    expect(records.map(text)).toEqual(['line 0', 'line 1', 'line 2']);
    expect(trimmed).toEqual({ from: shardStart, to: (BigInt(seqs[0]) - 1n).toString(), count: 2 });
  });

  it('reports a range wholly gone with the count the on-failure record gave', async () => {
    const start = shardStart;
    const end = (BigInt(seqs[0]) - 1n).toString();
    expect(await readSequenceRange(k.client, k.streamName, shardId, start, end, 4)).toEqual({ records: [], trimmed: { from: start, to: end, count: 4 } });
  });

  it('refuses a reversed range and an unknown shard with one line naming them', async () => {
    await expect(readSequenceRange(k.client, k.streamName, shardId, seqs[5], seqs[1])).rejects.toThrow(/is not a range of sequence numbers/);
    await expect(readSequenceRange(k.client, k.streamName, 'shardId-000000000007', seqs[0], seqs[1])).rejects.toBeInstanceOf(StreamRangeError);
  });
});

describe('readTimeRange', () => {
  it('reads every record that arrived in the time range, and none from a range before them', async () => {
    const pages: string[] = [];
    for await (const page of readTimeRange(k.client, k.streamName, shardId, new Date(putAt), new Date())) pages.push(...page.map(text));
    expect(pages).toEqual(seqs.map((_, i) => `line ${i}`));
    const none: string[] = [];
    for await (const page of readTimeRange(k.client, k.streamName, shardId, new Date(putAt - 60_000), new Date(putAt - 30_000))) none.push(...page.map(text));
    expect(none).toEqual([]);
  });

  it('knows the oldest arrival time the stream still holds', async () => {
    const { horizon, hours } = await retentionHorizon(k.client, k.streamName, Date.parse('2026-01-02T00:00:00Z'));
    expect(hours).toBe(24);
    expect(horizon.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});
