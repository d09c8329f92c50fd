import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PumpCheckpoint } from '../../../lambdas/core/detectors/pump-detectors';
import { readingItem } from '../../../lambdas/core/keys';
import type { EvaluatedReading } from '../../../lambdas/core/types';
import { checkpointKey, createDetectorStore } from '../../../lambdas/store/detector-store';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';

const cp = (lastTs: number): PumpCheckpoint => ({ v: 1, lastTs, series: {} });

function reading(pump: string, ts: string): EvaluatedReading {
  return { pump, day: ts.slice(0, 10), time: ts.slice(11, 19), ts, values: { hz: 1, disp: 1, flo: 1, sedPPM: 1, psi: 1, chlPPM: 1 }, alerts: [] };
}

/** A client that records every command's input and passes it on. */
function recording(client: DynamoDBClient): { client: DynamoDBClient; inputs: any[] } {
  const inputs: any[] = [];
  return { client: { send: (cmd: { input: unknown }) => (inputs.push(cmd.input), client.send(cmd as never)) } as unknown as DynamoDBClient, inputs };
}

describe('detector store on dynalite', () => {
  let db: DynaliteHandle;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => db.close());

  const putRaw = (pump: string, attrs: Record<string, AttributeValue>) =>
    db.client.send(new PutItemCommand({ TableName: db.cfg.alarms.table, Item: { ...checkpointKey(pump), ...attrs } }));

  it('writes a checkpoint only when it is newer than the stored one, and counts writes, bytes and refusals', async () => {
    const store = createDetectorStore(db.client, db.cfg);
    expect(await store.putCheckpoint('W1', cp(2000))).toBe(true);
    expect(await store.putCheckpoint('W1', cp(2000))).toBe(false);
    expect(await store.putCheckpoint('W1', cp(1000))).toBe(false);
    expect(await store.putCheckpoint('W1', cp(3000))).toBe(true);
    expect((await store.getCheckpoints(['W1'])).get('W1')).toEqual(cp(3000));
    const bytes = JSON.stringify(cp(2000)).length + 2 + 40;
    expect(store.counters).toMatchObject({ writes: 4, writtenBytes: 4 * bytes, conditionFailures: 2 });
  });

  it('reads the checkpoints of many pumps (more than one 100-key batch), once per pump, skipping pumps without one', async () => {
    const pumps = Array.from({ length: 150 }, (_, i) => `B${String(i).padStart(3, '0')}`);
    const writer = createDetectorStore(db.client, db.cfg);
    for (const p of pumps.slice(0, 120)) await writer.putCheckpoint(p, cp(5000));
    const rec = recording(db.client);
    const store = createDetectorStore(rec.client, db.cfg);
    const got = await store.getCheckpoints([...pumps, pumps[0]!]);
    expect([...got.keys()].sort()).toEqual(pumps.slice(0, 120));
    expect(got.get('B000')).toEqual(cp(5000));
    expect(store.counters.reads).toBe(150);
    expect(rec.inputs.map((i) => i.RequestItems[db.cfg.alarms.table].Keys.length)).toEqual([100, 50]);
    expect(rec.inputs.every((i) => i.RequestItems[db.cfg.alarms.table].ConsistentRead === true)).toBe(true);
  });

  it('treats a stored item of an unknown format as no checkpoint (the detectors rebuild it)', async () => {
    await putRaw('F1', { cp: { S: JSON.stringify({ v: 2, lastTs: 1 }) } });
    await putRaw('F2', { cp: { S: JSON.stringify({ v: 1, lastTs: '1' }) } });
    await putRaw('F3', { cp: { S: 'null' } });
    await putRaw('F4', { other: { S: 'x' } });
    await putRaw('F5', { cp: { S: JSON.stringify({ lastTs: 1 }) } });
    const got = await createDetectorStore(db.client, db.cfg).getCheckpoints(['F1', 'F2', 'F3', 'F4', 'F5']);
    expect([...got.keys()]).toEqual([]);
  });

  describe('readingsBetween', () => {
    const ms = (ts: string) => Date.parse(ts);
    beforeAll(async () => {
      const times = ['2014-03-10T00:00:00Z', '2014-03-10T00:00:09Z', '2014-03-10T00:00:10Z', '2014-03-10T00:00:11Z', '2014-03-10T00:00:12Z', '2014-03-10T00:00:13Z', '2014-03-10T23:59:59Z', '2014-03-11T00:00:00Z', '2014-03-11T12:00:00Z', '2014-03-11T23:59:59Z', '2014-03-12T00:00:00Z', '2014-03-12T00:00:05Z', '2014-03-12T00:00:06Z'];
      for (const ts of times) await db.client.send(new PutItemCommand({ TableName: db.cfg.readingsTable, Item: readingItem(reading('R', ts)) }));
    });

    async function between(afterTs: string, beforeTs: string) {
      const rec = recording(db.client);
      const store = createDetectorStore(rec.client, db.cfg);
      const out: string[] = [];
      for await (const r of store.readingsBetween('R', ms(afterTs), ms(beforeTs))) out.push(r.ts);
      return { ts: out, counters: store.counters, inputs: rec.inputs };
    }

    it('yields the readings strictly between the two instants, oldest first', async () => {
      const r = await between('2014-03-10T00:00:09Z', '2014-03-10T00:00:12Z');
      expect(r.ts).toEqual(['2014-03-10T00:00:10Z', '2014-03-10T00:00:11Z']);
      expect(r.counters).toMatchObject({ replayed: 2, replayQueries: 1 });
      expect(r.inputs.every((i) => i.ConsistentRead === true)).toBe(true);
    });

    it('yields the one reading when the instants are two seconds apart, and nothing when they are one apart or equal', async () => {
      expect((await between('2014-03-10T00:00:10Z', '2014-03-10T00:00:12Z')).ts).toEqual(['2014-03-10T00:00:11Z']);
      const none = await between('2014-03-10T00:00:10Z', '2014-03-10T00:00:11Z');
      expect(none.ts).toEqual([]);
      expect(none.counters.replayQueries).toBe(0);
      expect((await between('2014-03-10T00:00:10Z', '2014-03-10T00:00:10Z')).ts).toEqual([]);
    });

    it('spans days: the first day from the start time, whole middle days, the last day up to the end time, one query per day', async () => {
      const r = await between('2014-03-10T00:00:12Z', '2014-03-12T00:00:06Z');
      expect(r.ts).toEqual(['2014-03-10T00:00:13Z', '2014-03-10T23:59:59Z', '2014-03-11T00:00:00Z', '2014-03-11T12:00:00Z', '2014-03-11T23:59:59Z', '2014-03-12T00:00:00Z', '2014-03-12T00:00:05Z']);
      expect(r.counters).toMatchObject({ replayed: 7, replayQueries: 3 });
      // DynamoDB rejects an empty string in a key condition: each day's range is spelled out.
      const v = (i: any) => [i.ExpressionAttributeValues[':pk'].S, i.ExpressionAttributeValues[':lo'].S, i.ExpressionAttributeValues[':hi'].S];
      expect(r.inputs.map(v)).toEqual([
        ['R#2014-03-10', '00:00:13', '23:59:59'],
        ['R#2014-03-11', '00:00:00', '23:59:59'],
        ['R#2014-03-12', '00:00:00', '00:00:05'],
      ]);
    });
  });
});

describe('detector store retries (fake client)', () => {
  const cfg = { alarms: { table: 'alarms' }, readingsTable: 'readings' } as never;
  const item = (pump: string, lastTs: number) => ({ ...checkpointKey(pump), cp: { S: JSON.stringify(cp(lastTs)) } });

  let delays: number[];
  beforeEach(() => {
    delays = [];
    jest.spyOn(global, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
      delays.push(ms);
      fn();
      return 0;
    }) as never);
  });
  afterEach(() => jest.restoreAllMocks());

  it('asks again for unprocessed keys, pausing longer each time, until all are read', async () => {
    const calls: any[] = [];
    const responses = [
      { Responses: { alarms: [item('A', 1)] }, UnprocessedKeys: { alarms: { Keys: [checkpointKey('B'), checkpointKey('C')] } } },
      { Responses: { alarms: [item('B', 2)] }, UnprocessedKeys: { alarms: { Keys: [checkpointKey('C')] } } },
      { Responses: { alarms: [item('C', 3)] } },
    ];
    const client = { send: async (c: { input: unknown }) => (calls.push(c.input), responses[calls.length - 1]) } as unknown as DynamoDBClient;
    const store = createDetectorStore(client, cfg);
    const got = await store.getCheckpoints(['A', 'B', 'C']);
    expect(Object.fromEntries(got)).toEqual({ A: cp(1), B: cp(2), C: cp(3) });
    expect(calls.map((c) => c.RequestItems.alarms.Keys.length)).toEqual([3, 2, 1]);
    expect(delays).toEqual([40, 80]);
    expect(store.counters.reads).toBe(3);
  });

  it('gives up with an error after 9 attempts when keys stay unprocessed', async () => {
    let calls = 0;
    const client = {
      send: async () => {
        if (++calls > 20) throw new Error('runaway retry loop');
        return { UnprocessedKeys: { alarms: { Keys: [checkpointKey('A')] } } };
      },
    } as unknown as DynamoDBClient;
    await expect(createDetectorStore(client, cfg).getCheckpoints(['A'])).rejects.toThrow('detector checkpoints: 1 keys still unprocessed after 9 attempts');
    expect(calls).toBe(9);
    expect(delays).toEqual([40, 80, 160, 320, 640, 1280, 2560, 5120]);
  });

  it('counts a condition failure also when the error only carries the name (another copy of the SDK)', async () => {
    const client = { send: async () => Promise.reject(Object.assign(new Error('conditional request failed'), { name: 'ConditionalCheckFailedException' })) } as unknown as DynamoDBClient;
    const store = createDetectorStore(client, cfg);
    expect(await store.putCheckpoint('A', cp(1))).toBe(false);
    expect(store.counters.conditionFailures).toBe(1);
  });

  it('rethrows any other failure unchanged, even a rejection without an error', async () => {
    const boom = new Error('throttled');
    const store = createDetectorStore({ send: async () => Promise.reject(boom) } as unknown as DynamoDBClient, cfg);
    await expect(store.putCheckpoint('A', cp(1))).rejects.toBe(boom);
    const bare = createDetectorStore({ send: async () => Promise.reject(undefined) } as unknown as DynamoDBClient, cfg);
    await expect(bare.putCheckpoint('A', cp(1))).rejects.toBeUndefined();
    expect(store.counters.conditionFailures + bare.counters.conditionFailures).toBe(0);
  });
});
