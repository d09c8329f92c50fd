import { BatchWriteItemCommand, DeleteItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { createCatalogStore, forgetWrittenMarkers, touchStamp } from '../../../lambdas/store/catalog-store';
import { FLEET_KEYS } from '../../../lambdas/config';
import { allBuckets, pumpBucket } from '../../../lambdas/core/buckets';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { intercept, collect } from '../../helpers/intercept';

describe('catalog store', () => {
  let db: DynaliteHandle;
  const today = '2014-03-12';
  const now = new Date('2014-03-12T08:00:00Z');

  beforeEach(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
  });
  afterEach(async () => {
    await db.close();
  });

  it('records days and pump-days, and pending markers only for days before today', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    const result = await catalog.markTouched(
      [
        { pump: 'B', day: '2014-03-10' },
        { pump: 'A', day: '2014-03-10' },
        { pump: 'A', day: '2014-03-12' },
      ],
      today,
      now,
    );
    expect(result.failed).toEqual([]);
    expect(result.pending).toBe(2);
    expect(await collect(catalog.listDays())).toEqual(['2014-03-10', '2014-03-12']);
    expect(await collect(catalog.listDays({ from: '2014-03-11' }))).toEqual(['2014-03-12']);
    expect(await collect(catalog.listDays({ to: '2014-03-11' }))).toEqual(['2014-03-10']);
    expect(await collect(catalog.listPumps('2014-03-10'))).toEqual(['A', 'B']);
    expect(await collect(catalog.listPumps('2014-03-12'))).toEqual(['A']);
    const pending = await collect(catalog.listPending());
    expect(pending.map((p) => `${p.day}/${p.pump}`)).toEqual(['2014-03-10/A', '2014-03-10/B']);
    for (const p of pending) expect(p.touchedAt).toMatch(/^2014-03-12T08:00:00\.000Z#[0-9a-f]{12}$/);
  });

  it('writes day markers once per warm container but re-touches pending markers every time', async () => {
    const written: string[] = [];
    intercept(db.client, (command, next) => {
      if (command instanceof BatchWriteItemCommand) {
        for (const r of command.input.RequestItems![db.cfg.catalogTable]!) written.push(`${r.PutRequest!.Item!.pk!.S}|${r.PutRequest!.Item!.sk!.S}`);
      }
      return next(command);
    });
    const catalog = createCatalogStore(db.client, db.cfg);
    const touched = [{ pump: 'A', day: '2014-03-10' }];
    await catalog.markTouched(touched, today, now);
    const [first] = await collect(catalog.listPending());
    written.length = 0;
    await catalog.markTouched(touched, today, now);
    expect(written).toEqual(['PENDING#12|2014-03-10#A']);
    const [second] = await collect(catalog.listPending());
    expect(second!.touchedAt).not.toBe(first!.touchedAt);
    written.length = 0;
    await catalog.markTouched([{ pump: 'A', day: '2014-03-12' }], today, now);
    expect(written.sort()).toEqual(['DAY#2014-03-12#12|A', 'DAYS|2014-03-12']);
  });

  it('reports the pump-days whose markers failed and writes them again next time', async () => {
    let refuse = true;
    intercept(db.client, async (command, next) => {
      if (command instanceof BatchWriteItemCommand && refuse) {
        const requests = command.input.RequestItems![db.cfg.catalogTable]!;
        const bad = requests.filter((r: any) => r.PutRequest.Item.sk.S === 'B');
        const good = requests.filter((r: any) => r.PutRequest.Item.sk.S !== 'B');
        if (good.length) await next(new BatchWriteItemCommand({ RequestItems: { [db.cfg.catalogTable]: good } }));
        return bad.length ? { UnprocessedItems: { [db.cfg.catalogTable]: bad } } : {};
      }
      return next(command);
    });
    const catalog = createCatalogStore(db.client, db.cfg, { maxAttempts: 2, sleep: async () => undefined });
    const touched = [
      { pump: 'A', day: '2014-03-12' },
      { pump: 'B', day: '2014-03-12' },
    ];
    const result = await catalog.markTouched(touched, today, now);
    expect(result.failed).toEqual([1]);
    expect(await collect(catalog.listPumps('2014-03-12'))).toEqual(['A']);
    refuse = false;
    expect((await catalog.markTouched(touched, today, now)).failed).toEqual([]);
    expect(await collect(catalog.listPumps('2014-03-12'))).toEqual(['A', 'B']);
  });

  it('clears a pending marker only while it still carries the touch that was read', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    await catalog.markTouched([{ pump: 'A', day: '2014-03-10' }, { pump: 'B', day: '2014-03-10' }], today, now);
    const [a, b] = await collect(catalog.listPending());
    expect(await catalog.clearPending(a!)).toBe(true);
    await catalog.markTouched([{ pump: 'B', day: '2014-03-10' }], today, now);
    expect(await catalog.clearPending(b!)).toBe(false);
    const left = await collect(catalog.listPending());
    expect(left.map((p) => p.pump)).toEqual(['B']);
    expect(left[0]!.touchedAt).not.toBe(b!.touchedAt);
    expect(await catalog.clearPending(a!)).toBe(false);
  });

  it('follows every page of a large partition', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    // Long pump ids, all of one bucket, make that bucket's partition larger than dynalite's 1 MB page.
    const pumps: string[] = [];
    for (let i = 0; pumps.length < 1200; i++) {
      const pump = `P${String(i).padStart(5, '0')}${'x'.repeat(900)}`;
      if (pumpBucket(pump, FLEET_KEYS.buckets) === 0) pumps.push(pump);
    }
    await catalog.markTouched(pumps.map((pump) => ({ pump, day: '2014-03-12' })), today, now);
    let queries = 0;
    intercept(db.client, (command, next) => {
      if (command instanceof QueryCommand) queries++;
      return next(command);
    });
    const listed = await collect(catalog.listPumps('2014-03-12'));
    expect(listed).toEqual(pumps);
    expect(queries).toBeGreaterThan(1);
  });

  it('reads every catalog partition strongly consistently (a marker just written is never missed)', async () => {
    // dynalite is always consistent, so the only observable is the request: DynamoDB reads are eventually
    // consistent unless ConsistentRead is true, and a rollup that misses a fresh pending marker leaves stale stats.
    const catalog = createCatalogStore(db.client, db.cfg);
    expect((await catalog.markTouched([{ pump: 'A', day: '2014-03-10' }], today, now)).failed).toEqual([]);
    const reads: { pk: string | undefined; consistent: boolean | undefined }[] = [];
    intercept(db.client, async (command, next) => {
      if (command instanceof QueryCommand) reads.push({ pk: command.input.ExpressionAttributeValues?.[':pk']?.S, consistent: command.input.ConsistentRead });
      return next(command);
    });
    expect(await collect(catalog.listDays())).toEqual(['2014-03-10']);
    expect(await collect(catalog.listDays({ from: '2014-03-10', to: '2014-03-10' }))).toEqual(['2014-03-10']);
    expect(await collect(catalog.listPumps('2014-03-10'))).toEqual(['A']);
    expect(await collect(catalog.listPending())).toHaveLength(1);
    const buckets = allBuckets(FLEET_KEYS.buckets);
    expect(reads.sort((x, y) => (x.pk! < y.pk! ? -1 : x.pk! > y.pk! ? 1 : 0))).toEqual(
      [
        { pk: 'DAYS', consistent: true },
        { pk: 'DAYS', consistent: true },
        ...buckets.map((b) => ({ pk: `DAY#2014-03-10#${b}`, consistent: true })),
        ...buckets.map((b) => ({ pk: `PENDING#${b}`, consistent: true })),
      ].sort((x, y) => (x.pk < y.pk ? -1 : x.pk > y.pk ? 1 : 0)),
    );
  });

  it('shards day and pending markers over the buckets and merges them back in order', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    const pumps = Array.from({ length: 200 }, (_, i) => `PUMP-${String(i).padStart(3, '0')}`);
    const touched = ['2014-03-10', '2014-03-11'].flatMap((day) => pumps.map((pump) => ({ pump, day })));
    expect((await catalog.markTouched(touched, today, now)).failed).toEqual([]);
    // Each marker lives in its pump's bucket partition, read here with a raw Query per bucket.
    const byBucket = new Map<number, string[]>();
    for (const b of allBuckets(FLEET_KEYS.buckets)) {
      const out = await db.client.send(
        new QueryCommand({ TableName: db.cfg.catalogTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `DAY#2014-03-10#${b}` } } }),
      );
      byBucket.set(b, (out.Items ?? []).map((i) => i.sk!.S!));
    }
    for (const [b, listed] of byBucket) expect(listed).toEqual(pumps.filter((p) => pumpBucket(p, FLEET_KEYS.buckets) === b));
    expect([...byBucket.values()].filter((l) => l.length > 0).length).toBeGreaterThan(16);
    expect(await collect(catalog.listPumps('2014-03-10'))).toEqual(pumps);
    const b = pumpBucket('PUMP-050', FLEET_KEYS.buckets);
    expect(await collect(catalog.listPumpsInBucket('2014-03-10', b))).toEqual(byBucket.get(b));
    expect(await collect(catalog.listPumpsInBucket('2014-03-10', b, { from: 'PUMP-050', to: 'PUMP-150' }))).toEqual(
      byBucket.get(b)!.filter((p) => p >= 'PUMP-050' && p <= 'PUMP-150'),
    );
    const pending = await collect(catalog.listPending());
    expect(pending.map((p) => `${p.day}/${p.pump}`)).toEqual(touched.map((t) => `${t.day}/${t.pump}`));
    expect((await collect(catalog.listPendingInBucket(b))).map((p) => p.pump)).toEqual([...byBucket.get(b)!, ...byBucket.get(b)!]);
  });

  it('stamps touches with the time and a random suffix', () => {
    const a = touchStamp(now);
    const b = touchStamp(now);
    expect(a.startsWith('2014-03-12T08:00:00.000Z#')).toBe(true);
    expect(a).not.toBe(b);
  });
});

describe('catalog store: pump registry and recent days', () => {
  let db: DynaliteHandle;
  const today = '2014-03-12';
  const now = new Date('2014-03-12T08:00:00Z');
  const pumps = Array.from({ length: 20 }, (_, i) => `P${String(i).padStart(2, '0')}`);

  beforeEach(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
    const catalog = createCatalogStore(db.client, db.cfg);
    const touched = pumps.map((pump, i) => ({ pump, day: `2014-03-${String(1 + (i % 9)).padStart(2, '0')}` }));
    expect((await catalog.markTouched(touched, today, now)).failed).toEqual([]);
  });
  afterEach(async () => {
    await db.close();
  });

  it('lists every registered pump in order, merged across the registry partitions', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    expect(await catalog.listRegisteredPumps()).toEqual(pumps);
  });

  it('pages the registry: strictly after a pump, at most `limit` pumps', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    expect(await catalog.listRegisteredPumps(undefined, 3)).toEqual(['P00', 'P01', 'P02']);
    expect(await catalog.listRegisteredPumps('P02', 3)).toEqual(['P03', 'P04', 'P05']);
    expect(await catalog.listRegisteredPumps('P17')).toEqual(['P18', 'P19']);
    expect(await catalog.listRegisteredPumps('P19', 5)).toEqual([]);
  });

  it('asks each registry partition for no more than the page', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    const limits: (number | undefined)[] = [];
    intercept(db.client, (command, next) => {
      if (command instanceof QueryCommand) limits.push(command.input.Limit);
      return next(command);
    });
    await catalog.listRegisteredPumps(undefined, 2);
    expect(limits).toEqual(Array.from({ length: FLEET_KEYS.buckets }, () => 2));
    limits.length = 0;
    await catalog.listRegisteredPumps();
    expect(limits).toEqual(Array.from({ length: FLEET_KEYS.buckets }, () => undefined));
  });

  it('knows whether a pump is registered', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    expect(await catalog.isRegistered('P07')).toBe(true);
    expect(await catalog.isRegistered('P99')).toBe(false);
  });

  it('lists the most recent days with data, newest first, at most `limit`', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    expect(await catalog.recentDays(3)).toEqual(['2014-03-09', '2014-03-08', '2014-03-07']);
    expect(await catalog.recentDays(1)).toEqual(['2014-03-09']);
    expect(await catalog.recentDays(50)).toHaveLength(9);
  });
});

describe('catalog store: what markTouched reports', () => {
  let db: DynaliteHandle;
  const today = '2014-03-12';
  const now = new Date('2014-03-12T08:00:00Z');

  beforeEach(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
  });
  afterEach(async () => {
    await db.close();
  });

  it('counts each marker item once when pump-days share a day or repeat, and one pending marker per late pump-day', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    const touched = [
      { pump: 'A', day: '2014-03-10' },
      { pump: 'A', day: '2014-03-10' },
      { pump: 'B', day: '2014-03-10' },
    ];
    // Registry A, B; DAYS 2014-03-10; DAY# A, B; PENDING A, B.
    expect(await catalog.markTouched(touched, today, now)).toEqual({ failed: [], written: 7, pending: 2 });
    expect(await catalog.markTouched([], today, now)).toEqual({ failed: [], written: 0, pending: 0 });
    // Only the pending markers are written again.
    expect(await catalog.markTouched(touched, today, now)).toEqual({ failed: [], written: 2, pending: 2 });
  });

  it('writes every marker again to another table endpoint (the warm-container memory is per endpoint and table)', async () => {
    const other = await startDynalite();
    try {
      await createCatalogStore(db.client, db.cfg).markTouched([{ pump: 'A', day: '2014-03-12' }], today, now);
      expect(await createCatalogStore(other.client, other.cfg).markTouched([{ pump: 'A', day: '2014-03-12' }], today, now)).toMatchObject({ written: 3 });
      expect(await collect(createCatalogStore(other.client, other.cfg).listPumps('2014-03-12'))).toEqual(['A']);
    } finally {
      await other.close();
    }
  });

  it('reports a stop before any write: every pump-day failed, none of it by error, and nothing remembered', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    const result = await catalog.markTouched([{ pump: 'A', day: '2014-03-12' }], today, now, { stopWhen: () => true });
    expect(result).toMatchObject({ failed: [0], written: 0, stopped: true, failedByError: 0 });
    expect(await catalog.markTouched([{ pump: 'A', day: '2014-03-12' }], today, now)).toMatchObject({ failed: [], written: 3 });
  });

  it('names the last error of markers that could not be written', async () => {
    intercept(db.client, async (command, next) => {
      if (command instanceof BatchWriteItemCommand) throw Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
      return next(command);
    });
    const catalog = createCatalogStore(db.client, db.cfg, { maxAttempts: 1, sleep: async () => undefined });
    const result = await catalog.markTouched([{ pump: 'A', day: '2014-03-12' }, { pump: 'B', day: '2014-03-12' }], today, now);
    expect(result.failed).toEqual([0, 1]);
    expect(result.written).toBe(0);
    expect(result.lastError).toMatch(/denied/);
    expect(result.stopped).toBeUndefined();
  });

  it('passes any other error of a conditional delete on to the caller (only a lost race answers false)', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    await catalog.markTouched([{ pump: 'A', day: '2014-03-10' }], today, now);
    const [marker] = await collect(catalog.listPending());
    intercept(db.client, async (command, next) => {
      if (command instanceof DeleteItemCommand) throw Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
      return next(command);
    });
    await expect(catalog.clearPending(marker!)).rejects.toThrow('denied');
  });

  it('writes every marker again after forgetWrittenMarkers, and reports a clean touch without a lastError', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    const touched = [{ pump: 'A', day: '2014-03-12' }];
    expect(await catalog.markTouched(touched, today, now)).toStrictEqual({ failed: [], written: 3, pending: 0 });
    expect(await catalog.markTouched(touched, today, now)).toStrictEqual({ failed: [], written: 0, pending: 0 });
    forgetWrittenMarkers();
    expect(await catalog.markTouched(touched, today, now)).toStrictEqual({ failed: [], written: 3, pending: 0 });
  });

  it('keeps the warm-container memory per region when no DynamoDB endpoint is configured', async () => {
    const { dynamodb: _ignored, ...endpoints } = db.cfg.endpoints;
    const inRegion = (region: string) => createCatalogStore(db.client, { ...db.cfg, region, endpoints });
    const touched = [{ pump: 'A', day: '2014-03-12' }];
    expect(await inRegion('us-east-1').markTouched(touched, today, now)).toMatchObject({ written: 3 });
    expect(await inRegion('us-east-1').markTouched(touched, today, now)).toMatchObject({ written: 0 });
    expect(await inRegion('eu-west-1').markTouched(touched, today, now)).toMatchObject({ written: 3 });
  });

  it('reports failed pump-days in ascending order even when a shared day marker fails first', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    const touched = [
      { pump: 'A', day: '2014-03-10' },
      { pump: 'B', day: '2014-03-11' },
      { pump: 'C', day: '2014-03-10' },
    ];
    expect((await catalog.markTouched(touched, today, now, { stopWhen: () => true })).failed).toEqual([0, 1, 2]);
  });

  it('counts the markers that failed on an error before a stop in failedByError', async () => {
    let calls = 0;
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      calls++;
      throw Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    });
    const catalog = createCatalogStore(db.client, db.cfg, { concurrency: 1, maxAttempts: 1, sleep: async () => undefined });
    // 13 pumps on today: 13 registry + 1 DAYS + 13 DAY# items = 27, two requests of 25 and 2.
    const touched = Array.from({ length: 13 }, (_, i) => ({ pump: `P${String(i).padStart(2, '0')}`, day: today }));
    const result = await catalog.markTouched(touched, today, now, { stopWhen: () => calls >= 1 });
    expect(calls).toBe(1);
    expect(result).toMatchObject({ written: 0, stopped: true, failedByError: 25 });
    expect(result.failed).toHaveLength(13);
  });

  it('answers false for a lost race recognised by its error name alone, and passes on even a thrown null', async () => {
    const catalog = createCatalogStore(db.client, db.cfg);
    await catalog.markTouched([{ pump: 'A', day: '2014-03-10' }], today, now);
    const [marker] = await collect(catalog.listPending());
    let thrown: unknown = Object.assign(new Error('lost'), { name: 'ConditionalCheckFailedException' });
    intercept(db.client, async (command, next) => {
      if (command instanceof DeleteItemCommand) throw thrown;
      return next(command);
    });
    expect(await catalog.clearPending(marker!)).toBe(false);
    thrown = null;
    await expect(catalog.clearPending(marker!)).rejects.toBeNull();
  });

  it("writes markers with the configuration's attempts when the caller gives none", async () => {
    let calls = 0;
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      calls++;
      return { UnprocessedItems: command.input.RequestItems };
    });
    const catalog = createCatalogStore(db.client, { ...db.cfg, writeMaxAttempts: 2, writeBaseDelayMs: 0 });
    expect((await catalog.markTouched([{ pump: 'A', day: '2014-03-12' }], today, now)).failed).toEqual([0]);
    expect(calls).toBe(2);
  });
});

