/**
 * The consumer's answer when the alarm step cannot write a pump's alarm state: that pump's first record is reported
 * for retry (its readings are stored, its alarms are not), other pumps' alarms stand, and the log and metrics say so.
 * Against a real dynalite; the failure is injected on the alarms table's writes for one pump only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { BatchWriteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createConsumerHandler } from '../../../lambdas/consumer/handler';
import { METRIC_NAMES } from '../../../lambdas/config';
import { createNotifier } from '../../../lambdas/store/notifier';
import { forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { queryReadings } from '../../../lambdas/store/queries';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { collect, intercept } from '../../helpers/intercept';
import { kinesisEvent } from '../../helpers/kinesis-event';
import { readingLine } from '../../helpers/pump-feed';

describe('consumer handler when alarm states cannot be written', () => {
  let db: DynaliteHandle;
  let dir: string;
  let metrics: Record<string, unknown>[];
  let logs: Record<string, unknown>[];

  beforeEach(async () => {
    forgetWrittenMarkers();
    metrics = [];
    logs = [];
    dir = await mkdtemp(join(tmpdir(), 'wellwatch-consumer-alarms-'));
    db = await startDynalite({ config: { deadLetterUrl: pathToFileURL(join(dir, 'dead-letters.jsonl')).href } });
  });
  afterEach(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function consumer() {
    const log = (l: string) => logs.push(JSON.parse(l));
    return createConsumerHandler(db.cfg, {
      dynamo: db.client,
      clock: () => new Date('2014-03-10T12:00:00Z'),
      metricsSink: (l) => metrics.push(JSON.parse(l)),
      log,
      notifier: createNotifier(db.cfg, { log: () => undefined }),
      retry: { maxAttempts: 2, sleep: async () => undefined },
    });
  }

  const metric = (name: string): unknown[] => metrics.filter((m) => name in m).map((m) => m[name]);

  /** Fails every write to the alarms table that names `pump` (its alarm states and its last-seen item). */
  function refuseAlarmWritesOf(pump: string): () => void {
    return intercept(db.client, (command, next) => {
      const isWrite = command instanceof PutItemCommand || command instanceof UpdateItemCommand;
      if (isWrite && command.input.TableName === db.cfg.alarms.table && JSON.stringify(command.input).includes(pump)) {
        return Promise.reject(Object.assign(new Error(`refused for ${pump}`), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
      }
      return next(command);
    });
  }

  it("reports the failing pump's first record after progress, keeps its readings, and counts one batch failure", async () => {
    const restore = refuseAlarmWritesOf('BRAVO');
    const event = kinesisEvent([
      { data: readingLine('ALPHA', 1, 0) },
      { data: readingLine('ALPHA', 2, 0) },
      { data: readingLine('BRAVO', 3, 0) },
      { data: [readingLine('ALPHA', 4, 0), readingLine('BRAVO', 5, 0)].join('\n') },
    ]);
    const consume = consumer();
    expect(await consume(event)).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[2]!.kinesis.sequenceNumber }] });
    // The readings themselves are stored: only the alarm evaluation is retried.
    expect(await collect(queryReadings(db.client, db.cfg, { pump: 'BRAVO' }))).toHaveLength(2);
    const error = logs.find((l) => l.message === 'alarm states not written');
    expect(error).toMatchObject({ level: 'ERROR', pumps: ['BRAVO'] });
    expect(String(error!.error)).toMatch(/refused for BRAVO/);
    expect(metric(METRIC_NAMES.batchFailures)).toEqual([1]);
    // ALPHA's alarm was raised meanwhile: its transition is counted.
    expect((metric(METRIC_NAMES.alarmTransitions) as number[]).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(logs.find((l) => l.message === 'batch failed unexpectedly')).toBeUndefined();

    // Lambda retries from record 2: with the alarms table writable again the batch completes.
    restore();
    metrics = [];
    expect(await consume({ Records: event.Records.slice(2) })).toEqual({ batchItemFailures: [] });
    expect(metric(METRIC_NAMES.batchFailures)).toEqual([]);
  });

  it('names at most 10 of the pumps whose alarm states were not written, so the log line stays bounded', async () => {
    refuseAlarmWritesOf('QQ');
    const pumps = Array.from({ length: 11 }, (_, i) => `QQ${String(i).padStart(2, '0')}`);
    const event = kinesisEvent([{ data: readingLine('ALPHA', 1, 0) }, ...pumps.map((p, i) => ({ data: readingLine(p, 2 + i, 0) }))]);
    expect(await consumer()(event)).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }] });
    const error = logs.find((l) => l.message === 'alarm states not written') as { pumps: string[] };
    expect(error.pumps).toHaveLength(10);
    for (const p of error.pumps) expect(pumps).toContain(p);
  });

  it('throws, so that Lambda retries the whole batch, when the failing pump sits in the first record', async () => {
    refuseAlarmWritesOf('ALPHA');
    const event = kinesisEvent([{ data: readingLine('ALPHA', 1, 0) }, { data: readingLine('BRAVO', 2, 0) }]);
    await expect(consumer()(event)).rejects.toThrow(/alarm states not written/);
    expect(metric(METRIC_NAMES.batchFailures)).toEqual([1]);
  });

  it('adds the alarm failure to a batch that also failed to store a reading, counting the batch once', async () => {
    intercept(db.client, (command, next) => {
      const requests = command instanceof BatchWriteItemCommand ? command.input.RequestItems![db.cfg.readingsTable] : undefined;
      if (requests) {
        // DynamoDB's own partial answer: CHARLIE's reading stays unprocessed on every attempt.
        const bad = requests.filter((r: any) => r.PutRequest.Item.pump.S === 'CHARLIE');
        const good = requests.filter((r: any) => r.PutRequest.Item.pump.S !== 'CHARLIE');
        return next(new BatchWriteItemCommand({ RequestItems: { [db.cfg.readingsTable]: good } })).then(() => ({ UnprocessedItems: bad.length ? { [db.cfg.readingsTable]: bad } : {} }));
      }
      const isWrite = command instanceof PutItemCommand || command instanceof UpdateItemCommand;
      if (isWrite && command.input.TableName === db.cfg.alarms.table && JSON.stringify(command.input).includes('BRAVO')) {
        return Promise.reject(Object.assign(new Error('refused for BRAVO'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
      }
      return next(command);
    });
    // BRAVO (record 0) has its alarm state refused, CHARLIE (record 1) its reading: no progress, both reasons named.
    const event = kinesisEvent([{ data: readingLine('BRAVO', 2, 0) }, { data: readingLine('CHARLIE', 3, 50) }]);
    await expect(consumer()(event)).rejects.toThrow(/1 reading\(s\) not written; alarm states not written/);
    expect(metric(METRIC_NAMES.batchFailures)).toEqual([1]);
  });

  it('warns, without failing the batch, when alarm notifications cannot be delivered yet', async () => {
    // The notifications file is a directory: every publish fails; the state machine has the alarm, the sweep resends.
    const consume = createConsumerHandler(db.cfg, {
      dynamo: db.client,
      clock: () => new Date('2014-03-10T12:00:00Z'),
      metricsSink: (l) => metrics.push(JSON.parse(l)),
      log: (l) => logs.push(JSON.parse(l)),
      notifier: createNotifier({ ...db.cfg, alarms: { ...db.cfg.alarms, notifications: pathToFileURL(dir).href } }),
      retry: { maxAttempts: 2, sleep: async () => undefined },
    });
    expect(await consume(kinesisEvent([{ data: readingLine('ALPHA', 1, 0) }]))).toEqual({ batchItemFailures: [] });
    const warning = logs.find((l) => l.message === 'alarm notifications pending (retried by the next evaluation or the scheduled check)');
    expect(warning).toMatchObject({ level: 'WARN' });
    expect(typeof warning!.error).toBe('string');
    expect(logs.find((l) => l.message === 'alarm states not written')).toBeUndefined();
    expect(metric(METRIC_NAMES.batchFailures)).toEqual([]);
  });

  it("tags every log line of an invocation with Lambda's request id", async () => {
    refuseAlarmWritesOf('BRAVO');
    const context = {
      awsRequestId: 'req-0001',
      functionName: 'wellwatch-consumer',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:wellwatch-consumer',
      memoryLimitInMB: '512',
      getRemainingTimeInMillis: () => 60_000,
    } as unknown as Context;
    const event = kinesisEvent([{ data: readingLine('ALPHA', 1, 50) }, { data: readingLine('BRAVO', 2, 0) }]);
    expect(await consumer()(event, context)).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }] });
    const error = logs.find((l) => l.message === 'alarm states not written');
    expect(error).toMatchObject({ function_request_id: 'req-0001', function_name: 'wellwatch-consumer' });
  });
});

