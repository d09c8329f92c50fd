/**
 * The partition-limit proxy against a real dynalite, through the AWS SDK: throttles per partition key of the table
 * and of each index exactly as DynamoDB answers, and lets everything else through.
 */
import { BatchWriteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig, KEYS } from '../../../lambdas/config';
import { dynamoClient } from '../../../lambdas/store/clients';
import { readingItem } from '../../../lambdas/core/keys';
import { startPartitionLimitProxy, THROTTLE_MESSAGE, type PartitionLimitProxy } from '../../../local/partition-limits/proxy';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { realmSafeErrors } from '../../helpers/fault-proxy';

let db: DynaliteHandle;
let proxy: PartitionLimitProxy;
let client: DynamoDBClient;
let now = 0;

const reading = (pump: string, day: string, time: string, psi: number) =>
  readingItem({
    pump,
    day,
    time,
    ts: `${day}T${time}Z`,
    values: { hz: 10, disp: 1.5, flo: 800, sedPPM: 1.2, psi, chlPPM: 1.9 },
    alerts: psi < 5 ? ['low-psi'] : [],
  }) as Record<string, AttributeValue>;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  now = 1_000_000;
  proxy = await startPartitionLimitProxy({ target: db.endpoint, writeUnitsPerSecond: 3, readUnitsPerSecond: 6, now: () => now });
  client = dynamoClient(loadConfig({ endpoints: { dynamodb: proxy.endpoint } }, {}), { maxAttempts: 1 });
  realmSafeErrors(client);
});
afterEach(async () => {
  client.destroy();
  await proxy.close();
});

const put = (item: Record<string, AttributeValue>) => client.send(new PutItemCommand({ TableName: db.cfg.readingsTable, Item: item }));
const stored = async (item: Record<string, AttributeValue>) =>
  (await db.client.send(new GetItemCommand({ TableName: db.cfg.readingsTable, Key: { pk: item.pk!, sk: item.sk! } }))).Item !== undefined;

describe('partition-limit proxy', () => {
  test('answers a write over its key limit with ProvisionedThroughputExceededException and ThrottlingReasons, and stores nothing', async () => {
    for (const t of ['00:00:01', '00:00:02', '00:00:03']) await put(reading('HOT', '2026-12-01', t, 80));
    const fourth = reading('HOT', '2026-12-01', '00:00:04', 80);
    const error = await put(fourth).then(
      () => undefined,
      (e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode: number }; ThrottlingReasons?: { reason: string; resource: string }[] },
    );
    expect(error?.name).toBe('ProvisionedThroughputExceededException');
    expect(error?.$metadata.httpStatusCode).toBe(400);
    expect(error?.message).toBe(THROTTLE_MESSAGE);
    expect(error?.ThrottlingReasons).toEqual([{ reason: 'TableWriteKeyRangeThroughputExceeded', resource: expect.stringMatching(/:table\/.*readings$/) }]);
    expect(await stored(fourth)).toBe(false);
    expect(proxy.keyStats()[0]).toMatchObject({ resource: db.cfg.readingsTable, key: 'HOT#2026-12-01', direction: 'write', throttledRequests: 1, consumedUnits: 3 });
  });

  test('limits each key on its own and refills with time', async () => {
    for (const t of ['00:00:01', '00:00:02', '00:00:03']) await put(reading('A', '2026-12-01', t, 80));
    await expect(put(reading('A', '2026-12-01', '00:00:04', 80))).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    await expect(put(reading('B', '2026-12-01', '00:00:04', 80))).resolves.toBeDefined();
    now += 1_000;
    await expect(put(reading('A', '2026-12-01', '00:00:04', 80))).resolves.toBeDefined();
  });

  test('charges an alerting reading on its index keys, which throttle writes of different table keys', async () => {
    // One pump's alerts on three days: three table keys (pump#day), one alertsByPump key (the pump).
    for (const day of ['2026-12-01', '2026-12-02', '2026-12-03']) await put(reading('P1', day, '00:00:01', 2));
    const error = await put(reading('P1', '2026-12-04', '00:00:01', 2)).then(
      () => undefined,
      (e: unknown) => e as { name: string; ThrottlingReasons: { reason: string; resource: string }[] },
    );
    expect(error).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(error!.ThrottlingReasons).toEqual([{ reason: 'IndexWriteKeyRangeThroughputExceeded', resource: expect.stringMatching(/\/index\/alertsByPump$/) }]);
    // The same pump without an alert lands in no index: admitted.
    await expect(put(reading('P1', '2026-12-04', '00:00:02', 80))).resolves.toBeDefined();
    const byPump = proxy.keyStats().find((k) => k.resource === `${db.cfg.readingsTable}/${KEYS.readings.alertsByPump.indexName}`);
    expect(byPump).toMatchObject({ key: 'P1', throttledRequests: 1, consumedUnits: 3 });
    // The refused write's table key was within its limit: the refusal is the index key's, not its.
    expect(proxy.keyStats().find((k) => k.key === 'P1#2026-12-04')).toMatchObject({ throttledRequests: 0 });
  });

  test('charges one write unit per started KB of the item', async () => {
    const big = { ...reading('BIG', '2026-12-01', '00:00:01', 80), pad: { S: 'x'.repeat(2_100) } };
    await put(big); // ~2.2 KB: 3 units, the whole second's budget
    await expect(put(reading('BIG', '2026-12-01', '00:00:02', 80))).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });

  test('BatchWriteItem returns only the throttled items as UnprocessedItems and stores the rest', async () => {
    const items = ['00:00:01', '00:00:02', '00:00:03', '00:00:04', '00:00:05'].map((t) => reading('BATCH', '2026-12-01', t, 80));
    const other = reading('OTHER', '2026-12-01', '00:00:01', 80);
    const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [db.cfg.readingsTable]: [...items, other].map((Item) => ({ PutRequest: { Item } })) } }));
    const unprocessed = (out.UnprocessedItems?.[db.cfg.readingsTable] ?? []).map((r) => r.PutRequest!.Item!.sk!.S);
    expect(unprocessed).toEqual(['00:00:04', '00:00:05']);
    expect(await Promise.all([...items, other].map(stored))).toEqual([true, true, true, false, false, true]);
    expect(proxy.counters.unprocessedEntries).toBe(2);
  });

  test('BatchWriteItem with every item throttled is a ProvisionedThroughputExceededException', async () => {
    for (const t of ['00:00:01', '00:00:02', '00:00:03']) await put(reading('FULL', '2026-12-01', t, 80));
    const batch = new BatchWriteItemCommand({
      RequestItems: { [db.cfg.readingsTable]: ['00:00:04', '00:00:05'].map((t) => ({ PutRequest: { Item: reading('FULL', '2026-12-01', t, 80) } })) },
    });
    await expect(client.send(batch)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
    expect(proxy.counters.throttledRequests.BatchWriteItem).toBe(1);
  });

  test('passes everything through unmetered while enforcement is off', async () => {
    proxy.enforce(false);
    for (const t of ['00:00:01', '00:00:02', '00:00:03', '00:00:04', '00:00:05']) await put(reading('WARM', '2026-12-01', t, 80));
    expect(proxy.keyStats()).toEqual([]);
    proxy.enforce(true);
    for (const t of ['00:00:06', '00:00:07', '00:00:08']) await put(reading('WARM', '2026-12-01', t, 80));
    await expect(put(reading('WARM', '2026-12-01', '00:00:09', 80))).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });

  test('charges a Query on its partition key and refuses it once the key has spent its read units', async () => {
    for (const t of ['00:00:01', '00:00:02']) await db.client.send(new PutItemCommand({ TableName: db.cfg.readingsTable, Item: { ...reading('READ', '2026-12-01', t, 80), pad: { S: 'y'.repeat(3_000) } } }));
    const query = () =>
      client.send(new QueryCommand({ TableName: db.cfg.readingsTable, KeyConditionExpression: '#pk = :pk', ExpressionAttributeNames: { '#pk': 'pk' }, ExpressionAttributeValues: { ':pk': { S: 'READ#2026-12-01' } }, ConsistentRead: true }));
    expect((await query()).Items).toHaveLength(2); // ~6.2 KB strongly consistent: 2 units
    await query();
    await query(); // 6 units spent
    await expect(query()).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException', ThrottlingReasons: [{ reason: 'TableReadKeyRangeThroughputExceeded' }] });
    expect(proxy.keyStats().find((k) => k.direction === 'read')).toMatchObject({ key: 'READ#2026-12-01', consumedUnits: 6, throttledRequests: 1 });
  });
});
