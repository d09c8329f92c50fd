/**
 * The query API's budgeted reads against dynalite: ReadBudget's accounting (used, exhausted, lastComplete, Limits
 * capped by what is left, reservations of Queries in flight), query()'s and queryMerged()'s cuts by `want` and by
 * the budget, the exact-prefix guarantee of queryMerged, and every exported read's range, day-span, `want` and
 * DayProgress behaviour.
 *
 * Seeded with PutRequests of the real item layouts (lambdas/core/keys.ts); an interceptor on `client.send` records
 * every Query's input where the Limits or the number of requests matter.
 */
import { BatchWriteItemCommand, type AttributeValue, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { KEYS } from '../../../lambdas/config';
import { hourlyItem, readingItem, statsItem } from '../../../lambdas/core/keys';
import { rollupReadings } from '../../../lambdas/core/rollup';
import type { DailyStats, EvaluatedReading, MeasureValues } from '../../../lambdas/core/types';
import {
  ReadBudget,
  alertsOfDay,
  alertsOfPump,
  dailyRows,
  hourlyRows,
  lastRolledDay,
  latestReading,
  readingsBetween,
  statsOfDay,
  valuesBetween,
  type DayProgress,
} from '../../../lambdas/store/serving-reads';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { collect, recordQueries } from '../../helpers/intercept';

type RawItem = Record<string, AttributeValue>;

const D1 = '2014-03-10';
const D2 = '2014-03-11';
const D3 = '2014-03-12'; // ALPHA has no readings this day (BRAVO has)
const D4 = '2014-03-13';
const TIMES = ['00:00:00', '06:00:00', '12:00:00', '23:59:59'];
/** Pumps with alerts and daily rows on D1, spread over many buckets. */
const FLEET = Array.from({ length: 40 }, (_, i) => `F${String(i).padStart(2, '0')}`);

function reading(pump: string, day: string, time: string, n: number, alerting = false): EvaluatedReading {
  const values: MeasureValues = { hz: n, disp: 1.5, flo: 800 + n, sedPPM: 0.25, psi: alerting ? 2 : 60, chlPPM: 1.2 };
  return { pump, day, time, ts: `${day}T${time}Z`, values, alerts: alerting ? ['low-psi'] : [] };
}

/** ALPHA on D1, D2 and D4 at TIMES (06:00:00 alerting), BRAVO on D1 and D3, one FLEET alert each on D1 and some on D2. */
function makeReadings(): EvaluatedReading[] {
  const out: EvaluatedReading[] = [];
  let n = 0;
  for (const day of [D1, D2, D4]) for (const time of TIMES) out.push(reading('ALPHA', day, time, ++n, time === '06:00:00'));
  for (const time of TIMES) out.push(reading('BRAVO', D1, time, ++n, time === '06:00:00'));
  out.push(reading('BRAVO', D3, '12:00:00', ++n, true));
  FLEET.forEach((pump, i) => {
    out.push(reading(pump, D1, `0${i % 3}:00:00`, ++n, true));
    if (i % 5 === 0) out.push(reading(pump, D2, '01:00:00', ++n, true));
  });
  return out;
}

const stats = (pump: string, date: string, hz: number): DailyStats => rollupReadings(pump, date, [{ hz, disp: 1, flo: 2, sedPPM: 3, psi: 4, chlPPM: 5 }]);

/** Plain items `{ pk, sk, keep }` of the readings table for the budget tests (not readings). */
function raw(pk: string, sks: string[], keep: (sk: string, i: number) => boolean = () => true): RawItem[] {
  return sks.map((sk, i) => ({ pk: { S: pk }, sk: { S: sk }, keep: { BOOL: keep(sk, i) } }));
}
const keys = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `k${String(from + i).padStart(2, '0')}`);
/** k00..k29 over the buckets M#0..M#2 unevenly (runs and interleavings); M#3 stays empty. */
const MERGED = keys(30);
const bucketOf = (i: number) => [0, 0, 0, 1, 2, 1, 2, 2, 2, 2, 0, 1, 0, 1, 1, 1, 1, 1, 2, 0, 0, 2, 1, 0, 0, 0, 0, 2, 1, 0][i]!;
const MERGE_INPUTS = [0, 1, 2, 3].map((b) => `M#${b}`);

describe('serving reads', () => {
  let db: DynaliteHandle;
  let table: string;
  const readings = makeReadings();
  const alpha = readings.filter((r) => r.pump === 'ALPHA');

  const input = (pk: string, extra: Partial<QueryCommandInput> = {}): QueryCommandInput => ({
    TableName: table,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': KEYS.partitionKey },
    ExpressionAttributeValues: { ':pk': { S: pk } },
    ...extra,
  });
  const after = (pk: string, sk: string): QueryCommandInput => ({
    TableName: table,
    KeyConditionExpression: '#pk = :pk AND #sk > :a',
    ExpressionAttributeNames: { '#pk': KEYS.partitionKey, '#sk': KEYS.sortKey },
    ExpressionAttributeValues: { ':pk': { S: pk }, ':a': { S: sk } },
  });
  const kept = (pk: string): QueryCommandInput =>
    input(pk, { FilterExpression: '#keep = :t', ExpressionAttributeNames: { '#pk': KEYS.partitionKey, '#keep': 'keep' }, ExpressionAttributeValues: { ':pk': { S: pk }, ':t': { BOOL: true } } });
  const sks = (items: RawItem[]) => items.map((i) => i.sk!.S!);

  /** Runs `fn` recording every Query input sent (and what the budget looked like while it was in flight). */
  async function recorded<T>(fn: () => Promise<T>, budget?: ReadBudget, edit: (out: any, n: number) => any = (out) => out): Promise<{ out: T; sent: QueryCommandInput[]; inFlight: { used: number; exhausted: boolean }[] }> {
    const inFlight: { used: number; exhausted: boolean }[] = [];
    const { out, sent } = await recordQueries(db.client, fn, edit, () => void (budget && inFlight.push({ used: budget.used, exhausted: budget.exhausted })));
    return { out, sent, inFlight };
  }

  async function putAll(client: DynamoDBClient, tableName: string, items: RawItem[] | Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item: Item as RawItem } })) } }));
      expect(Object.keys(out.UnprocessedItems ?? {})).toEqual([]);
    }
  }

  beforeAll(async () => {
    db = await startDynalite();
    table = db.cfg.readingsTable;
    await putAll(db.client, table, readings.map((r) => readingItem(r)));
    await putAll(db.client, table, [
      ...raw('TEN', keys(10)),
      ...raw('TEN2', keys(10)),
      ...raw('FORTY', keys(40)),
      ...raw('EVEN', keys(10), (_, i) => i % 2 === 0),
      ...raw('LATE', keys(10), (_, i) => i >= 8),
      ...raw('LATE20', keys(20), (_, i) => i >= 18),
      ...raw('LATE20B', keys(20), (_, i) => i >= 18),
      ...MERGED.map((sk, i) => ({ pk: { S: `M#${bucketOf(i)}` }, sk: { S: sk } })),
    ]);
    const daily = [stats('ALPHA', D1, 1), stats('ALPHA', D2, 2), stats('ALPHA', D4, 4), stats('BRAVO', D1, 5), stats('BRAVO', D3, 6), ...FLEET.map((p, i) => stats(p, D1, 10 + i))];
    await putAll(db.client, db.cfg.statsTable, daily.map((s) => statsItem(s)));
    const hours = [`${D1}T22`, `${D1}T23`, `${D2}T00`, `${D2}T01`, `${D2}T02`].map((h, i) => stats('ALPHA', h, 100 + i));
    await putAll(db.client, db.cfg.statsTable, [...hours, stats('BRAVO', `${D1}T23`, 200)].map((s) => hourlyItem(s)));
  });
  afterAll(async () => {
    await db.close();
  });

  describe('ReadBudget.query', () => {
    it('starts with nothing used, not exhausted, its (absent) last read complete', () => {
      const budget = new ReadBudget(5);
      expect([budget.used, budget.exhausted, budget.lastComplete, budget.max]).toEqual([0, false, true, 5]);
    });

    it('reads a whole result in one Query of Limit = the budget, counting each item, and reports it complete', async () => {
      const budget = new ReadBudget(100);
      const { out, sent } = await recorded(() => collect(budget.query(db.client, input('TEN'))));
      expect(sks(out)).toEqual(keys(10));
      expect(sent.map((s) => s.Limit)).toEqual([100]);
      expect([budget.used, budget.exhausted, budget.lastComplete]).toEqual([10, false, true]);
    });

    it('charges one unit for an empty Query', async () => {
      const budget = new ReadBudget(100);
      expect(await collect(budget.query(db.client, input('NOBODY')))).toEqual([]);
      expect([budget.used, budget.lastComplete]).toEqual([1, true]);
    });

    it('stops at want, asking for no more than want items, and reports the read cut', async () => {
      const budget = new ReadBudget(100);
      const { out, sent } = await recorded(() => collect(budget.query(db.client, input('TEN'), 4)));
      expect(sks(out)).toEqual(keys(4));
      expect(sent.map((s) => s.Limit)).toEqual([4]);
      expect([budget.used, budget.exhausted, budget.lastComplete]).toEqual([4, false, false]);
    });

    it('reads nothing for want 0', async () => {
      const budget = new ReadBudget(100);
      const { out, sent } = await recorded(() => collect(budget.query(db.client, input('TEN'), 0)));
      expect([out, sent, budget.used, budget.lastComplete]).toEqual([[], [], 0, false]);
    });

    it('stops at the budget, exhausted, and then sends no Query at all', async () => {
      const budget = new ReadBudget(6);
      const { out, sent } = await recorded(() => collect(budget.query(db.client, input('TEN'))));
      expect(sks(out)).toEqual(keys(6));
      expect(sent.map((s) => s.Limit)).toEqual([6]);
      expect([budget.used, budget.exhausted, budget.lastComplete]).toEqual([6, true, false]);
      const again = await recorded(() => collect(budget.query(db.client, input('TEN2'))));
      expect([again.out, again.sent, budget.used, budget.lastComplete]).toEqual([[], [], 6, false]);
    });

    it('is exhausted from the start with a budget of 0', async () => {
      const budget = new ReadBudget(0);
      expect(budget.exhausted).toBe(true);
      const { out, sent } = await recorded(() => collect(budget.query(db.client, input('TEN'))));
      expect([out, sent]).toEqual([[], []]);
    });

    it('caps each Limit by what earlier reads of the request left', async () => {
      const budget = new ReadBudget(15);
      const { sent } = await recorded(async () => {
        expect(sks(await collect(budget.query(db.client, input('TEN'), 4)))).toEqual(keys(4));
        expect(sks(await collect(budget.query(db.client, input('TEN2'))))).toEqual(keys(10));
        expect(budget.lastComplete).toBe(true);
        expect(sks(await collect(budget.query(db.client, input('TEN'))))).toEqual(keys(1));
      });
      expect(sent.map((s) => s.Limit)).toEqual([4, 11, 1]);
      expect([budget.used, budget.exhausted, budget.lastComplete]).toEqual([15, true, false]);
    });

    it('counts the items DynamoDB scanned, not only those a filter kept, and follows each page on', async () => {
      const budget = new ReadBudget(100);
      const { out, sent } = await recorded(() => collect(budget.query(db.client, kept('EVEN'), 3)));
      // Limit 3 scans k00..k02 (keeps k00, k02); Limit 1 scans k03 (keeps none, still a page); Limit 1 scans k04.
      expect(sks(out)).toEqual(['k00', 'k02', 'k04']);
      expect(sent.map((s) => s.Limit)).toEqual([3, 1, 1]);
      expect(sent.map((s) => s.ExclusiveStartKey?.sk?.S)).toEqual([undefined, 'k02', 'k03']);
      expect(budget.used).toBe(5);
      expect(budget.lastComplete).toBe(false);
    });

    it('charges one unit for each page whose items a filter all dropped, the last empty page included', async () => {
      const budget = new ReadBudget(100);
      const dropAll = input('TEN', { FilterExpression: '#keep = :no', ExpressionAttributeNames: { '#pk': KEYS.partitionKey, '#keep': 'keep' }, ExpressionAttributeValues: { ':pk': { S: 'TEN' }, ':no': { BOOL: false } } });
      const { out, sent } = await recorded(() => collect(budget.query(db.client, dropAll, 1)));
      expect(out).toEqual([]);
      // Still wanting 1, it pages on with Limit 1: ten pages scanning one item each, then an empty last page.
      expect(sent.map((s) => s.Limit)).toEqual(Array(11).fill(1));
      expect([budget.used, budget.lastComplete]).toEqual([11, true]);
    });

    it('ends on an empty LastEvaluatedKey object, the read complete', async () => {
      const budget = new ReadBudget(100);
      const { out, sent } = await recorded(() => collect(budget.query(db.client, input('TEN', { Limit: 1 }), 3)), undefined, (o) => ({ ...o, LastEvaluatedKey: {} }));
      expect(sks(out)).toEqual(keys(3));
      expect(sent).toHaveLength(1);
      expect(budget.lastComplete).toBe(true);
    });

    it('reserves a Query\'s Limit while it is in flight', async () => {
      const budget = new ReadBudget(10);
      const first = await recorded(() => collect(budget.query(db.client, input('TEN'), 4)), budget);
      expect(first.inFlight).toEqual([{ used: 0, exhausted: false }]);
      const second = await recorded(() => collect(budget.query(db.client, input('TEN2'), 6)), budget);
      expect(second.inFlight).toEqual([{ used: 4, exhausted: true }]);
      expect([budget.used, budget.exhausted]).toEqual([10, true]);
    });

    it('never lets Queries in parallel together ask for more than the budget', async () => {
      const budget = new ReadBudget(10);
      const { out, sent } = await recorded(() => Promise.all([collect(budget.query(db.client, input('TEN'), 6)), collect(budget.query(db.client, input('TEN2'), 6))]));
      expect(sent.map((s) => s.Limit)).toEqual([6, 4]);
      expect(out.map((items) => items.length)).toEqual([6, 4]);
      expect([budget.used, budget.exhausted]).toEqual([10, true]);
    });

    it('releases a failed Query\'s reservation without charging it', async () => {
      const budget = new ReadBudget(10);
      await expect(
        recorded(
          () => collect(budget.query(db.client, input('TEN'), 5)),
          undefined,
          () => {
            throw new Error('network down');
          },
        ),
      ).rejects.toThrow('network down');
      expect([budget.used, budget.exhausted]).toEqual([0, false]);
      const { sent } = await recorded(() => collect(budget.query(db.client, input('TEN'))));
      expect(sent.map((s) => s.Limit)).toEqual([10]);
    });

    it('reports a complete read after a cut one, and a cut one after a complete one', async () => {
      const budget = new ReadBudget(100);
      await collect(budget.query(db.client, input('TEN')));
      expect(budget.lastComplete).toBe(true);
      await collect(budget.query(db.client, input('TEN'), 2));
      expect(budget.lastComplete).toBe(false);
      await collect(budget.query(db.client, input('TEN2')));
      expect(budget.lastComplete).toBe(true);
    });

    it('reports the read cut when the consumer stops early', async () => {
      const budget = new ReadBudget(100);
      for await (const item of budget.query(db.client, input('TEN'))) if (item.sk!.S === 'k01') break;
      expect(budget.lastComplete).toBe(false);
    });
  });

  describe('ReadBudget.queryMerged', () => {
    const mergeInputs = () => MERGE_INPUTS.map((pk) => input(pk));
    const limitsByPk = (sent: QueryCommandInput[]) => {
      const out: Record<string, number[]> = {};
      for (const s of sent) (out[s.ExpressionAttributeValues![':pk']!.S!] ??= []).push(s.Limit!);
      return out;
    };

    it('merges every bucket into one ascending order, each bucket read once when the budget allows', async () => {
      const budget = new ReadBudget(1_000);
      const { out, sent } = await recorded(() => collect(budget.queryMerged(db.client, mergeInputs(), 'sk')));
      expect(sks(out)).toEqual(MERGED);
      // An even share of the budget each (1000 / 4), the empty bucket costing one unit.
      expect(sent.map((s) => s.Limit)).toEqual([250, 250, 250, 250]);
      expect([budget.used, budget.lastComplete]).toEqual([31, true]);
    });

    it('yields nothing, complete, for no inputs or only empty buckets', async () => {
      const none = new ReadBudget(10);
      expect(await collect(none.queryMerged(db.client, [], 'sk'))).toEqual([]);
      expect([none.used, none.lastComplete]).toEqual([0, true]);
      const empty = new ReadBudget(10);
      expect(await collect(empty.queryMerged(db.client, [input('NOBODY'), input('NOONE')], 'sk'))).toEqual([]);
      expect([empty.used, empty.lastComplete]).toEqual([2, true]);
    });

    it('stops at want, the first pages ceil(want / buckets) + 1 each, the read cut', async () => {
      const budget = new ReadBudget(1_000);
      const { out, sent } = await recorded(() => collect(budget.queryMerged(db.client, mergeInputs(), 'sk', 7)));
      expect(sks(out)).toEqual(MERGED.slice(0, 7));
      expect(sent.slice(0, 4).map((s) => s.Limit)).toEqual([3, 3, 3, 3]);
      for (const s of sent) expect(s.Limit).toBeLessThanOrEqual(7);
      expect(budget.lastComplete).toBe(false);
    });

    it('doubles a bucket\'s page size from page to page, never past the items still wanted', async () => {
      const budget = new ReadBudget(1_000);
      const inputs = [input('FORTY'), ...Array.from({ length: 9 }, (_, i) => input(`EMPTY#${i}`))];
      const { out, sent } = await recorded(() => collect(budget.queryMerged(db.client, inputs, 'sk', 30)));
      expect(sks(out)).toEqual(keys(30));
      // First pages ceil(30 / 10) + 1 = 4, then 8, 16, and the 2 still wanted.
      expect(limitsByPk(sent).FORTY).toEqual([4, 8, 16, 2]);
      expect(budget.used).toBe(30 + 9);
    });

    it('shares what is left of the budget evenly among the buckets it fills at once', async () => {
      const budget = new ReadBudget(10);
      const { out, sent } = await recorded(() => collect(budget.queryMerged(db.client, [input('TEN'), input('TEN2'), input('FORTY')], 'sk')));
      const first = sent.slice(0, 3).map((s) => s.Limit);
      expect(first).toEqual([3, 3, 3]);
      expect(budget.used).toBeLessThanOrEqual(10);
      expect(budget.lastComplete).toBe(false);
      // What it yielded is the start of the merged order (k00 ×3, k01 ×3, …: equal keys may come in any bucket order).
      expect(sks(out)).toEqual(['k00', 'k00', 'k00', 'k01', 'k01', 'k01', 'k02', 'k02', 'k02'].slice(0, out.length));
      expect(out.length).toBeGreaterThan(0);
    });

    it('shares what is left of the budget, not the whole budget, among buckets refilled together', async () => {
      // Two buckets whose first 18 items a filter drops, and an empty one: the first round (share 40 / 3 = 13)
      // brings back two empty pages with more to come; the second round must split the 13 units left between
      // both (6 each), or the first would take them all and the second, still unknown, would block the merge.
      const budget = new ReadBudget(40);
      const { out, sent } = await recorded(() => collect(budget.queryMerged(db.client, [kept('LATE20'), kept('LATE20B'), input('NOBODY')], 'sk')));
      expect(sent.slice(0, 5).map((s) => s.Limit)).toEqual([13, 13, 13, 6, 6]);
      expect(sks(out)[0]).toBe('k18');
      expect(budget.used).toBeLessThanOrEqual(40);
    });

    it('yields nothing when the budget is smaller than the number of buckets', async () => {
      const budget = new ReadBudget(3);
      expect(await collect(budget.queryMerged(db.client, MERGE_INPUTS.map((pk) => input(pk)), 'sk'))).toEqual([]);
      expect([budget.lastComplete, budget.exhausted]).toEqual([false, true]);
    });

    for (const max of [4, 6, 11]) {
      it(`yields exactly a prefix of the merged order when a budget of ${max} runs out, and resuming after the last item yields the rest`, async () => {
        const got: string[] = [];
        for (let guard = 0; guard < 100; guard++) {
          const budget = new ReadBudget(max);
          const from = got.at(-1);
          const inputs = MERGE_INPUTS.map((pk) => (from === undefined ? input(pk) : after(pk, from)));
          const page = sks(await collect(budget.queryMerged(db.client, inputs, 'sk')));
          expect(page).toEqual(MERGED.slice(got.length, got.length + page.length));
          expect(budget.used).toBeLessThanOrEqual(max);
          got.push(...page);
          if (budget.lastComplete) break;
          expect(page.length).toBeGreaterThan(0);
        }
        expect(got).toEqual(MERGED);
      });
    }

    it('asks a bucket again when its page came back empty with more to come', async () => {
      const budget = new ReadBudget(100);
      const { out, sent } = await recorded(() => collect(budget.queryMerged(db.client, [kept('LATE')], 'sk', 2)));
      expect(sks(out)).toEqual(['k08', 'k09']);
      expect(sent.length).toBeGreaterThan(2);
    });

    it('reports the read complete only when every bucket was read to its end', async () => {
      const budget = new ReadBudget(100);
      await collect(budget.queryMerged(db.client, [input('TEN'), input('TEN2')], 'sk', 3));
      expect(budget.lastComplete).toBe(false);
      await collect(budget.queryMerged(db.client, [input('TEN'), input('NOBODY')], 'sk'));
      expect(budget.lastComplete).toBe(true);
    });
  });

  describe('readingsBetween', () => {
    const between = (from: string, to: string) => alpha.filter((r) => r.ts >= from && r.ts <= to);

    it('reads one day\'s readings between inclusive bounds', async () => {
      const budget = new ReadBudget(100);
      const progress: DayProgress = {};
      const got = await collect(readingsBetween(db.client, db.cfg, budget, 'ALPHA', `${D1}T06:00:00Z`, `${D1}T12:00:00Z`, 100, progress));
      expect(got).toEqual(between(`${D1}T06:00:00Z`, `${D1}T12:00:00Z`));
      expect(got.map((r) => r.time)).toEqual(['06:00:00', '12:00:00']);
      expect(progress.doneThrough).toBe(D1);
    });

    it('reads across midnight, the first day from its time and the last up to its time', async () => {
      const got = await collect(readingsBetween(db.client, db.cfg, new ReadBudget(100), 'ALPHA', `${D1}T23:59:59Z`, `${D2}T00:00:00Z`, 100));
      expect(got.map((r) => r.ts)).toEqual([`${D1}T23:59:59Z`, `${D2}T00:00:00Z`]);
    });

    it('reads several days, one Query per day, an empty day included, in time order', async () => {
      const budget = new ReadBudget(100);
      const progress: DayProgress = {};
      const { out, sent } = await recorded(() => collect(readingsBetween(db.client, db.cfg, budget, 'ALPHA', `${D1}T06:00:01Z`, `${D4}T06:00:00Z`, 100, progress)));
      expect(out).toEqual(between(`${D1}T06:00:01Z`, `${D4}T06:00:00Z`));
      expect(out.map((r) => r.ts)[0]).toBe(`${D1}T12:00:00Z`);
      expect(out.map((r) => r.ts).at(-1)).toBe(`${D4}T06:00:00Z`);
      expect(sent.map((s) => s.ExpressionAttributeValues![':pk']!.S)).toEqual([D1, D2, D3, D4].map((d) => `ALPHA#${d}`));
      // Middle days unbounded, the first only from, the last only to.
      expect(sent.map((s) => [s.ExpressionAttributeValues![':lo']?.S, s.ExpressionAttributeValues![':hi']?.S])).toEqual([
        ['06:00:01', undefined],
        [undefined, undefined],
        [undefined, undefined],
        [undefined, '06:00:00'],
      ]);
      expect(progress.doneThrough).toBe(D4);
      expect(budget.used).toBe(2 + 4 + 1 + 2);
    });

    it('stops at want, counting across days, the last day reached not done', async () => {
      const progress: DayProgress = {};
      const got = await collect(readingsBetween(db.client, db.cfg, new ReadBudget(100), 'ALPHA', `${D1}T00:00:00Z`, `${D4}T23:59:59Z`, 6, progress));
      expect(got).toEqual(alpha.slice(0, 6));
      expect(progress.doneThrough).toBe(D1);
    });

    it('leaves doneThrough unset when the first day is cut', async () => {
      const progress: DayProgress = {};
      const budget = new ReadBudget(100);
      const { out, sent } = await recorded(() => collect(readingsBetween(db.client, db.cfg, budget, 'ALPHA', `${D1}T00:00:00Z`, `${D4}T23:59:59Z`, 4, progress)));
      expect(out).toEqual(alpha.slice(0, 4));
      expect(progress.doneThrough).toBeUndefined();
      expect(sent.map((s) => s.Limit)).toEqual([4]);
    });

    it('stops at the budget, sending no Query for the days after', async () => {
      const progress: DayProgress = {};
      const budget = new ReadBudget(6);
      const { out, sent } = await recorded(() => collect(readingsBetween(db.client, db.cfg, budget, 'ALPHA', `${D1}T00:00:00Z`, `${D4}T23:59:59Z`, 100, progress)));
      expect(out).toEqual(alpha.slice(0, 6));
      expect(sent.map((s) => s.Limit)).toEqual([6, 2]);
      expect(progress.doneThrough).toBe(D1);
      expect(budget.exhausted).toBe(true);
    });

    it('marks an empty day done, at the cost of one unit', async () => {
      const progress: DayProgress = {};
      const budget = new ReadBudget(100);
      expect(await collect(readingsBetween(db.client, db.cfg, budget, 'ALPHA', `${D3}T00:00:00Z`, `${D3}T23:59:59Z`, 100, progress))).toEqual([]);
      expect([progress.doneThrough, budget.used]).toEqual([D3, 1]);
    });

    it('reads nothing when from is after to', async () => {
      const { out, sent } = await recorded(() => collect(readingsBetween(db.client, db.cfg, new ReadBudget(100), 'ALPHA', `${D2}T00:00:00Z`, `${D1}T23:59:59Z`, 100)));
      expect([out, sent]).toEqual([[], []]);
    });

    it('reads only the pump asked for', async () => {
      const got = await collect(readingsBetween(db.client, db.cfg, new ReadBudget(100), 'BRAVO', `${D1}T00:00:00Z`, `${D3}T23:59:59Z`, 100));
      expect(got.map((r) => `${r.pump} ${r.ts}`)).toEqual(readings.filter((r) => r.pump === 'BRAVO').map((r) => `${r.pump} ${r.ts}`));
    });
  });

  describe('valuesBetween', () => {
    it('yields epoch ms and measures between inclusive bounds across days, marking days done', async () => {
      const progress: DayProgress = {};
      const budget = new ReadBudget(100);
      const got = await collect(valuesBetween(db.client, db.cfg, budget, 'ALPHA', `${D1}T12:00:00Z`, `${D2}T06:00:00Z`, progress));
      const expected = alpha.filter((r) => r.ts >= `${D1}T12:00:00Z` && r.ts <= `${D2}T06:00:00Z`);
      expect(got).toEqual(expected.map((r) => ({ ms: Date.parse(r.ts), values: r.values })));
      expect(got).toHaveLength(4);
      expect(progress.doneThrough).toBe(D2);
    });

    it('asks only for the sort key and the measures', async () => {
      const { sent } = await recorded(() => collect(valuesBetween(db.client, db.cfg, new ReadBudget(100), 'ALPHA', `${D1}T00:00:00Z`, `${D1}T23:59:59Z`)));
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ ProjectionExpression: '#sk, #d', ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#d': 'd' } });
    });

    it('reads several days, the empty one included, with one unit for it', async () => {
      const progress: DayProgress = {};
      const budget = new ReadBudget(100);
      const got = await collect(valuesBetween(db.client, db.cfg, budget, 'ALPHA', `${D2}T23:59:59Z`, `${D4}T00:00:00Z`, progress));
      expect(got.map((v) => new Date(v.ms).toISOString())).toEqual([`${D2}T23:59:59.000Z`, `${D4}T00:00:00.000Z`]);
      expect([progress.doneThrough, budget.used]).toEqual([D4, 3]);
    });

    it('stops at the budget, the cut day not done, no Query for later days', async () => {
      const progress: DayProgress = {};
      const budget = new ReadBudget(5);
      const { out, sent } = await recorded(() => collect(valuesBetween(db.client, db.cfg, budget, 'ALPHA', `${D1}T00:00:00Z`, `${D4}T23:59:59Z`, progress)));
      expect(out.map((v) => v.ms)).toEqual(alpha.slice(0, 5).map((r) => Date.parse(r.ts)));
      expect(sent.map((s) => s.Limit)).toEqual([5, 1]);
      expect(progress.doneThrough).toBe(D1);
    });
  });

  describe('lastRolledDay', () => {
    it('finds the latest rolled-up day on or before the given day', async () => {
      const budget = new ReadBudget(10);
      expect(await lastRolledDay(db.client, db.cfg, budget, 'ALPHA', D3)).toBe(D2);
      expect(budget.used).toBe(1);
      expect(await lastRolledDay(db.client, db.cfg, budget, 'ALPHA', D4)).toBe(D4);
      expect(await lastRolledDay(db.client, db.cfg, budget, 'ALPHA', '2099-01-01')).toBe(D4);
      expect(await lastRolledDay(db.client, db.cfg, budget, 'BRAVO', D2)).toBe(D1);
    });

    it('answers undefined before the first rolled-up day, or for a pump without rows', async () => {
      expect(await lastRolledDay(db.client, db.cfg, new ReadBudget(10), 'ALPHA', '2014-03-09')).toBeUndefined();
      expect(await lastRolledDay(db.client, db.cfg, new ReadBudget(10), 'NOBODY', D4)).toBeUndefined();
    });

    it('answers undefined on an exhausted budget', async () => {
      expect(await lastRolledDay(db.client, db.cfg, new ReadBudget(0), 'ALPHA', D4)).toBeUndefined();
    });
  });

  describe('dailyRows and hourlyRows', () => {
    it('reads a pump\'s daily rows between inclusive days, ascending, at most want', async () => {
      const days = async (from: string, to: string, want: number) => (await collect(dailyRows(db.client, db.cfg, new ReadBudget(100), 'ALPHA', from, to, want))).map((s) => s.date);
      expect(await days(D1, D4, 100)).toEqual([D1, D2, D4]);
      expect(await days(D2, D4, 100)).toEqual([D2, D4]);
      expect(await days(D1, D2, 100)).toEqual([D1, D2]);
      expect(await days(D2, D2, 100)).toEqual([D2]);
      expect(await days(D3, D3, 100)).toEqual([]);
      expect(await days(D1, D4, 2)).toEqual([D1, D2]);
      const row = (await collect(dailyRows(db.client, db.cfg, new ReadBudget(100), 'ALPHA', D4, D4, 1)))[0];
      expect(row).toEqual(stats('ALPHA', D4, 4));
    });

    it('reads a pump\'s hourly rows between inclusive hours across midnight, at most want', async () => {
      const hours = async (from: string, to: string, want: number) => (await collect(hourlyRows(db.client, db.cfg, new ReadBudget(100), 'ALPHA', from, to, want))).map((s) => s.date);
      expect(await hours(`${D1}T23`, `${D2}T00`, 100)).toEqual([`${D1}T23`, `${D2}T00`]);
      expect(await hours(`${D1}T00`, `${D2}T23`, 100)).toEqual([`${D1}T22`, `${D1}T23`, `${D2}T00`, `${D2}T01`, `${D2}T02`]);
      expect(await hours(`${D1}T00`, `${D2}T23`, 3)).toEqual([`${D1}T22`, `${D1}T23`, `${D2}T00`]);
      const [row] = await collect(hourlyRows(db.client, db.cfg, new ReadBudget(100), 'ALPHA', `${D2}T01`, `${D2}T01`, 5));
      expect(row).toEqual(stats('ALPHA', `${D2}T01`, 103));
    });
  });

  describe('statsOfDay', () => {
    const allPumps = ['ALPHA', 'BRAVO', ...FLEET].sort();

    it('reads every pump\'s row of the day in pump order, over every bucket', async () => {
      const got = await collect(statsOfDay(db.client, db.cfg, new ReadBudget(1_000), D1, undefined, 1_000));
      expect(got.map((s) => s.pump)).toEqual(allPumps);
      expect(got.find((s) => s.pump === 'F07')).toEqual(stats('F07', D1, 17));
    });

    it('starts at fromPump inclusive and stops at want', async () => {
      const got = await collect(statsOfDay(db.client, db.cfg, new ReadBudget(1_000), D1, 'F10', 5));
      expect(got.map((s) => s.pump)).toEqual(['F10', 'F11', 'F12', 'F13', 'F14']);
    });

    it('reads only the day asked for', async () => {
      const got = await collect(statsOfDay(db.client, db.cfg, new ReadBudget(1_000), D3, undefined, 100));
      expect(got.map((s) => `${s.pump} ${s.date}`)).toEqual([`BRAVO ${D3}`]);
    });
  });

  describe('alertsOfPump', () => {
    it('reads one pump\'s alerts between inclusive timestamps, oldest first, at most want', async () => {
      const ts = async (from: string, to: string, want: number) => (await collect(alertsOfPump(db.client, db.cfg, new ReadBudget(100), 'ALPHA', from, to, want))).map((r) => r.ts);
      expect(await ts(`${D1}T06:00:00Z`, `${D2}T06:00:00Z`, 100)).toEqual([`${D1}T06:00:00Z`, `${D2}T06:00:00Z`]);
      expect(await ts(`${D1}T06:00:01Z`, `${D4}T23:59:59Z`, 100)).toEqual([`${D2}T06:00:00Z`, `${D4}T06:00:00Z`]);
      expect(await ts(`${D1}T00:00:00Z`, `${D4}T23:59:59Z`, 2)).toEqual([`${D1}T06:00:00Z`, `${D2}T06:00:00Z`]);
      const [first] = await collect(alertsOfPump(db.client, db.cfg, new ReadBudget(100), 'ALPHA', `${D1}T00:00:00Z`, `${D1}T23:59:59Z`, 1));
      expect(first).toEqual(alpha.find((r) => r.alerts.length > 0));
    });
  });

  describe('alertsOfDay', () => {
    const dayAlerts = readings
      .filter((r) => r.day === D1 && r.alerts.length > 0)
      .map((r) => `${r.ts}#${r.pump}`)
      .sort();
    const keysOf = (rs: EvaluatedReading[]) => rs.map((r) => `${r.ts}#${r.pump}`);

    it('reads every pump\'s alerts of the day in (ts, pump) order over every bucket', async () => {
      const got = await collect(alertsOfDay(db.client, db.cfg, new ReadBudget(1_000), D1, `${D1}T00:00:00Z`, `${D1}T23:59:59Z#~`, 1_000));
      expect(keysOf(got)).toEqual(dayAlerts);
      expect(got.find((r) => r.pump === 'ALPHA')).toEqual(alpha.find((r) => r.day === D1 && r.alerts.length > 0));
    });

    it('takes fromKey and toKey inclusive and stops at want', async () => {
      const from = dayAlerts[3]!;
      const to = dayAlerts[20]!;
      const got = await collect(alertsOfDay(db.client, db.cfg, new ReadBudget(1_000), D1, from, to, 1_000));
      expect(keysOf(got)).toEqual(dayAlerts.slice(3, 21));
      const cut = await collect(alertsOfDay(db.client, db.cfg, new ReadBudget(1_000), D1, from, to, 5));
      expect(keysOf(cut)).toEqual(dayAlerts.slice(3, 8));
    });
  });

  describe('latestReading', () => {
    it('returns the newest reading of the first listed day that has one', async () => {
      const budget = new ReadBudget(10);
      expect(await latestReading(db.client, db.cfg, budget, 'ALPHA', [D3, D2, D1])).toEqual(alpha.filter((r) => r.day === D2).at(-1));
      expect(budget.used).toBe(2);
      expect((await latestReading(db.client, db.cfg, new ReadBudget(10), 'ALPHA', [D1, D2]))?.ts).toBe(`${D1}T23:59:59Z`);
    });

    it('returns undefined when no listed day has a reading, or for no days', async () => {
      expect(await latestReading(db.client, db.cfg, new ReadBudget(10), 'ALPHA', [D3, '2014-03-09'])).toBeUndefined();
      expect(await latestReading(db.client, db.cfg, new ReadBudget(10), 'ALPHA', [])).toBeUndefined();
    });

    it('stops looking when the budget runs out', async () => {
      const budget = new ReadBudget(1);
      const { out, sent } = await recorded(() => latestReading(db.client, db.cfg, budget, 'ALPHA', [D3, D2]));
      expect(out).toBeUndefined();
      expect(sent).toHaveLength(1);
    });
  });
});
