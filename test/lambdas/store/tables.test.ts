import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { KEYS, loadConfig } from '../../../lambdas/config';
import { ensureTables, tableDefinitions } from '../../../lambdas/store/tables';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';

describe('tableDefinitions', () => {
  const cfg = loadConfig({ readingsTable: 'r', statsTable: 's', catalogTable: 'c', alarms: { table: 'a' } }, {});

  it('defines four on-demand tables keyed pk/sk, named from the configuration', () => {
    const defs = tableDefinitions(cfg);
    expect(defs.map((d) => d.TableName)).toEqual(['r', 's', 'c', 'a']);
    for (const d of defs) {
      expect(d.BillingMode).toBe('PAY_PER_REQUEST');
      expect(d.KeySchema).toEqual([
        { AttributeName: KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: KEYS.sortKey, KeyType: 'RANGE' },
      ]);
    }
  });

  it('gives readings the two sparse alert indexes and stats the by-date index, all projecting ALL', () => {
    const [readings, stats, catalog] = tableDefinitions(cfg);
    const shape = (d: typeof readings) =>
      (d!.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, g.KeySchema!.map((k) => k.AttributeName).join('/'), g.Projection!.ProjectionType]);
    expect(shape(readings)).toEqual([
      ['alertsByDay', 'apk/ask', 'ALL'],
      ['alertsByPump', 'ppk/psk', 'ALL'],
    ]);
    expect(shape(stats)).toEqual([['statsByDate', 'dpk/pump', 'ALL']]);
    expect(catalog!.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('gives the alarms table a keys-only openAlarms index and a full alarmHistory index, both bucketed', () => {
    const alarms = tableDefinitions(cfg)[3]!;
    expect((alarms.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, g.KeySchema!.map((k) => k.AttributeName).join('/'), g.Projection!.ProjectionType])).toEqual([
      ['openAlarms', 'ob/os', 'KEYS_ONLY'],
      ['alarmHistory', 'hb/hs', 'ALL'],
    ]);
  });
});

describe('ensureTables', () => {
  let db: DynaliteHandle;
  beforeEach(async () => {
    db = await startDynalite({ createTables: false });
  });
  afterEach(async () => {
    await db.close();
  });

  it('creates missing tables, waits until ACTIVE, and leaves existing ones alone', async () => {
    expect(await ensureTables(db.client, db.cfg)).toEqual([db.cfg.readingsTable, db.cfg.statsTable, db.cfg.catalogTable, db.cfg.alarms.table]);
    const described = await db.client.send(new DescribeTableCommand({ TableName: db.cfg.readingsTable }));
    expect(described.Table?.TableStatus).toBe('ACTIVE');
    expect(described.Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName).sort()).toEqual(['alertsByDay', 'alertsByPump']);
    expect(await ensureTables(db.client, db.cfg)).toEqual([]);
  });

  it('refuses a stats table left by a release whose statsByDate was keyed by date, naming both layouts', async () => {
    const stats = tableDefinitions(db.cfg)[1]!;
    const old = {
      ...stats,
      AttributeDefinitions: ['pk', 'sk', 'date', 'pump'].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
      GlobalSecondaryIndexes: [{ ...stats.GlobalSecondaryIndexes![0]!, KeySchema: [{ AttributeName: 'date', KeyType: 'HASH' as const }, { AttributeName: 'pump', KeyType: 'RANGE' as const }] }],
    };
    await db.client.send(new CreateTableCommand(old));
    await expect(ensureTables(db.client, db.cfg)).rejects.toThrow(
      `table ${db.cfg.statsTable} has indexes statsByDate(date/pump), this release needs statsByDate(dpk/pump) (a key layout from an older release): delete the table (locally: the data dir) and start again`,
    );
  });
});
