import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BatchWriteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { createConsumerHandler, deadlineCheck, type ConsumerDeps } from '../../../lambdas/consumer/handler';
import { CONSUMER_DEADLINE, CONSUMER_FUNCTION, SDK_CLIENT, type WellwatchConfig } from '../../../lambdas/config';
import { readingKey, ttlFor } from '../../../lambdas/core/keys';
import { aggregate } from '../../../lambdas/core/kpl';
import type { DeadLetter, EvaluatedReading } from '../../../lambdas/core/types';
import { forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { listPending, listPumps, queryAlerts, queryReadings } from '../../../lambdas/store/queries';
import { scanTable, startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { intercept, collect } from '../../helpers/intercept';
import { kinesisEvent } from '../../helpers/kinesis-event';

/** A seed-format line: `pump,M/D/YY,H:MM,hz,disp,flo,sedPPM,psi,chlPPM`. */
function line(pump: string, day: string, minuteOfDay: number, psi: number, flo = 881): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const time = `${Math.floor(minuteOfDay / 60)}:${String(minuteOfDay % 60).padStart(2, '0')}`;
  return `${pump},${m}/${d}/${String(y).slice(2)},${time},10.27,1.73,${flo},1.56,${psi},1.94`;
}

interface Captured {
  metrics: Record<string, unknown>[];
  logs: Record<string, unknown>[];
}

/** Sums each metric over all EMF lines (counters) or collects its values (gauges). */
function metricValues(captured: Captured, name: string): number[] {
  return captured.metrics.filter((m) => name in m).flatMap((m) => (Array.isArray(m[name]) ? (m[name] as number[]) : [m[name] as number]));
}

describe('consumer handler', () => {
  let db: DynaliteHandle;
  let dir: string;
  let deadLetterPath: string;
  let captured: Captured;

  async function setup(config: Partial<WellwatchConfig> = {}): Promise<void> {
    dir = await mkdtemp(join(tmpdir(), 'wellwatch-consumer-'));
    deadLetterPath = join(dir, 'dead-letters.jsonl');
    db = await startDynalite({ config: { deadLetterUrl: pathToFileURL(deadLetterPath).href, ...config } });
  }

  function consumer(now: string, deps: ConsumerDeps = {}) {
    return createConsumerHandler(db.cfg, {
      dynamo: db.client,
      clock: () => new Date(now),
      metricsSink: (l) => captured.metrics.push(JSON.parse(l)),
      log: (l) => captured.logs.push(JSON.parse(l)),
      retry: { maxAttempts: 3, sleep: async () => undefined },
      ...deps,
    });
  }

  async function deadLetters(): Promise<DeadLetter[]> {
    try {
      return (await readFile(deadLetterPath, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  }

  beforeEach(() => {
    forgetWrittenMarkers();
    captured = { metrics: [], logs: [] };
  });
  afterEach(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores good lines, indexes alerts in both GSIs and sends bad lines to the JSONL with their coordinates', async () => {
    await setup();
    const event = kinesisEvent(
      [
        { data: [line('COHUTTA', '2014-03-10', 61, 85), line('COHUTTA', '2014-03-10', 63, 2), ''].join('\n'), partitionKey: 'COHUTTA' },
        { data: ['pump,date,time,hz,disp,flo,sedPPM,psi,chlPPM', 'COHUTTA,3/10/14,1:05,10.27', line('ETOWAH', '2014-03-10', 62, 4.5)].join('\r\n'), partitionKey: 'ETOWAH' },
        { data: ['ETOWAH,2/30/14,1:01,1,1,1,1,1,1', line('ETOWAH', '2014-03-10', 64, 70, 900)].join('\n'), partitionKey: 'ETOWAH' },
      ],
      { shardId: 'shardId-000000000002' },
    );
    const result = await consumer('2014-03-10T12:00:00Z')(event);
    expect(result).toEqual({ batchItemFailures: [] });

    const cohutta = await collect(queryReadings(db.client, db.cfg, { pump: 'COHUTTA' }));
    const etowah = await collect(queryReadings(db.client, db.cfg, { pump: 'ETOWAH' }));
    expect(cohutta.map((r) => [r.ts, r.values.psi, r.alerts])).toEqual([
      ['2014-03-10T01:01:00Z', 85, []],
      ['2014-03-10T01:03:00Z', 2, ['low-psi']],
    ]);
    expect(etowah.map((r) => [r.ts, r.values.psi, r.alerts])).toEqual([
      ['2014-03-10T01:02:00Z', 4.5, ['low-psi']],
      ['2014-03-10T01:04:00Z', 70, []],
    ]);

    const byDay = await collect(queryAlerts(db.client, db.cfg, { from: '2014-03-10', to: '2014-03-10' }));
    expect(byDay.map((r) => `${r.ts} ${r.pump}`)).toEqual(['2014-03-10T01:02:00Z ETOWAH', '2014-03-10T01:03:00Z COHUTTA']);
    const byPump = await collect(queryAlerts(db.client, db.cfg, { pump: 'ETOWAH' }));
    expect(byPump.map((r) => r.ts)).toEqual(['2014-03-10T01:02:00Z']);

    const letters = await deadLetters();
    expect(letters.map((l) => [l.raw, l.code, l.lineInRecord, l.shardId, l.sequenceNumber, l.partitionKey])).toEqual([
      ['COHUTTA,3/10/14,1:05,10.27', 'field-count', 2, 'shardId-000000000002', event.Records[1]!.kinesis.sequenceNumber, 'ETOWAH'],
      ['ETOWAH,2/30/14,1:01,1,1,1,1,1,1', 'date', 1, 'shardId-000000000002', event.Records[2]!.kinesis.sequenceNumber, 'ETOWAH'],
    ]);
    for (const l of letters) {
      expect(l.reason.length).toBeGreaterThan(5);
      expect(l.rejectedAt).toBe('2014-03-10T12:00:00.000Z');
    }

    expect(metricValues(captured, 'ReadingsStored')).toEqual([4]);
    expect(metricValues(captured, 'Alerts')).toEqual([2]);
    expect(metricValues(captured, 'BadLines')).toEqual([2]);
    expect(metricValues(captured, 'BatchRecords')).toEqual([3]);
    expect(metricValues(captured, 'BatchReadings')).toEqual([4]);
    expect(metricValues(captured, 'PsiMax')).toEqual([85]);
    expect(metricValues(captured, 'PsiMin')).toEqual([2]);
    expect(metricValues(captured, 'PsiAvg')).toEqual([(85 + 2 + 4.5 + 70) / 4]);
    expect(metricValues(captured, 'FloMax')).toEqual([900]);
    expect(metricValues(captured, 'FloMin')).toEqual([881]);
    expect(metricValues(captured, 'FloAvg')).toEqual([(881 * 3 + 900) / 4]);
    expect(captured.metrics[0]!._aws).toMatchObject({ CloudWatchMetrics: [{ Namespace: 'Wellwatch', Dimensions: [['service']] }] });
    // Only warnings and errors are logged: one line summarising the bad lines.
    expect(captured.logs).toHaveLength(1);
    expect(captured.logs[0]).toMatchObject({ level: 'WARN', message: 'bad lines rejected', count: 2, codes: ['field-count', 'date'] });
  });

  it('leaves identical table contents when the same event is delivered again', async () => {
    await setup();
    const pumps = ['ALPHA', 'BRAVO', 'CHARLIE', 'DELTA'];
    const records = [];
    for (let r = 0; r < 24; r++) {
      const lines = [];
      for (let k = 0; k < 40; k++) {
        const n = r * 40 + k;
        const pump = pumps[n % pumps.length]!;
        const day = n % 3 === 0 ? '2014-03-10' : '2014-03-11';
        lines.push(line(pump, day, Math.floor(n / 4) % 1440, n % 11 === 0 ? 3 : 50 + (n % 40), 800 + (n % 200)));
      }
      records.push({ data: lines.join('\n'), partitionKey: pumps[r % pumps.length] });
    }
    const event = kinesisEvent(records);
    // The clock says 2014-03-11: every day is "today or earlier", so markers are deterministic except touchedAt.
    const consume = consumer('2014-03-11T10:00:00Z');
    expect(await consume(event)).toEqual({ batchItemFailures: [] });
    const snapshot = async () => ({
      readings: await scanTable(db.client, db.cfg.readingsTable),
      stats: await scanTable(db.client, db.cfg.statsTable),
      catalog: (await scanTable(db.client, db.cfg.catalogTable)).map(({ touchedAt, ...rest }) => ({ ...rest, touched: touchedAt !== undefined }) as Record<string, any>),
    });
    const first = await snapshot();
    expect(first.readings).toHaveLength(960);
    expect(first.catalog.filter((i) => i.pk.S.startsWith('PENDING#'))).toHaveLength(4);

    forgetWrittenMarkers(); // a cold container redelivering the batch
    expect(await consume(event)).toEqual({ batchItemFailures: [] });
    expect(await snapshot()).toEqual(first);
    expect(await consumer('2014-03-11T10:00:00Z')(event)).toEqual({ batchItemFailures: [] }); // warm
    expect(await snapshot()).toEqual(first);
  });

  it('reports only the first failed sequence number, and a retry from there completes the batch', async () => {
    await setup();
    let refuse = true;
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand) || !refuse) return next(command);
      const table = db.cfg.readingsTable;
      const requests = command.input.RequestItems![table];
      if (!requests) return next(command);
      const bad = requests.filter((r: any) => r.PutRequest.Item.pk.S.startsWith('BRAVO#'));
      const good = requests.filter((r: any) => !r.PutRequest.Item.pk.S.startsWith('BRAVO#'));
      if (good.length) await next(new BatchWriteItemCommand({ RequestItems: { [table]: good } }));
      return bad.length ? { UnprocessedItems: { [table]: bad } } : {};
    });
    const event = kinesisEvent([
      { data: line('ALPHA', '2014-03-10', 1, 50) },
      { data: [line('ALPHA', '2014-03-10', 2, 50), 'garbage'].join('\n') },
      { data: line('BRAVO', '2014-03-10', 3, 50) },
      { data: [line('ALPHA', '2014-03-10', 4, 50), line('BRAVO', '2014-03-10', 5, 50)].join('\n') },
      { data: line('ALPHA', '2014-03-10', 6, 50) },
    ]);
    const consume = consumer('2014-03-10T12:00:00Z');
    const result = await consume(event);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[2]!.kinesis.sequenceNumber }] });
    expect((await collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA' }))).length).toBe(4);
    expect(await collect(queryReadings(db.client, db.cfg, { pump: 'BRAVO' }))).toEqual([]);
    // The pump-day that failed has no catalog entry yet: the rollup must not see a half-written day.
    expect(await collect(listPumps(db.client, db.cfg, '2014-03-10'))).toEqual(['ALPHA']);
    expect(captured.logs.find((l) => l.message === 'readings not written after retries')).toMatchObject({ level: 'ERROR', failed: 2, of: 6 });

    // Lambda retries from the reported record.
    refuse = false;
    const retry: KinesisStreamEvent = { Records: event.Records.slice(2) };
    expect(await consume(retry)).toEqual({ batchItemFailures: [] });
    const all = await scanTable(db.client, db.cfg.readingsTable);
    expect(all.map((i) => `${i.pk!.S} ${i.sk!.S}`)).toEqual([
      'ALPHA#2014-03-10 00:01:00',
      'ALPHA#2014-03-10 00:02:00',
      'ALPHA#2014-03-10 00:04:00',
      'ALPHA#2014-03-10 00:06:00',
      'BRAVO#2014-03-10 00:03:00',
      'BRAVO#2014-03-10 00:05:00',
    ]);
    expect(await collect(listPumps(db.client, db.cfg, '2014-03-10'))).toEqual(['ALPHA', 'BRAVO']);
  });

  it('cuts a batch short near the invocation deadline and resumes exactly where it stopped', async () => {
    await setup({ writeConcurrency: 1 });
    let remainingMs = 120_000;
    let approach = true;
    const context = { getRemainingTimeInMillis: () => remainingMs } as Context;
    intercept(db.client, async (command, next) => {
      const out = await next(command);
      // The deadline approaches while the first chunk of readings is being written (first invocation only).
      // 30 s: below the readings' reserve (42 s), above the markers' (22 s).
      if (approach && command instanceof BatchWriteItemCommand && command.input.RequestItems?.[db.cfg.readingsTable]) remainingMs = 30_000;
      return out;
    });
    const event = kinesisEvent(Array.from({ length: 100 }, (_, i) => ({ data: line('ALPHA', '2014-03-10', i + 1, 50) })));
    const consume = consumer('2014-03-10T12:00:00Z');
    expect(await consume(event, context)).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[25]!.kinesis.sequenceNumber }] });
    expect(await scanTable(db.client, db.cfg.readingsTable)).toHaveLength(25);
    expect(captured.logs).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'batch cut short near the invocation deadline', unwritten: 75, of: 100, resumeAtRecord: 25 }),
    );
    expect(captured.logs.some((l) => l.level === 'ERROR')).toBe(false);
    expect(metricValues(captured, 'BatchCutShort')).toEqual([1]);
    expect(metricValues(captured, 'BatchFailures')).toEqual([]);
    // The stored pump-day is in the catalog already (its first 25 readings are durable).
    expect(await collect(listPumps(db.client, db.cfg, '2014-03-10'))).toEqual(['ALPHA']);

    approach = false;
    remainingMs = 120_000;
    expect(await consume({ Records: event.Records.slice(25) }, context)).toEqual({ batchItemFailures: [] });
    expect(await scanTable(db.client, db.cfg.readingsTable)).toHaveLength(100);
  });

  it('reports a write error that happened before the cut as an error, not only as the cut', async () => {
    await setup({ writeConcurrency: 1 });
    let remainingMs = 60_000;
    const context = { getRemainingTimeInMillis: () => remainingMs } as Context;
    intercept(db.client, async (command, next) => {
      if (command instanceof BatchWriteItemCommand && command.input.RequestItems?.[db.cfg.readingsTable]) {
        remainingMs = 5_000;
        throw Object.assign(new Error('One or more parameter values were invalid'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
      }
      return next(command);
    });
    const event = kinesisEvent(Array.from({ length: 60 }, (_, i) => ({ data: line('ALPHA', '2014-03-10', i + 1, 50) })));
    await expect(consumer('2014-03-10T12:00:00Z')(event, context)).rejects.toMatchObject({
      name: 'BatchNoProgressError',
      sequenceNumber: event.Records[0]!.kinesis.sequenceNumber,
    });
    expect(captured.logs).toContainEqual(expect.objectContaining({ level: 'WARN', message: 'batch cut short near the invocation deadline', unwritten: 60 }));
    expect(captured.logs).toContainEqual(
      expect.objectContaining({ level: 'ERROR', message: 'readings not written after retries', failed: 25, error: expect.stringMatching(/^ValidationException/) }),
    );
    expect(metricValues(captured, 'BatchCutShort')).toEqual([1]);
    expect(metricValues(captured, 'BatchFailures')).toEqual([1]);
  });

  it('writes nothing when the invocation starts with no time left, and throws: no progress', async () => {
    await setup();
    const event = kinesisEvent([{ data: line('ALPHA', '2014-03-10', 1, 50) }, { data: 'bad line' }]);
    const context = { getRemainingTimeInMillis: () => 0 } as Context;
    await expect(consumer('2014-03-10T12:00:00Z')(event, context)).rejects.toMatchObject({ name: 'BatchNoProgressError' });
    expect(await scanTable(db.client, db.cfg.readingsTable)).toEqual([]);
    expect(await scanTable(db.client, db.cfg.catalogTable)).toEqual([]);
    expect(await deadLetters()).toEqual([]); // dead letters respect the deadline too
  });

  it('stops writing catalog markers near the deadline as it stops writing readings, and resumes at the first unmarked record', async () => {
    await setup({ writeConcurrency: 1 });
    let remainingMs = 60_000;
    const context = { getRemainingTimeInMillis: () => remainingMs } as Context;
    intercept(db.client, async (command, next) => {
      const out = await next(command);
      // The readings' write finished with 5 s left: no time for a marker call that may take 20 s.
      if (command instanceof BatchWriteItemCommand && command.input.RequestItems?.[db.cfg.readingsTable]) remainingMs = 5_000;
      return out;
    });
    const event = kinesisEvent([{ data: line('ALPHA', '2014-03-10', 1, 50) }, { data: line('BRAVO', '2014-03-10', 2, 50) }]);
    await expect(consumer('2014-03-10T12:00:00Z')(event, context)).rejects.toMatchObject({ name: 'BatchNoProgressError' });
    expect(await scanTable(db.client, db.cfg.readingsTable)).toHaveLength(2);
    expect(await scanTable(db.client, db.cfg.catalogTable)).toEqual([]);
    expect(captured.logs).toContainEqual(expect.objectContaining({ message: 'batch cut short near the invocation deadline', unwrittenMarkers: 2 }));
  });

  it('keeps at most 40 % of the starting time in reserve, and never cuts without a context', () => {
    let remaining = 8_000;
    const check = deadlineCheck({ getRemainingTimeInMillis: () => remaining }, CONSUMER_DEADLINE.readingsReserveMs)!;
    remaining = 3_201;
    expect(check()).toBe(false);
    remaining = 3_199;
    expect(check()).toBe(true);
    remaining = 8_000;
    expect(check()).toBe(true); // once reached, stays reached
    remaining = 600_000;
    const long = deadlineCheck({ getRemainingTimeInMillis: () => remaining }, CONSUMER_DEADLINE.readingsReserveMs)!;
    remaining = CONSUMER_DEADLINE.readingsReserveMs + 1;
    expect(long()).toBe(false);
    remaining = CONSUMER_DEADLINE.readingsReserveMs - 1;
    expect(long()).toBe(true);
    expect(deadlineCheck(undefined, 1_000)).toBeUndefined();
    expect(deadlineCheck({} as Context, 1_000)).toBeUndefined();
  });

  it('reserves enough for the worst-case store calls the SDK settings allow, within the default timeout', () => {
    const worstCall = SDK_CLIENT.storeMaxAttempts * SDK_CLIENT.requestTimeoutMs;
    // A reading write in flight plus the markers' write after it; then the markers' write alone.
    expect(CONSUMER_DEADLINE.readingsReserveMs).toBeGreaterThan(2 * worstCall);
    expect(CONSUMER_DEADLINE.markersReserveMs).toBeGreaterThan(worstCall);
    // The share cap must not shrink them at the default timeout.
    const timeoutMs = CONSUMER_FUNCTION.timeoutSeconds * 1000;
    expect(CONSUMER_DEADLINE.maxReserveShare * timeoutMs).toBeGreaterThanOrEqual(CONSUMER_DEADLINE.readingsReserveMs);
  });

  it('never fails the batch for bad lines', async () => {
    await setup();
    const event = kinesisEvent([{ data: 'not,a,reading' }, { data: Buffer.from([0xff, 0xfe, 0x0a]) }, { data: '\n\n' }]);
    expect(await consumer('2014-03-10T12:00:00Z')(event)).toEqual({ batchItemFailures: [] });
    expect((await deadLetters()).map((l) => [l.code, l.sequenceNumber])).toEqual([
      ['field-count', event.Records[0]!.kinesis.sequenceNumber],
      ['encoding', event.Records[1]!.kinesis.sequenceNumber],
    ]);
    expect(await scanTable(db.client, db.cfg.readingsTable)).toEqual([]);
    expect(metricValues(captured, 'ReadingsStored')).toEqual([0]);
    expect(metricValues(captured, 'PsiMax')).toEqual([]);
  });

  it('fails from the first record whose dead letter could not be delivered', async () => {
    await setup();
    const event = kinesisEvent([
      { data: line('ALPHA', '2014-03-10', 1, 50) },
      { data: line('ALPHA', '2014-03-10', 2, 50) },
      { data: 'bad line one' },
      { data: 'bad line two' },
    ]);
    const sink = {
      description: 'test',
      send: async (letters: readonly DeadLetter[]) => ({
        failed: letters.map((l, i) => (l.raw === 'bad line two' ? i : -1)).filter((i) => i >= 0),
        lastError: 'queue unavailable',
      }),
    };
    const result = await consumer('2014-03-10T12:00:00Z', { deadLetters: sink })(event);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[3]!.kinesis.sequenceNumber }] });
    expect(captured.logs.find((l) => l.message === 'dead letters not delivered after retries')).toMatchObject({ failed: 1, error: 'queue unavailable' });
  });

  it('fails from the first record touching a pump-day whose catalog marker could not be written', async () => {
    await setup();
    intercept(db.client, async (command, next) => {
      const requests = command instanceof BatchWriteItemCommand ? command.input.RequestItems![db.cfg.catalogTable] : undefined;
      if (!requests) return next(command);
      const bad = requests.filter((r: any) => r.PutRequest.Item.sk.S === 'BRAVO');
      const good = requests.filter((r: any) => r.PutRequest.Item.sk.S !== 'BRAVO');
      if (good.length) await next(new BatchWriteItemCommand({ RequestItems: { [db.cfg.catalogTable]: good } }));
      return bad.length ? { UnprocessedItems: { [db.cfg.catalogTable]: bad } } : {};
    });
    const event = kinesisEvent([
      { data: line('ALPHA', '2014-03-10', 1, 50) },
      { data: line('BRAVO', '2014-03-10', 2, 50) },
      { data: line('BRAVO', '2014-03-10', 3, 50) },
    ]);
    const result = await consumer('2014-03-10T12:00:00Z')(event);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }] });
    expect(await scanTable(db.client, db.cfg.readingsTable)).toHaveLength(3);
  });

  it('marks pump-days of earlier UTC days as pending, and not the current day', async () => {
    await setup();
    const event = kinesisEvent([{ data: [line('ALPHA', '2014-03-10', 1439, 50), line('ALPHA', '2014-03-11', 1, 50), line('BRAVO', '2014-03-09', 5, 50)].join('\n') }]);
    expect(await consumer('2014-03-11T00:05:00Z')(event)).toEqual({ batchItemFailures: [] });
    const pending = await collect(listPending(db.client, db.cfg));
    expect(pending.map((p) => `${p.day}/${p.pump}`)).toEqual(['2014-03-09/BRAVO', '2014-03-10/ALPHA']);
    expect(pending[0]!.touchedAt.startsWith('2014-03-11T00:05:00.000Z#')).toBe(true);
  });

  it('converts the sensor clock to UTC and sets expiresAt when retention is configured', async () => {
    await setup({ sourceUtcOffset: '+02:00', retentionDays: 7 });
    const event = kinesisEvent([{ data: 'COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94' }]);
    expect(await consumer('2014-03-10T12:00:00Z')(event)).toEqual({ batchItemFailures: [] });
    const out = await db.client.send(new GetItemCommand({ TableName: db.cfg.readingsTable, Key: readingKey('COHUTTA', '2014-03-09', '23:01:00') }));
    expect(out.Item?.ts).toEqual({ S: '2014-03-09T23:01:00Z' });
    expect(out.Item?.expiresAt).toEqual({ N: String(ttlFor('2014-03-09T23:01:00Z', 7)) });
  });

  it('evaluates the configured alert rules', async () => {
    await setup({ alertRules: [{ name: 'high-flow', field: 'flo', op: '>=', threshold: 2000 }] });
    const event = kinesisEvent([{ data: [line('ALPHA', '2014-03-10', 1, 2, 1999), line('ALPHA', '2014-03-10', 2, 50, 2000)].join('\n') }]);
    await consumer('2014-03-10T12:00:00Z')(event);
    const alerts: EvaluatedReading[] = await collect(queryAlerts(db.client, db.cfg, { pump: 'ALPHA' }));
    expect(alerts.map((a) => [a.time, a.alerts])).toEqual([['00:02:00', ['high-flow']]]);
  });

  it('unpacks KPL aggregated records and dead-letters a corrupt one as a whole', async () => {
    await setup();
    const agg = aggregate([
      { partitionKey: 'ALPHA', data: Buffer.from(line('ALPHA', '2014-03-10', 1, 50)) },
      { partitionKey: 'BRAVO', data: Buffer.from([line('BRAVO', '2014-03-10', 1, 50), line('BRAVO', '2014-03-10', 2, 50)].join('\n')) },
    ]);
    const corrupt = Buffer.from(agg);
    corrupt[corrupt.length - 1]! ^= 0xff;
    const event = kinesisEvent([{ data: agg }, { data: corrupt }]);
    expect(await consumer('2014-03-10T12:00:00Z')(event)).toEqual({ batchItemFailures: [] });
    expect(await scanTable(db.client, db.cfg.readingsTable)).toHaveLength(3);
    expect((await deadLetters()).map((l) => [l.code, l.sequenceNumber])).toEqual([['corrupt-aggregate', event.Records[1]!.kinesis.sequenceNumber]]);
  });

  /** Refuses BatchWriteItem puts into `table` whose item matches `bad` (they come back unprocessed, every time). */
  function refuse(table: string, bad: (item: Record<string, any>) => boolean): void {
    intercept(db.client, async (command, next) => {
      const requests = command instanceof BatchWriteItemCommand ? command.input.RequestItems![table] : undefined;
      if (!requests) return next(command);
      const failing = requests.filter((r: any) => bad(r.PutRequest.Item));
      const passing = requests.filter((r: any) => !bad(r.PutRequest.Item));
      if (passing.length) await next(new BatchWriteItemCommand({ RequestItems: { [table]: passing } }));
      return failing.length ? { UnprocessedItems: { [table]: failing } } : {};
    });
  }

  it('names the KPL record of a failed reading, never the record at the reading\'s index', async () => {
    await setup();
    refuse(db.cfg.readingsTable, (item) => item.pk.S.startsWith('BRAVO#'));
    const kpl = aggregate([
      { partitionKey: 'ALPHA', data: Buffer.from([line('ALPHA', '2014-03-10', 10, 50), line('ALPHA', '2014-03-10', 11, 50)].join('\n')) },
      { partitionKey: 'BRAVO', data: Buffer.from(line('BRAVO', '2014-03-10', 12, 50)) }, // the 3rd reading of record 1
      { partitionKey: 'ALPHA', data: Buffer.from(line('ALPHA', '2014-03-10', 13, 50)) },
    ]);
    const event = kinesisEvent([
      { data: line('ALPHA', '2014-03-10', 1, 50) },
      { data: kpl },
      ...[2, 3, 4, 5].map((m) => ({ data: line('ALPHA', '2014-03-10', m, 50) })),
    ]);
    // Reading 3 of the batch (index 3) is record 1's third reading: record 1 is named, not record 3.
    expect(await consumer('2014-03-10T12:00:00Z')(event)).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }] });
  });

  it('throws naming record 0 when the 3rd reading of a KPL record 0 fails: no progress', async () => {
    await setup();
    refuse(db.cfg.readingsTable, (item) => item.pk.S.startsWith('BRAVO#'));
    const kpl = aggregate([
      { partitionKey: 'ALPHA', data: Buffer.from([line('ALPHA', '2014-03-10', 10, 50), line('ALPHA', '2014-03-10', 11, 50)].join('\n')) },
      { partitionKey: 'BRAVO', data: Buffer.from(line('BRAVO', '2014-03-10', 12, 50)) },
    ]);
    const event = kinesisEvent([{ data: kpl }, ...[2, 3, 4].map((m) => ({ data: line('ALPHA', '2014-03-10', m, 50) }))]);
    await expect(consumer('2014-03-10T12:00:00Z')(event)).rejects.toMatchObject({
      name: 'BatchNoProgressError',
      sequenceNumber: event.Records[0]!.kinesis.sequenceNumber,
    });
  });

  it('reports the lowest record when a reading fails at record 5 and a catalog marker at record 1', async () => {
    await setup();
    refuse(db.cfg.readingsTable, (item) => item.pk.S.startsWith('BRAVO#'));
    refuse(db.cfg.catalogTable, (item) => item.sk.S === 'CHARLIE' || item.sk.S === 'DELTA');
    const event = kinesisEvent([
      { data: line('ALPHA', '2014-03-10', 1, 50) },
      { data: line('CHARLIE', '2014-03-10', 2, 50) },
      { data: line('ALPHA', '2014-03-10', 3, 50) },
      { data: line('DELTA', '2014-03-10', 4, 50) }, // a second marker failure, after record 1
      { data: line('ALPHA', '2014-03-10', 5, 50) },
      { data: line('BRAVO', '2014-03-10', 6, 50) },
    ]);
    expect(await consumer('2014-03-10T12:00:00Z')(event)).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }] });
  });

  it('reports the lowest record when a reading fails at record 5 and a dead letter at record 1', async () => {
    await setup();
    refuse(db.cfg.readingsTable, (item) => item.pk.S.startsWith('BRAVO#'));
    const sink = {
      description: 'test',
      send: async (letters: readonly DeadLetter[]) => ({ failed: letters.map((_, i) => i), lastError: 'queue unavailable' }),
    };
    const event = kinesisEvent([
      { data: line('ALPHA', '2014-03-10', 1, 50) },
      { data: 'a bad line' },
      ...[3, 4, 5].map((m) => ({ data: line('ALPHA', '2014-03-10', m, 50) })),
      { data: line('BRAVO', '2014-03-10', 6, 50) },
    ]);
    expect(await consumer('2014-03-10T12:00:00Z', { deadLetters: sink })(event)).toEqual({
      batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }],
    });
  });

  it('throws (so that Lambda bisects) when something unexpected throws', async () => {
    await setup();
    const event = kinesisEvent([{ data: line('ALPHA', '2014-03-10', 1, 50) }, { data: line('ALPHA', '2014-03-10', 2, 50) }]);
    const readings = {
      table: 'broken',
      put: async () => {
        throw new Error('socket closed');
      },
      dayValues: async function* () {},
      dayReadings: async function* () {},
    };
    await expect(consumer('2014-03-10T12:00:00Z', { readings })(event)).rejects.toMatchObject({
      name: 'BatchNoProgressError',
      sequenceNumber: event.Records[0]!.kinesis.sequenceNumber,
      cause: expect.objectContaining({ message: 'socket closed' }),
    });
    expect(captured.logs).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'batch failed unexpectedly', error: expect.stringContaining('socket closed') }));
    expect(metricValues(captured, 'BatchFailures')).toEqual([1]);
  });

  it("writes to a named deployment's tables and tags its metrics and logs with that deployment's service", async () => {
    await setup({ deployment: 'staging' });
    expect(db.cfg.readingsTable).toBe('wellwatch-staging-readings');
    const event = kinesisEvent([{ data: [line('ALPHA', '2014-03-10', 1, 50), 'garbage'].join('\n') }]);
    expect(await consumer('2014-03-10T12:00:00Z')(event)).toEqual({ batchItemFailures: [] });
    expect(await scanTable(db.client, 'wellwatch-staging-readings')).toHaveLength(1);
    expect(captured.metrics.length).toBeGreaterThan(0);
    expect(captured.metrics.every((m) => m.service === 'wellwatch-staging')).toBe(true);
    expect(captured.logs.find((l) => l.message === 'bad lines rejected')).toMatchObject({ service: 'wellwatch-staging' });
  });

  it('accepts an empty batch', async () => {
    await setup();
    expect(await consumer('2014-03-10T12:00:00Z')({ Records: [] })).toEqual({ batchItemFailures: [] });
  });
});
