/**
 * The series store against dynalite: an hourly row is replaced only by stats of input read at the same time or later,
 * by the same rule as the daily row (lambdas/store/put-if-newer.ts).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { KEYS, SERIES_KEYS } from '../../../lambdas/config';
import { hourlyFromItem, ttlFor } from '../../../lambdas/core/keys';
import { rollupReadings } from '../../../lambdas/core/rollup';
import { createSeriesStore } from '../../../lambdas/store/series-store';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';

const values = (psi: number) => ({ hz: 1, disp: 1, flo: 1, sedPPM: 1, psi, chlPPM: 1 });

describe('SeriesStore.putHoursIfNewer', () => {
  let db: DynaliteHandle;
  afterEach(async () => {
    await db?.close();
  });

  it('writes first rows, replaces them from newer or equal input, and keeps them against older input, hour by hour', async () => {
    db = await startDynalite({ config: { retentionDays: 30 } });
    const series = createSeriesStore(db.client, db.cfg, { concurrency: 2 });
    const hour = (h: string, psi: number) => rollupReadings('ALPHA', `2014-03-10T${h}`, [values(psi)]);
    const get = async (h: string) =>
      (await db.client.send(
        new GetItemCommand({
          TableName: db.cfg.statsTable,
          Key: { pk: { S: `ALPHA${SERIES_KEYS.hourlySuffix}` }, sk: { S: `2014-03-10T${h}` } },
          ConsistentRead: true,
        }),
      )).Item!;

    expect(await series.putHoursIfNewer([hour('05', 10), hour('06', 10)], '2026-01-01T00:00:02.000Z')).toEqual({ written: 2, superseded: 0 });
    // An older read: both of its hours exist from newer input and stay; its third hour is new and is written.
    expect(await series.putHoursIfNewer([hour('05', 99), hour('06', 99), hour('07', 99)], '2026-01-01T00:00:01.000Z')).toEqual({ written: 1, superseded: 2 });
    // A retry of the same read and a newer read replace.
    expect(await series.putHoursIfNewer([hour('05', 20)], '2026-01-01T00:00:02.000Z')).toEqual({ written: 1, superseded: 0 });
    expect(await series.putHoursIfNewer([hour('06', 30)], '2026-01-01T00:00:03.000Z')).toEqual({ written: 1, superseded: 0 });

    expect(hourlyFromItem(await get('05'))).toEqual(hour('05', 20));
    expect(hourlyFromItem(await get('06'))).toEqual(hour('06', 30));
    expect(hourlyFromItem(await get('07'))).toEqual(hour('07', 99));
    expect((await get('06'))[KEYS.stats.inputWatermark]).toEqual({ S: '2026-01-01T00:00:03.000Z' });
    expect((await get('07'))[KEYS.ttlAttribute]).toEqual({ N: String(ttlFor('2014-03-10T07:00:00Z', 30)) });
  });

  it('writes hourly rows without a TTL when retention is 0 (kept forever)', async () => {
    db = await startDynalite({ config: { retentionDays: 0 } });
    const series = createSeriesStore(db.client, db.cfg);
    expect(await series.putHoursIfNewer([rollupReadings('ALPHA', '2014-03-10T05', [values(10)])], '2026-01-01T00:00:01.000Z')).toEqual({ written: 1, superseded: 0 });
    const item = (await db.client.send(
      new GetItemCommand({ TableName: db.cfg.statsTable, Key: { pk: { S: `ALPHA${SERIES_KEYS.hourlySuffix}` }, sk: { S: '2014-03-10T05' } }, ConsistentRead: true }),
    )).Item!;
    expect(item[KEYS.ttlAttribute]).toBeUndefined();
    expect(item[KEYS.stats.inputWatermark]).toEqual({ S: '2026-01-01T00:00:01.000Z' });
  });
});
