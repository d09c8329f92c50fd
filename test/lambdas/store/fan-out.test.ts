/**
 * Fan-out readers of the write-sharded keys (issue 13) against dynalite: a day's alerts (`alertsByDay`, `apk =
 * <day>#<bucket>`), a day's stats (`statsByDate`, `dpk = <date>#<bucket>`) and the pump registry (`PUMPS#<bucket>`)
 * are spread over FLEET_KEYS.buckets keys; every reader must query them all and merge them back into one order.
 *
 * The oracle is plain sorting of what the test wrote. A reader that queried only some buckets, merged out of order or
 * resumed a page at the wrong place returns a different list.
 */
import { PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { FLEET_KEYS, KEYS } from '../../../lambdas/config';
import { pumpBucket } from '../../../lambdas/core/buckets';
import { rollupReadings } from '../../../lambdas/core/rollup';
import type { DailyStats, EvaluatedReading } from '../../../lambdas/core/types';
import { createCatalogStore, forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { mergeSorted } from '../../../lambdas/store/merge-sorted';
import { queryAlerts, queryStats } from '../../../lambdas/store/queries';
import { createReadingStore } from '../../../lambdas/store/reading-store';
import { ReadBudget, alertsOfDay, statsOfDay } from '../../../lambdas/store/serving-reads';
import { createStatsStore } from '../../../lambdas/store/stats-store';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { collect, recordCommands } from '../../helpers/intercept';

const DAY = '2014-03-10';
const NEXT_DAY = '2014-03-11';
/** Enough pumps that every bucket holds several. */
const PUMPS = Array.from({ length: 100 }, (_, i) => `P${String(i).padStart(3, '0')}`);
/** One pump alerting every minute for 40 minutes while nobody else alerts: a long run inside one bucket. */
const RUN = 'RUNNER';

function alert(pump: string, ts: string): EvaluatedReading {
  return { pump, day: ts.slice(0, 10), time: ts.slice(11, 19), ts, values: { hz: 1, disp: 1, flo: 1, sedPPM: 1, psi: 2, chlPPM: 1 }, alerts: ['low-psi'] };
}

function hhmm(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}:00`;
}

/** Alerts of many pumps sharing timestamps (so the order between pumps matters), the run, and a second day. */
function makeAlerts(): EvaluatedReading[] {
  const out: EvaluatedReading[] = [];
  PUMPS.forEach((pump, i) => {
    for (const minute of [i % 5, 1_000 + (i % 7)]) out.push(alert(pump, `${DAY}T${hhmm(minute)}Z`));
    if (i % 4 === 0) out.push(alert(pump, `${NEXT_DAY}T${hhmm(i % 11)}Z`));
  });
  for (let m = 0; m < 40; m++) out.push(alert(RUN, `${DAY}T${hhmm(720 + m)}Z`));
  return out;
}

const byTsThenPump = (a: EvaluatedReading, b: EvaluatedReading) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.pump < b.pump ? -1 : a.pump > b.pump ? 1 : 0);
const askOf = (a: EvaluatedReading) => `${a.ts}${KEYS.separator}${a.pump}`;
const show = (a: EvaluatedReading) => `${a.ts} ${a.pump}`;

describe('mergeSorted', () => {
  async function* of<T>(items: T[]): AsyncGenerator<T> {
    for (const x of items) yield x;
  }

  it('merges sorted streams into one sorted stream, empty streams included', async () => {
    const got = await collect(mergeSorted([of(['a', 'd', 'e']), of([]), of(['b', 'c', 'f'])], (x) => x));
    expect(got).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('closes the streams it did not drain when the consumer stops early', async () => {
    const closed: number[] = [];
    const stream = (n: number) =>
      (async function* () {
        try {
          for (let i = 0; i < 10; i++) yield `${n}${i}`;
        } finally {
          closed.push(n);
        }
      })();
    for await (const x of mergeSorted([stream(1), stream(2)], (x) => x)) if (x === '11') break;
    expect(closed.sort()).toEqual([1, 2]);
  });
});

describe('fan-out readers over the bucketed keys', () => {
  let db: DynaliteHandle;
  const alerts = makeAlerts();
  const dayAlerts = alerts.filter((a) => a.day === DAY).sort(byTsThenPump);
  let stats: DailyStats[];

  beforeAll(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
    expect((await createReadingStore(db.client, db.cfg).put(alerts)).failed).toEqual([]);
    const pumpDays = [...new Set(alerts.map((a) => `${a.pump}|${a.day}`))].map((k) => ({ pump: k.split('|')[0]!, day: k.split('|')[1]! }));
    expect((await createCatalogStore(db.client, db.cfg).markTouched(pumpDays, '2014-03-12')).failed).toEqual([]);
    const store = createStatsStore(db.client, db.cfg);
    stats = [...PUMPS, RUN].map((pump, i) => rollupReadings(pump, DAY, [{ hz: i, disp: 1, flo: 2, sedPPM: 3, psi: 4, chlPPM: 5 }]));
    for (const s of stats) expect(await store.putIfNewer(s, '2014-03-11T00:00:00.000Z')).toBe('written');
  });
  afterAll(async () => {
    await db.close();
  });

  it('spreads the seeded alerts over every bucket, the run inside one', () => {
    expect(new Set(alerts.map((a) => pumpBucket(a.pump, FLEET_KEYS.buckets))).size).toBe(FLEET_KEYS.buckets);
    const runAt = dayAlerts.findIndex((a) => a.pump === RUN);
    expect(dayAlerts.slice(runAt, runAt + 40).every((a) => a.pump === RUN)).toBe(true);
  });

  it('returns every alert of every bucket in (ts, pump) order through the CLI reader, one Query per bucket, no Scan', async () => {
    const { out: got, sent: commands } = await recordCommands(db.client, () => collect(queryAlerts(db.client, db.cfg, { from: DAY, to: NEXT_DAY })));
    expect(got.map(show)).toEqual(alerts.slice().sort(byTsThenPump).map(show));
    const keys = commands.filter((c) => c instanceof QueryCommand && c.input.IndexName === KEYS.readings.alertsByDay.indexName).map((c) => c.input.ExpressionAttributeValues[':hk'].S);
    expect(new Set(keys).size).toBe(2 * FLEET_KEYS.buckets);
    expect(commands.some((c) => c instanceof ScanCommand)).toBe(false);
  });

  it('returns every stats row of a day in pump order through the CLI reader', async () => {
    const got = await collect(queryStats(db.client, db.cfg, { from: DAY, to: DAY }));
    expect(got.map((s) => s.pump)).toEqual(stats.map((s) => s.pump).sort());
    expect(got.find((s) => s.pump === 'P042')).toEqual(stats.find((s) => s.pump === 'P042'));
  });

  /** Pages through a day's alerts as the API does: `limit + 1` wanted, the extra item's key is the next start. */
  async function pagesOfAlerts(limit: number, maxItemsRead = 25_000): Promise<{ pages: EvaluatedReading[][]; reads: number[] }> {
    const pages: EvaluatedReading[][] = [];
    const reads: number[] = [];
    let from = `${DAY}T00:00:00Z`;
    for (let guard = 0; guard < 1_000; guard++) {
      const budget = new ReadBudget(maxItemsRead);
      const items = await collect(alertsOfDay(db.client, db.cfg, budget, DAY, from, `${DAY}T23:59:59Z#~`, limit + 1));
      reads.push(budget.used);
      if (items.length > limit) {
        from = askOf(items.pop()!);
        pages.push(items);
      } else if (!budget.lastComplete) {
        // Cut by the budget: resume just after the last item returned (what lists.ts's resumeAfter does).
        expect(items.length).toBeGreaterThan(0);
        from = `${askOf(items[items.length - 1]!)} `;
        pages.push(items);
      } else {
        pages.push(items);
        return { pages, reads };
      }
    }
    throw new Error('paging did not end');
  }

  it('pages a day of alerts exactly, with a page boundary inside one bucket\'s run', async () => {
    const runAt = dayAlerts.findIndex((a) => a.pump === RUN);
    const limit = runAt + 5; // the first page ends on the run's 5th alert, the second starts on its 6th
    const { pages } = await pagesOfAlerts(limit);
    expect(pages[0]!.at(-1)!.pump).toBe(RUN);
    expect(pages[1]![0]!.pump).toBe(RUN);
    expect(pages.flat().map(show)).toEqual(dayAlerts.map(show));
    expect((await pagesOfAlerts(45)).pages.flat().map(show)).toEqual(dayAlerts.map(show));
  });

  it('reads about a page per request, not a page per bucket', async () => {
    const { reads } = await pagesOfAlerts(100);
    // Each bucket's first page is its even share (ceil(101 / 32) + 1 = 5), so a page of 100 reads well under 32 × 101.
    for (const used of reads) expect(used).toBeLessThan(400);
  });

  it('stops at the read budget with a prefix of the merged order and resumes without a gap or a repeat', async () => {
    const { pages, reads } = await pagesOfAlerts(10_000, 100);
    expect(pages.length).toBeGreaterThan(3);
    for (const used of reads) expect(used).toBeLessThanOrEqual(100);
    expect(pages.flat().map(show)).toEqual(dayAlerts.map(show));
  });

  it('pages a day of stats by pump from an inclusive start pump', async () => {
    const expected = stats.map((s) => s.pump).sort();
    const got: string[] = [];
    let from: string | undefined;
    for (let guard = 0; guard < 100; guard++) {
      const rows = await collect(statsOfDay(db.client, db.cfg, new ReadBudget(25_000), DAY, from, 13 + 1));
      if (rows.length > 13) from = rows.pop()!.pump;
      got.push(...rows.map((s) => s.pump));
      if (rows.length < 13 || from === undefined) break;
    }
    expect(got).toEqual(expected);
  });

  it('lists the pump registry merged over its buckets, page by page, each pump once', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    const expected = [...PUMPS, RUN].sort();
    expect(new Set(expected.map((p) => pumpBucket(p, FLEET_KEYS.buckets))).size).toBe(FLEET_KEYS.buckets);
    expect(await catalog.listRegisteredPumps()).toEqual(expected);
    const got: string[] = [];
    const { sent: commands } = await recordCommands(db.client, async () => {
      let after: string | undefined;
      for (;;) {
        const page = await catalog.listRegisteredPumps(after, 9);
        got.push(...page);
        if (page.length < 9) break;
        after = page[page.length - 1];
      }
    });
    expect(got).toEqual(expected);
    // Pages of each bucket's share (ceil(9 / 32) + 1 = 2), not of the whole limit.
    expect([...new Set(commands.filter((c) => c instanceof QueryCommand).map((c) => c.input.Limit))]).toEqual([Math.ceil(9 / FLEET_KEYS.buckets) + 1]);
    expect(await catalog.isRegistered('P077')).toBe(true);
    expect(await catalog.isRegistered('NOBODY')).toBe(false);
  });

  it('lists a pump registered under an older bucket count once', async () => {
    // P005 as the 8-partition registry wrote it, beside its current item.
    const old = `PUMPS#${pumpBucket('P005', 8)}`;
    expect(old).not.toBe(`PUMPS#${pumpBucket('P005', FLEET_KEYS.buckets)}`);
    await db.client.send(new PutItemCommand({ TableName: db.cfg.catalogTable, Item: { pk: { S: old }, sk: { S: 'P005' }, pump: { S: 'P005' } } }));
    const all = await createCatalogStore(db.client, db.cfg).listRegisteredPumps();
    expect(all.filter((p) => p === 'P005')).toHaveLength(1);
    expect(all).toHaveLength(PUMPS.length + 1);
  });
});
