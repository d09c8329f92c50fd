/**
 * queryAll against dynalite: every page of a Query as one lazy stream. Small `Limit`s in the input force several
 * pages; an interceptor on `client.send` records each Query's `Limit` and `ExclusiveStartKey`.
 */
import { BatchWriteItemCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { KEYS } from '../../../lambdas/config';
import { queryAll } from '../../../lambdas/store/paginate';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { collect, recordQueries } from '../../helpers/intercept';

const SEVEN = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
const EIGHT = [...SEVEN, 'k7'];

describe('queryAll', () => {
  let db: DynaliteHandle;
  let table: string;
  const input = (pk: string, limit?: number): QueryCommandInput => ({
    TableName: table,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': KEYS.partitionKey },
    ExpressionAttributeValues: { ':pk': { S: pk } },
    ...(limit === undefined ? {} : { Limit: limit }),
  });


  beforeAll(async () => {
    db = await startDynalite();
    table = db.cfg.readingsTable;
    const put = (pk: string, sks: string[]) =>
      db.client.send(new BatchWriteItemCommand({ RequestItems: { [table]: sks.map((sk) => ({ PutRequest: { Item: { pk: { S: pk }, sk: { S: sk } } } })) } }));
    await put('SEVEN', SEVEN);
    await put('EIGHT', EIGHT);
    await put('OTHER', ['k0', 'k9']);
  });
  afterAll(async () => {
    await db.close();
  });

  const sks = (items: Record<string, any>[]) => items.map((i) => i.sk.S as string);

  it('yields every item of a one-page result in sort-key order, in one Query', async () => {
    const { sent } = await recordQueries(db.client, async () => {
      expect(sks(await collect(queryAll(db.client, input('SEVEN'))))).toEqual(SEVEN);
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.ExclusiveStartKey).toBeUndefined();
  });

  it('follows LastEvaluatedKey over several pages, each next Query starting after the last key of the page before', async () => {
    const { sent } = await recordQueries(db.client, async () => {
      expect(sks(await collect(queryAll(db.client, input('SEVEN', 2))))).toEqual(SEVEN);
    });
    // Pages of 2, 2, 2 and a short last page of 1 without LastEvaluatedKey.
    expect(sent.map((s) => s.Limit)).toEqual([2, 2, 2, 2]);
    expect(sent.map((s) => s.ExclusiveStartKey?.sk?.S)).toEqual([undefined, 'k1', 'k3', 'k5']);
    expect(sent[1]!.ExclusiveStartKey).toEqual({ pk: { S: 'SEVEN' }, sk: { S: 'k1' } });
  });

  it('asks once more when the last page was full, and ends on the empty page without a key', async () => {
    const { sent } = await recordQueries(db.client, async () => {
      expect(sks(await collect(queryAll(db.client, input('EIGHT', 4))))).toEqual(EIGHT);
    });
    expect(sent.map((s) => s.ExclusiveStartKey?.sk?.S)).toEqual([undefined, 'k3', 'k7']);
  });

  it('keeps the rest of the input (key condition, Limit) on every page', async () => {
    const { sent } = await recordQueries(db.client, async () => {
      await collect(queryAll(db.client, { ...input('SEVEN', 3), ScanIndexForward: false }));
    });
    expect(sent).toHaveLength(3);
    for (const s of sent) expect(s).toMatchObject({ ...input('SEVEN', 3), ScanIndexForward: false });
  });

  it('reads a descending result across pages', async () => {
    expect(sks(await collect(queryAll(db.client, { ...input('SEVEN', 3), ScanIndexForward: false })))).toEqual(SEVEN.slice().reverse());
  });

  it('yields nothing for an empty partition, in one Query', async () => {
    const { sent } = await recordQueries(db.client, async () => {
      expect(await collect(queryAll(db.client, input('NOBODY', 2)))).toEqual([]);
    });
    expect(sent).toHaveLength(1);
  });

  it('fetches the next page only when the consumer asks for an item beyond the current one', async () => {
    const { sent } = await recordQueries(db.client, async (sent) => {
      const it = queryAll(db.client, input('SEVEN', 2));
      expect(sent).toHaveLength(0);
      expect((await it.next()).value.sk.S).toBe('k0');
      expect(sent).toHaveLength(1);
      expect((await it.next()).value.sk.S).toBe('k1');
      expect(sent).toHaveLength(1);
      expect((await it.next()).value.sk.S).toBe('k2');
      expect(sent).toHaveLength(2);
      await it.return(undefined);
    });
    expect(sent).toHaveLength(2);
  });

  it('ends on an empty LastEvaluatedKey object, as on an absent one', async () => {
    const { sent } = await recordQueries(db.client, async () => {
      expect(sks(await collect(queryAll(db.client, input('SEVEN', 2))))).toEqual(['k0', 'k1']);
    }, (out) => ({ ...out, LastEvaluatedKey: {} }));
    expect(sent).toHaveLength(1);
  });

  it('treats a page without Items as empty and still follows its key', async () => {
    let calls = 0;
    const { sent } = await recordQueries(db.client, async () => {
      // The first page (k0, k1) is dropped by the interceptor; the second starts after k1.
      expect(sks(await collect(queryAll(db.client, input('SEVEN', 2))))).toEqual(SEVEN.slice(2));
    }, (out) => (calls++ === 0 ? { ...out, Items: undefined } : out));
    expect(sent).toHaveLength(4);
  });

  it('starts from an ExclusiveStartKey given in the input', async () => {
    const got = await collect(queryAll(db.client, { ...input('SEVEN', 2), ExclusiveStartKey: { pk: { S: 'SEVEN' }, sk: { S: 'k4' } } }));
    expect(sks(got)).toEqual(['k5', 'k6']);
  });

  it('reads only the partition of its key condition', async () => {
    expect(sks(await collect(queryAll(db.client, input('OTHER', 1))))).toEqual(['k0', 'k9']);
  });
});
