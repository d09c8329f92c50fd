/**
 * The consumer when part of a batch cannot be stored: what its metrics count and what happens when the local
 * dead-letter file cannot be appended to. Against a real dynalite over HTTP; failures are real (a directory where the
 * JSON Lines file should be) or injected as DynamoDB's own `UnprocessedItems` answer.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { createConsumerHandler, type ConsumerDeps } from '../../../lambdas/consumer/handler';
import { METRIC_NAMES } from '../../../lambdas/config';
import { forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { queryAlerts, queryReadings } from '../../../lambdas/store/queries';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { intercept, collect } from '../../helpers/intercept';
import { kinesisEvent } from '../../helpers/kinesis-event';
import { readingLine } from '../../helpers/pump-feed';

describe('consumer handler under partial failure', () => {
  let db: DynaliteHandle;
  let dir: string;
  let metrics: Record<string, unknown>[];
  let logs: Record<string, unknown>[];

  beforeEach(async () => {
    forgetWrittenMarkers();
    metrics = [];
    logs = [];
    dir = await mkdtemp(join(tmpdir(), 'wellwatch-consumer-failures-'));
  });
  afterEach(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function consumer(deps: ConsumerDeps = {}) {
    return createConsumerHandler(db.cfg, {
      dynamo: db.client,
      clock: () => new Date('2014-03-10T12:00:00Z'),
      metricsSink: (l) => metrics.push(JSON.parse(l)),
      log: (l) => logs.push(JSON.parse(l)),
      retry: { maxAttempts: 2, sleep: async () => undefined },
      ...deps,
    });
  }

  const metric = (name: string): unknown[] => metrics.filter((m) => name in m).map((m) => m[name]);

  it('counts in the Alerts metric only the alerting readings that were stored', async () => {
    db = await startDynalite({ config: { deadLetterUrl: pathToFileURL(join(dir, 'dl.jsonl')).href } });
    // DynamoDB leaves BRAVO's items unprocessed on every attempt; everything else is written.
    intercept(db.client, async (command, next) => {
      const requests = command instanceof BatchWriteItemCommand ? command.input.RequestItems![db.cfg.readingsTable] : undefined;
      if (!requests) return next(command);
      const bad = requests.filter((r: any) => r.PutRequest.Item.pk.S.startsWith('BRAVO#'));
      const good = requests.filter((r: any) => !r.PutRequest.Item.pk.S.startsWith('BRAVO#'));
      if (good.length) await next(new BatchWriteItemCommand({ RequestItems: { [db.cfg.readingsTable]: good } }));
      return bad.length ? { UnprocessedItems: { [db.cfg.readingsTable]: bad } } : {};
    });
    const event = kinesisEvent([
      { data: [readingLine('ALPHA', 1, 2), readingLine('ALPHA', 2, 50)].join('\n') },
      { data: [readingLine('BRAVO', 3, 1), readingLine('BRAVO', 4, 3), readingLine('BRAVO', 5, 60)].join('\n') },
      { data: readingLine('ALPHA', 6, 4) },
    ]);
    const result = await consumer()(event);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }] });
    // Two of ALPHA's readings alert and were stored; BRAVO's two alerting readings were not.
    expect((await collect(queryAlerts(db.client, db.cfg, {}))).map((r) => `${r.pump} ${r.ts}`)).toEqual([
      'ALPHA 2014-03-10T00:01:00Z',
      'ALPHA 2014-03-10T00:06:00Z',
    ]);
    expect(metric(METRIC_NAMES.alerts)).toEqual([2]);
    expect(metric(METRIC_NAMES.readingsStored)).toEqual([3]);
    expect(metric(METRIC_NAMES.batchFailures)).toEqual([1]);
  });

  it('reports the letters failed, keeps the readings and rejects nothing when the dead-letter path is a directory', async () => {
    const path = join(dir, 'dead-letters.jsonl');
    await mkdir(path); // appendFile on a directory fails with EISDIR; mkdir of its parent succeeds
    db = await startDynalite({ config: { deadLetterUrl: pathToFileURL(path).href } });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const event = kinesisEvent([
        { data: readingLine('ALPHA', 1, 50) },
        { data: [readingLine('ALPHA', 2, 50), 'not a reading'].join('\n') },
        { data: ['also bad', readingLine('ALPHA', 3, 50)].join('\n') },
      ]);
      const result = await consumer()(event);
      // The first record holding an undeliverable letter is retried; the records before it are checkpointed.
      expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }] });
      expect((await collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA' }))).map((r) => r.time)).toEqual(['00:01:00', '00:02:00', '00:03:00']);
      const error = logs.find((l) => l.message === 'dead letters not delivered after retries');
      expect(error).toMatchObject({ level: 'ERROR', failed: 2, of: 2, sink: `file:${path}` });
      expect(String(error!.error)).toMatch(/EISDIR/);
      expect(metric(METRIC_NAMES.batchFailures)).toEqual([1]);
      // Let any stray promise settle before looking for unhandled rejections.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
