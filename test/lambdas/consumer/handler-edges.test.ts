/**
 * The consumer's edges: events without records, a Lambda context without a clock, the exact deadline, dead letters
 * logged when no sink is configured, the alarm metrics of a quiet batch, and which condition sources the default
 * alarm step builds. Against a real dynalite.
 */
import { BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { createConsumerHandler, deadlineCheck, type ConsumerDeps } from '../../../lambdas/consumer/handler';
import { ALARM_DEFAULTS, KEYS, METRIC_NAMES, type ConfigOverrides } from '../../../lambdas/config';
import { createNotifier } from '../../../lambdas/store/notifier';
import { createCatalogStore, forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { createReadingStore } from '../../../lambdas/store/reading-store';
import { queryReadings } from '../../../lambdas/store/queries';
import { scanTable, startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { collect, intercept } from '../../helpers/intercept';
import { kinesisEvent } from '../../helpers/kinesis-event';
import { readingLine } from '../../helpers/pump-feed';

const NOW = new Date('2014-03-10T12:00:00Z');

describe('consumer handler edges', () => {
  let db: DynaliteHandle;
  let metrics: Record<string, unknown>[];
  let logs: Record<string, unknown>[];

  async function setup(config: ConfigOverrides = {}): Promise<void> {
    db = await startDynalite({ config });
  }

  function consumer(deps: ConsumerDeps = {}) {
    return createConsumerHandler(db.cfg, {
      dynamo: db.client,
      clock: () => NOW,
      metricsSink: (l) => metrics.push(JSON.parse(l)),
      log: (l) => logs.push(JSON.parse(l)),
      notifier: createNotifier(db.cfg, { log: () => undefined }),
      retry: { maxAttempts: 2, sleep: async () => undefined },
      ...deps,
    });
  }

  const metric = (name: string): unknown[] => metrics.filter((m) => name in m).map((m) => m[name]);

  beforeEach(() => {
    forgetWrittenMarkers();
    metrics = [];
    logs = [];
  });
  afterEach(async () => {
    await db?.close();
  });

  it('answers an event without records, or no event at all, with nothing failed and nothing logged or counted', async () => {
    await setup();
    const consume = consumer();
    expect(await consume({} as KinesisStreamEvent)).toEqual({ batchItemFailures: [] });
    expect(await consume(undefined as unknown as KinesisStreamEvent)).toEqual({ batchItemFailures: [] });
    expect(await consume({ Records: [] })).toEqual({ batchItemFailures: [] });
    expect(logs).toEqual([]);
    expect(metrics).toEqual([]);
  });

  it('never cuts a batch short under a context that cannot tell the remaining time', async () => {
    await setup();
    const context = { awsRequestId: 'req-1', functionName: 'wellwatch-consumer' } as unknown as Context;
    const event = kinesisEvent([{ data: readingLine('ALPHA', 1, 50) }, { data: readingLine('ALPHA', 2, 50) }]);
    expect(await consumer()(event, context)).toEqual({ batchItemFailures: [] });
    expect(await collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA' }))).toHaveLength(2);
  });

  it('is not yet at the deadline with exactly the reserve left, only below it', () => {
    let remaining = 10_000;
    const check = deadlineCheck({ getRemainingTimeInMillis: () => remaining }, 3_000)!;
    remaining = 3_000;
    expect(check()).toBe(false);
    remaining = 2_999;
    expect(check()).toBe(true);
  });

  it("logs dead letters through the consumer's log when no dead-letter URL is configured", async () => {
    await setup({ deadLetterUrl: undefined });
    const event = kinesisEvent([{ data: [readingLine('ALPHA', 1, 50), 'garbage'].join('\n') }]);
    expect(await consumer()(event)).toEqual({ batchItemFailures: [] });
    const letter = logs.find((l) => l.message === 'dead letter');
    expect(letter).toMatchObject({ level: 'WARN', deadLetter: { raw: 'garbage', lineInRecord: 2 } });
  });

  it('counts no alarm transitions for a batch that changes no alarm, and counts the transitions of one that does', async () => {
    await setup();
    const consume = consumer();
    expect(await consume(kinesisEvent([{ data: readingLine('ALPHA', 1, 50) }]))).toEqual({ batchItemFailures: [] });
    expect(metric(METRIC_NAMES.alarmTransitions)).toEqual([]);
    expect(await consume(kinesisEvent([{ data: readingLine('ALPHA', 2, 0) }]))).toEqual({ batchItemFailures: [] });
    expect(metric(METRIC_NAMES.alarmTransitions)).toEqual([1]);
  });

  it('names the unexpected error in what it throws', async () => {
    await setup();
    const real = createReadingStore(db.client, db.cfg);
    const readings = { ...real, put: async () => Promise.reject(new Error('socket closed')) };
    const event = kinesisEvent([{ data: readingLine('ALPHA', 1, 50) }]);
    await expect(consumer({ readings })(event)).rejects.toThrow(/unexpected error: .*socket closed/);
  });

  it('builds its own DynamoDB client from the configuration when only some stores are given', async () => {
    await setup();
    // Only the catalog store is given: the readings and the alarm state still need a client, built from cfg.endpoints.
    const consume = createConsumerHandler(db.cfg, {
      catalog: createCatalogStore(db.client, db.cfg),
      clock: () => NOW,
      metricsSink: () => undefined,
      log: () => undefined,
      notifier: createNotifier(db.cfg, { log: () => undefined }),
    });
    expect(await consume(kinesisEvent([{ data: readingLine('ALPHA', 1, 50) }]))).toEqual({ batchItemFailures: [] });
    expect(await collect(queryReadings(db.client, db.cfg, { pump: 'ALPHA' }))).toHaveLength(1);
  });

  it("stamps alarm notification markers with the consumer's clock (their expiry counts from it)", async () => {
    await setup();
    expect(await consumer()(kinesisEvent([{ data: readingLine('ALPHA', 1, 0) }]))).toEqual({ batchItemFailures: [] });
    const markers = (await scanTable(db.client, db.cfg.alarms.table)).filter((i) => i[KEYS.sortKey]?.S === 'N');
    expect(markers).toHaveLength(1);
    expect(markers[0]![KEYS.ttlAttribute]).toEqual({ N: String(Math.floor(NOW.getTime() / 1000) + ALARM_DEFAULTS.markerTtlDays * 86_400) });
  });

  it('runs the early-warning detectors when detectors are configured, and never touches their state when none are', async () => {
    const detectorReads = (sent: unknown[]) => sent.filter((c) => c instanceof BatchGetItemCommand && JSON.stringify(c.input).includes('D#detectors')).length;
    for (const [config, expected] of [[{}, true], [{ detectors: [] }, false]] as const) {
      await setup(config);
      const sent: unknown[] = [];
      intercept(db.client, (command, next) => {
        sent.push(command);
        return next(command);
      });
      expect(await consumer()(kinesisEvent([{ data: readingLine('ALPHA', 1, 50) }]))).toEqual({ batchItemFailures: [] });
      expect(detectorReads(sent) > 0).toBe(expected);
      await db.close();
    }
  });
});
