/**
 * The reading store against dynalite: what a put writes, what the rollup's day reads return, and how a malformed
 * item is refused instead of being rolled up as zeros.
 */
import { BatchWriteItemCommand, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { KEYS } from '../../../lambdas/config';
import { WellwatchError } from '../../../lambdas/core/errors';
import { pumpDayPk, readingItem, readingKey } from '../../../lambdas/core/keys';
import type { EvaluatedReading } from '../../../lambdas/core/types';
import { createReadingStore, valuesFromDataAttribute } from '../../../lambdas/store/reading-store';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { collect, intercept } from '../../helpers/intercept';

function reading(pump: string, day: string, time: string, psi: number): EvaluatedReading {
  return { pump, day, time, ts: `${day}T${time}Z`, values: { hz: 1.5, disp: -2.25, flo: 800, sedPPM: 0.125, psi, chlPPM: 3 }, alerts: [] };
}

describe('valuesFromDataAttribute', () => {
  const item = readingItem(reading('ALPHA', '2014-03-10', '00:00:00', 61.75));

  it('decodes every measure of the data group', () => {
    expect(valuesFromDataAttribute(item)).toEqual({ hz: 1.5, disp: -2.25, flo: 800, sedPPM: 0.125, psi: 61.75, chlPPM: 3 });
  });

  it.each([
    ['a missing data group', 'hz', (i: Record<string, any>) => delete i[KEYS.readings.dataAttribute]],
    ['a missing measure', 'psi', (i: Record<string, any>) => delete i[KEYS.readings.dataAttribute].M.psi],
    ['a measure that is a string', 'psi', (i: Record<string, any>) => (i[KEYS.readings.dataAttribute].M.psi = { S: '61' })],
    ['a measure that is not a number', 'chlPPM', (i: Record<string, any>) => (i[KEYS.readings.dataAttribute].M.chlPPM = { N: 'abc' })],
    ['an infinite measure', 'psi', (i: Record<string, any>) => (i[KEYS.readings.dataAttribute].M.psi = { N: 'Infinity' })],
  ])('refuses %s, naming the item and the measure', (_, measure, damage) => {
    const broken = structuredClone(item) as Record<string, any>;
    damage(broken);
    const call = () => valuesFromDataAttribute(broken);
    expect(call).toThrow(WellwatchError);
    expect(call).toThrow(`malformed reading item ${JSON.stringify({ S: pumpDayPk('ALPHA', '2014-03-10') })}: ${KEYS.readings.dataAttribute}.${measure} must be a number (N)`);
  });

  it('names a null item key when the item has no partition key', () => {
    expect(() => valuesFromDataAttribute({})).toThrow(`malformed reading item null: ${KEYS.readings.dataAttribute}.hz must be a number (N)`);
  });
});

describe('ReadingStore', () => {
  let db: DynaliteHandle;
  afterEach(async () => {
    await db?.close();
  });

  it('writes items without expiresAt when no retention is configured', async () => {
    db = await startDynalite({ config: { retentionDays: 0 } });
    const store = createReadingStore(db.client, db.cfg);
    const r = reading('ALPHA', '2014-03-10', '01:02:03', 60);
    expect(await store.put([r])).toMatchObject({ failed: [] });
    const out = await db.client.send(new GetItemCommand({ TableName: db.cfg.readingsTable, Key: readingKey(r.pump, r.day, r.time), ConsistentRead: true }));
    expect(out.Item).toEqual(readingItem(r));
    expect(out.Item![KEYS.ttlAttribute]).toBeUndefined();
  });

  it("writes with the configuration's attempts, and with the retry options the store was created with", async () => {
    db = await startDynalite();
    let calls = 0;
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      calls++;
      return { UnprocessedItems: command.input.RequestItems };
    });
    const r = reading('ALPHA', '2014-03-10', '01:02:03', 60);
    const fromConfig = createReadingStore(db.client, { ...db.cfg, writeMaxAttempts: 2, writeBaseDelayMs: 0 });
    expect((await fromConfig.put([r])).failed).toEqual([0]);
    expect(calls).toBe(2);
    calls = 0;
    const delays: number[] = [];
    const fromOptions = createReadingStore(db.client, db.cfg, { maxAttempts: 3, sleep: async (ms: number) => void delays.push(ms) });
    expect((await fromOptions.put([r])).failed).toEqual([0]);
    expect(calls).toBe(3);
    expect(delays).toHaveLength(2);
  });

  it('stops writing when stopWhen answers true, reporting every reading failed', async () => {
    db = await startDynalite();
    const store = createReadingStore(db.client, db.cfg);
    const result = await store.put([reading('ALPHA', '2014-03-10', '00:00:00', 1), reading('ALPHA', '2014-03-10', '00:00:10', 2)], { stopWhen: () => true });
    expect(result.failed).toEqual([0, 1]);
    expect(result.stopped).toBe(true);
    expect(await collect(store.dayValues('ALPHA', '2014-03-10'))).toEqual([]);
  });

  it("streams one pump-day's readings with their times in ascending order, strongly consistent", async () => {
    db = await startDynalite();
    const store = createReadingStore(db.client, db.cfg);
    const mine = [reading('ALPHA', '2014-03-10', '23:59:59', 3), reading('ALPHA', '2014-03-10', '00:00:00', 1), reading('ALPHA', '2014-03-10', '12:00:00', 2)];
    const others = [reading('BRAVO', '2014-03-10', '06:00:00', 9), reading('ALPHA', '2014-03-11', '06:00:00', 8)];
    expect((await store.put([...mine, ...others])).failed).toEqual([]);
    const sent: any[] = [];
    intercept(db.client, (command, next) => {
      sent.push(command);
      return next(command);
    });
    const got = await collect(store.dayReadings('ALPHA', '2014-03-10'));
    expect(got).toEqual(['00:00:00', '12:00:00', '23:59:59'].map((time, i) => ({ time, values: reading('ALPHA', '2014-03-10', time, i + 1).values })));
    const q = sent.find((c) => c instanceof QueryCommand)!;
    expect(q.input.ConsistentRead).toBe(true);
    expect(q.input.ProjectionExpression).toBe('#sk, #d');
    expect(await collect(store.dayValues('ALPHA', '2014-03-10'))).toEqual(got.map((r) => r.values));
  });

  it('refuses a reading item whose sort key is not a string, naming the pump-day', async () => {
    db = await startDynalite();
    const store = createReadingStore(db.client, db.cfg);
    const item = readingItem(reading('ALPHA', '2014-03-10', '00:00:00', 1));
    await db.client.send(new PutItemCommand({ TableName: db.cfg.readingsTable, Item: item }));
    // The sort key cannot be anything but a string in the table, so the answer is bent on its way back.
    intercept(db.client, async (command, next) => {
      const out = await next(command);
      if (command instanceof QueryCommand) for (const i of out.Items ?? []) i[KEYS.sortKey] = { N: '0' };
      return out;
    });
    await expect(collect(store.dayReadings('ALPHA', '2014-03-10'))).rejects.toThrow(
      new WellwatchError(`malformed reading item of ALPHA on 2014-03-10: ${KEYS.sortKey} must be a string`),
    );
  });
});
