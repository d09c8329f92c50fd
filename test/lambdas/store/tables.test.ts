import {
  CreateTableCommand,
  DescribeTableCommand,
  type CreateTableCommandInput,
  type DescribeTableCommandOutput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { KEYS, loadConfig } from '../../../lambdas/config';
import { WellwatchError } from '../../../lambdas/core/errors';
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

  it('accepts an existing table whose indexes are described in another order than this release lists them', async () => {
    const readings = tableDefinitions(db.cfg)[0]!;
    await db.client.send(new CreateTableCommand({ ...readings, GlobalSecondaryIndexes: [...readings.GlobalSecondaryIndexes!].reverse() }));
    expect(await ensureTables(db.client, db.cfg)).toEqual([db.cfg.statsTable, db.cfg.catalogTable, db.cfg.alarms.table]);
  });

  it.each([
    [
      'a stats table without its index',
      (d: CreateTableCommandInput[]) => ({ ...d[1]!, AttributeDefinitions: d[1]!.AttributeDefinitions!.slice(0, 2), GlobalSecondaryIndexes: undefined }),
      (c: ReturnType<typeof loadConfig>) => `table ${c.statsTable} has indexes none, this release needs statsByDate(dpk/pump) `,
    ],
    [
      'a catalog table with an index this release does not have',
      (d: CreateTableCommandInput[]) => ({
        ...d[2]!,
        AttributeDefinitions: [...d[2]!.AttributeDefinitions!, { AttributeName: 'x', AttributeType: 'S' as const }],
        GlobalSecondaryIndexes: [{ IndexName: 'extra', KeySchema: [{ AttributeName: 'x', KeyType: 'HASH' as const }], Projection: { ProjectionType: 'ALL' as const } }],
      }),
      (c: ReturnType<typeof loadConfig>) => `table ${c.catalogTable} has indexes extra(x), this release needs none `,
    ],
    [
      'an alarms table with only one of its two indexes',
      (d: CreateTableCommandInput[]) => ({ ...d[3]!, GlobalSecondaryIndexes: d[3]!.GlobalSecondaryIndexes!.slice(1) }),
      (c: ReturnType<typeof loadConfig>) => `table ${c.alarms.table} has indexes alarmHistory(hb/hs), this release needs alarmHistory(hb/hs), openAlarms(ob/os) `,
    ],
  ])('refuses %s, listing both index layouts', async (_, table, message) => {
    await db.client.send(new CreateTableCommand(table(tableDefinitions(db.cfg))));
    await expect(ensureTables(db.client, db.cfg)).rejects.toThrow(message(db.cfg));
  });

  it('counts a table another process created between its check and its CreateTable as existing', async () => {
    let raced = false;
    // Every request goes to dynalite; just before our CreateTable of the stats table, "another process" creates it.
    const client = {
      send: async (command: unknown) => {
        if (!raced && command instanceof CreateTableCommand && command.input.TableName === db.cfg.statsTable) {
          raced = true;
          await db.client.send(new CreateTableCommand({ ...command.input }));
        }
        return db.client.send(command as DescribeTableCommand);
      },
    } as unknown as DynamoDBClient;
    expect(await ensureTables(client, db.cfg)).toEqual([db.cfg.readingsTable, db.cfg.catalogTable, db.cfg.alarms.table]);
    expect(raced).toBe(true);
    expect((await db.client.send(new DescribeTableCommand({ TableName: db.cfg.statsTable }))).Table?.TableStatus).toBe('ACTIVE');
  });
});

describe('ensureTables with tables that take time to become ACTIVE', () => {
  let db: DynaliteHandle | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('waits until tables that are CREATING for a while are ACTIVE', async () => {
    db = await startDynalite({ createTables: false, createTableMs: 80 });
    expect(await ensureTables(db.client, db.cfg, { pollMs: 5 })).toHaveLength(4);
    for (const def of tableDefinitions(db.cfg)) {
      const { Table } = await db.client.send(new DescribeTableCommand({ TableName: def.TableName }));
      expect([def.TableName, Table?.TableStatus]).toEqual([def.TableName, 'ACTIVE']);
    }
  });

  it('gives up on a table still CREATING after timeoutMs, naming the table and its status', async () => {
    db = await startDynalite({ createTables: false, createTableMs: 200 });
    // dynalite marks a new table's indexes CREATING too, which ensureTables reports as INDEX_CREATING.
    await expect(ensureTables(db.client, db.cfg, { timeoutMs: 20, pollMs: 5 })).rejects.toThrow(
      new WellwatchError(`table ${db.cfg.readingsTable} is not ACTIVE after 20 ms (status INDEX_CREATING)`),
    );
    // Let dynalite finish creating before it is closed.
    expect(await ensureTables(db.client, db.cfg, { pollMs: 10 })).toEqual([]);
  });
});

/**
 * Table states dynalite cannot produce, answered by a scripted client: an ACTIVE table whose index is still being
 * built (DynamoDB while a GSI added later backfills; dynalite marks the whole table UPDATING instead), an index
 * described without IndexStatus, a table DescribeTable does not find yet right after CreateTable (DynamoDB's
 * eventually consistent metadata; dynalite finds it at once), errors of another copy of the SDK (same name, not
 * instanceof this copy's classes), access errors and rejections that are not errors at all.
 */
describe('ensureTables against a scripted DynamoDB', () => {
  const cfg = loadConfig({ readingsTable: 'r', statsTable: 's', catalogTable: 'c', alarms: { table: 'a' } }, {});
  const defs = tableDefinitions(cfg);
  const named = (name: string, message = name) => Object.assign(new Error(message), { name });
  /** The DescribeTable answer for an ACTIVE table shaped as this release defines it (`indexStatus` null: none given). */
  const active = (table: string, indexStatus: string | null = 'ACTIVE'): DescribeTableCommandOutput => {
    const def = defs.find((d) => d.TableName === table)!;
    return {
      $metadata: {},
      Table: {
        TableName: table,
        TableStatus: 'ACTIVE',
        GlobalSecondaryIndexes: def.GlobalSecondaryIndexes?.map((g) => ({ ...g, ...(indexStatus === null ? {} : { IndexStatus: indexStatus as 'ACTIVE' }) })),
      },
    };
  };
  /** A client whose DescribeTable and CreateTable answers come from the given functions; it records every request. */
  const scripted = (describe: (table: string) => unknown, create: (table: string) => unknown = () => ({})) => {
    const calls: string[] = [];
    const client = {
      send: async (command: unknown) => {
        if (command instanceof DescribeTableCommand) {
          calls.push(`describe ${command.input.TableName}`);
          return describe(command.input.TableName!);
        }
        if (command instanceof CreateTableCommand) {
          calls.push(`create ${command.input.TableName}`);
          return create(command.input.TableName!);
        }
        throw new Error('unexpected command');
      },
    } as unknown as DynamoDBClient;
    return { client, calls };
  };

  afterEach(() => {
    jest.useRealTimers();
  });

  it('waits while an index of an ACTIVE table is still being built and reports INDEX_CREATING when it never finishes', async () => {
    const { client } = scripted((t) => active(t, t === 'r' ? 'CREATING' : 'ACTIVE'));
    await expect(ensureTables(client, cfg, { timeoutMs: 20, pollMs: 2 })).rejects.toThrow(new WellwatchError('table r is not ACTIVE after 20 ms (status INDEX_CREATING)'));
  });

  it('takes an index described without IndexStatus as built', async () => {
    const { client } = scripted((t) => active(t, null));
    expect(await ensureTables(client, cfg, { timeoutMs: 20, pollMs: 2 })).toEqual([]);
  });

  it('recognises ResourceNotFoundException and ResourceInUseException by name (errors of another copy of the SDK)', async () => {
    let existsNow = false;
    const { client } = scripted(
      (t) => {
        if (t === 'r' && !existsNow) throw named('ResourceNotFoundException');
        return active(t);
      },
      () => {
        existsNow = true;
        throw named('ResourceInUseException');
      },
    );
    expect(await ensureTables(client, cfg, { timeoutMs: 20, pollMs: 2 })).toEqual([]);
  });

  it('throws a DescribeTable error other than a missing table, creating nothing', async () => {
    const { client, calls } = scripted(() => {
      throw named('AccessDeniedException', 'not authorized to perform dynamodb:DescribeTable');
    });
    await expect(ensureTables(client, cfg, { timeoutMs: 20, pollMs: 2 })).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(calls).toEqual(['describe r']);
  });

  it('throws a CreateTable error other than ResourceInUseException', async () => {
    const { client } = scripted(
      () => {
        throw named('ResourceNotFoundException');
      },
      () => {
        throw named('LimitExceededException', 'too many tables being created');
      },
    );
    await expect(ensureTables(client, cfg, { timeoutMs: 20, pollMs: 2 })).rejects.toMatchObject({ name: 'LimitExceededException' });
  });

  it('passes on a rejection that is not an Error unchanged, from DescribeTable and from CreateTable', async () => {
    const failDescribe = scripted(() => Promise.reject(undefined));
    await expect(ensureTables(failDescribe.client, cfg, { timeoutMs: 20, pollMs: 2 })).rejects.toBeUndefined();
    const failCreate = scripted(
      () => {
        throw named('ResourceNotFoundException');
      },
      () => Promise.reject(undefined),
    );
    await expect(ensureTables(failCreate.client, cfg, { timeoutMs: 20, pollMs: 2 })).rejects.toBeUndefined();
  });

  it('polls every pollMs, every 50 ms by default', async () => {
    jest.useFakeTimers();
    for (const pollMs of [undefined, 10]) {
      let ready = false;
      const { client, calls } = scripted((t) => (t === 'r' && !ready ? { Table: { ...active(t).Table, TableStatus: 'CREATING' } } : active(t)));
      const done = ensureTables(client, cfg, pollMs === undefined ? {} : { pollMs });
      const polls = () => calls.filter((c) => c === 'describe r').length;
      await jest.advanceTimersByTimeAsync(0);
      const first = polls();
      await jest.advanceTimersByTimeAsync((pollMs ?? 50) - 1);
      expect(polls()).toBe(first);
      await jest.advanceTimersByTimeAsync(1);
      expect(polls()).toBe(first + 1);
      ready = true;
      await jest.advanceTimersByTimeAsync(pollMs ?? 50);
      expect(await done).toEqual([]);
    }
  });

  it('waits the whole timeoutMs before giving up, and reports a table DescribeTable does not find as missing', async () => {
    jest.useFakeTimers();
    const { client } = scripted((t) => {
      if (t === 'r') throw named('ResourceNotFoundException');
      return active(t);
    });
    let outcome: unknown = 'pending';
    const done = ensureTables(client, cfg, { timeoutMs: 30, pollMs: 10 }).then(
      () => (outcome = 'resolved'),
      (e: unknown) => (outcome = e),
    );
    await jest.advanceTimersByTimeAsync(30);
    expect(outcome).toBe('pending');
    await jest.advanceTimersByTimeAsync(10);
    await done;
    expect(outcome).toEqual(new WellwatchError('table r is not ACTIVE after 30 ms (status missing)'));
  });
});
