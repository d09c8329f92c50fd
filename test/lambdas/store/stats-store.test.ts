/**
 * The stats store against dynalite: a row is replaced only by stats of input read at the same time or later.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { KEYS } from '../../../lambdas/config';
import { statsFromItem, statsKey, ttlFor } from '../../../lambdas/core/keys';
import { rollupReadings } from '../../../lambdas/core/rollup';
import { createStatsStore } from '../../../lambdas/store/stats-store';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';

const values = (psi: number) => ({ hz: 1, disp: 1, flo: 1, sedPPM: 1, psi, chlPPM: 1 });

describe('StatsStore.putIfNewer', () => {
  let db: DynaliteHandle;
  afterEach(async () => {
    await db?.close();
  });

  it('writes a first row, replaces it from newer or equal input, and keeps it against older input', async () => {
    db = await startDynalite({ config: { retentionDays: 30 } });
    const stats = createStatsStore(db.client, db.cfg);
    const at = (psi: number) => rollupReadings('ALPHA', '2014-03-10', [values(psi)]);
    expect(await stats.putIfNewer(at(10), '2026-01-01T00:00:01.000Z')).toBe('written');
    expect(await stats.putIfNewer(at(20), '2026-01-01T00:00:02.000Z')).toBe('written');
    expect(await stats.putIfNewer(at(30), '2026-01-01T00:00:02.000Z')).toBe('written'); // a retry of the same read
    expect(await stats.putIfNewer(at(99), '2026-01-01T00:00:01.500Z')).toBe('superseded');
    const item = (await db.client.send(new GetItemCommand({ TableName: db.cfg.statsTable, Key: statsKey('ALPHA', '2014-03-10'), ConsistentRead: true }))).Item!;
    expect(statsFromItem(item)).toEqual(at(30));
    expect(item[KEYS.stats.inputWatermark]).toEqual({ S: '2026-01-01T00:00:02.000Z' });
    expect(item[KEYS.ttlAttribute]).toEqual({ N: String(ttlFor('2014-03-10T00:00:00Z', 30)) });
  });
});
