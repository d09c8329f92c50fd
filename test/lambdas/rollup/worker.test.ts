/**
 * The rollup planner and worker handlers against dynalite: the planner's work items, the worker's SQS handler with
 * partial batch responses, and a redelivered item that is recognised as done.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { DEFAULT_ALERT_RULES, loadConfig } from '../../../lambdas/config';
import type { PendingTask } from '../../../lambdas/core/rollup-tasks';
import { compileRules } from '../../../lambdas/core/rules';
import { createRollupPlanner } from '../../../lambdas/rollup/planner';
import { createRollupWorker, RollupTaskFailedError } from '../../../lambdas/rollup/worker';
import { createCatalogStore, forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { queryStats } from '../../../lambdas/store/queries';
import { createReadingStore } from '../../../lambdas/store/reading-store';
import { createRollupRunStore } from '../../../lambdas/store/rollup-run-store';
import { createSeriesStore } from '../../../lambdas/store/series-store';
import { createStatsStore } from '../../../lambdas/store/stats-store';
import type { QueueMessage } from '../../../lambdas/store/work-queue';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { collect, intercept } from '../../helpers/intercept';

const DAY = '2014-03-10';
const PUMPS = ['ALPHA', 'BRAVO', 'CHARLIE', 'DELTA', 'ECHO'];
const evaluate = compileRules(DEFAULT_ALERT_RULES);

/** An SQS event of messages, shaped like Lambda's. */
function sqsEvent(bodies: { id: string; body: string }[]): SQSEvent {
  return {
    Records: bodies.map(({ id, body }) => ({
      messageId: id,
      receiptHandle: `rh-${id}`,
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:wellwatch-rollup-work',
      awsRegion: 'us-east-1',
    })),
  };
}

describe('rollup planner and worker', () => {
  let db: DynaliteHandle;

  beforeAll(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
    const readings = PUMPS.flatMap((pump, i) =>
      [1, 2, 3].map((h) => {
        const values = { hz: 5 + i, disp: 2, flo: 100 * h, sedPPM: 1, psi: 40 + h, chlPPM: 1 };
        const time = `0${h}:00:00`;
        return { pump, day: DAY, time, ts: `${DAY}T${time}Z`, values, alerts: evaluate(values) };
      }),
    );
    expect((await createReadingStore(db.client, db.cfg).put(readings)).failed).toEqual([]);
    expect((await createCatalogStore(db.client, db.cfg).markTouched(PUMPS.map((pump) => ({ pump, day: DAY })), DAY)).failed).toEqual([]);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('plans work items, rolls them up from SQS events, reports only the bad message and acknowledges a redelivery without work', async () => {
    const queued: QueueMessage[] = [];
    const plan = createRollupPlanner(db.cfg, { dynamo: db.client, queue: { send: async (m) => void queued.push(...m) }, taskPumpDays: 1, metricsSink: () => undefined, log: () => undefined });
    const planned = await plan({ date: DAY });
    expect(planned.runs).toEqual([{ scope: DAY, generation: 1, action: 'start', planned: 5, enqueued: 5, pumpDays: 5 }]);
    expect(new Set(queued.map((m) => m.id)).size).toBe(5);

    const worker = createRollupWorker(db.cfg, { dynamo: db.client, metricsSink: () => undefined, log: () => undefined });
    const first = sqsEvent([
      { id: 'm-0', body: queued[0]!.body },
      { id: 'm-bad', body: '{"v":1,"kind":"week"}' },
      { id: 'm-1', body: queued[1]!.body },
    ]);
    expect(await worker.handler(first)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-bad' }] });
    const runs = createRollupRunStore(db.client, db.cfg);
    expect(await runs.readProgress(DAY)).toMatchObject({ planned: 5, done: 2, complete: false });

    // A planner call now finishes the run: only the 3 items not done are enqueued again.
    queued.length = 0;
    expect((await plan({ date: DAY })).runs).toEqual([{ scope: DAY, generation: 1, action: 'finish', planned: 5, enqueued: 3, pumpDays: 5 }]);
    expect(await worker.handler(sqsEvent(queued.map((m, i) => ({ id: `m-${i + 2}`, body: m.body }))))).toEqual({ batchItemFailures: [] });
    expect(await runs.readProgress(DAY)).toMatchObject({ planned: 5, done: 5, complete: true, totals: { pumpDays: 5, readings: 15, statsWritten: 5 } });
    expect((await collect(queryStats(db.client, db.cfg, { from: DAY, to: DAY }))).map((s) => [s.pump, s.count])).toEqual(PUMPS.map((p) => [p, 3]));

    // SQS delivers a message again: the worker sees its task done and writes nothing.
    let puts = 0;
    const restore = intercept(db.client, (command, next) => {
      if (command instanceof PutItemCommand && command.input.TableName === db.cfg.statsTable) puts++;
      return next(command);
    });
    expect(await worker.handler(sqsEvent([{ id: 'm-again', body: queued[0]!.body }]))).toEqual({ batchItemFailures: [] });
    restore();
    expect(puts).toBe(0);
  });
});

describe('rollup worker: failed pump-days, malformed messages, logs and the partial batch response', () => {
  let db: DynaliteHandle;
  let seq = 0;

  /** A pending work item of the given pumps on DAY, with an id not used before (so it is never done already). */
  const pendingTask = (pumps: readonly string[]): PendingTask => ({
    kind: 'pending',
    scope: 'pending',
    generation: 1,
    id: `b00-${String(++seq).padStart(5, '0')}`,
    bucket: 0,
    markers: pumps.map((pump) => ({ pump, day: DAY, touchedAt: '2014-03-11T00:00:00.000Z' })),
  });
  /** The SDK's error for a rejected (not retryable) and a throttled (retryable) call. */
  const rejected = () => Object.assign(new Error('item too large'), { name: 'ValidationException' });
  const throttled = () => Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
  /** Whether a command is a PutItem of an hourly row (sk `<day>T<hh>`) or of a daily row of the stats table. */
  const isStatsPut = (command: unknown, hourly: boolean) =>
    command instanceof PutItemCommand && command.input.TableName === db.cfg.statsTable && String(command.input.Item?.sk?.S).includes('T') === hourly;

  beforeAll(async () => {
    db = await startDynalite();
    const readings = PUMPS.map((pump) => {
      const values = { hz: 50, disp: 2, flo: 100, sedPPM: 1, psi: 40, chlPPM: 1 };
      return { pump, day: DAY, time: '01:00:00', ts: `${DAY}T01:00:00Z`, values, alerts: evaluate(values) };
    });
    expect((await createReadingStore(db.client, db.cfg).put(readings)).failed).toEqual([]);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('fails a work item whose pump-days fail, naming the first three, counting the rest and keeping the first error as the cause', async () => {
    const worker = createRollupWorker(db.cfg, { dynamo: db.client, concurrency: 1, metricsSink: () => undefined, log: () => undefined });
    const hourlyError = (pump: string) => `${pump}@${DAY}: hourly series of ${pump} on ${DAY} not written to ${db.cfg.statsTable}: ValidationException: item too large`;
    const restore = intercept(db.client, (command, next) => (isStatsPut(command, true) ? Promise.reject(rejected()) : next(command)));
    try {
      const five = pendingTask(PUMPS);
      const error = (await worker.runTask(five).catch((e: unknown) => e)) as RollupTaskFailedError;
      expect(error).toBeInstanceOf(RollupTaskFailedError);
      expect(error.name).toBe('RollupTaskFailedError');
      expect(error.message).toBe(`rollup work item pending/${five.id} failed for 5 pump-day(s): ${PUMPS.slice(0, 3).map(hourlyError).join('; ')} and 2 more`);
      expect(error.failures).toEqual(PUMPS.map(hourlyError));
      expect(error.partial).toEqual({ pumpDays: 0, readings: 0, statsWritten: 0, pendingCleared: 0, superseded: 0 });
      expect((error.cause as Error).message).toBe(`hourly series of ALPHA on ${DAY} not written to ${db.cfg.statsTable}: ValidationException: item too large`);

      const three = pendingTask(PUMPS.slice(0, 3));
      const error3 = (await worker.runTask(three).catch((e: unknown) => e)) as RollupTaskFailedError;
      expect(error3.message).toBe(`rollup work item pending/${three.id} failed for 3 pump-day(s): ${PUMPS.slice(0, 3).map(hourlyError).join('; ')}`);
      expect(await createRollupRunStore(db.client, db.cfg).isDone(three)).toBe(false);
    } finally {
      restore();
    }
  });

  it('retries a throttled pump-day writeMaxAttempts times (from the config when no retry is given), a rejected one once', async () => {
    const cfg = loadConfig({ endpoints: { dynamodb: db.endpoint }, writeMaxAttempts: 2, writeBaseDelayMs: 1 }, {});
    const worker = createRollupWorker(cfg, { dynamo: db.client, metricsSink: () => undefined, log: () => undefined });
    for (const [fail, attempts] of [
      [throttled, 2],
      [rejected, 1],
    ] as const) {
      let puts = 0;
      const restore = intercept(db.client, (command, next) => (isStatsPut(command, false) ? (puts++, Promise.reject(fail())) : next(command)));
      try {
        await expect(worker.runTask(pendingTask(['ALPHA']))).rejects.toBeInstanceOf(RollupTaskFailedError);
      } finally {
        restore();
      }
      expect(puts).toBe(attempts);
    }
  });

  it('reports failed and malformed messages by message id, logs each with its receive count, and completes a failed item on redelivery', async () => {
    const logs: Record<string, unknown>[] = [];
    const metrics: Record<string, unknown>[] = [];
    const worker = createRollupWorker(db.cfg, {
      dynamo: db.client,
      metricsSink: (line) => void metrics.push(JSON.parse(line)),
      log: (line) => void logs.push(JSON.parse(line)),
    });
    const good = pendingTask(['BRAVO']);
    const failing = pendingTask(['CHARLIE']);
    const event = sqsEvent([
      { id: 'm-good', body: JSON.stringify({ v: 1, ...good }) },
      { id: 'm-fails', body: JSON.stringify({ v: 1, ...failing }) },
      { id: 'm-kind', body: '{"v":1,"kind":"week"}' },
      { id: 'm-not-json', body: 'hello' },
    ]);
    event.Records[2]!.attributes.ApproximateReceiveCount = '3';
    // A record without attributes (a hand-made event) is still reported, not thrown.
    delete (event.Records[3] as { attributes?: unknown }).attributes;
    const restore = intercept(db.client, (command, next) => (isStatsPut(command, false) && command.input.Item?.pk?.S === 'CHARLIE' ? Promise.reject(rejected()) : next(command)));
    try {
      expect(await worker.handler(event)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-fails' }, { itemIdentifier: 'm-kind' }, { itemIdentifier: 'm-not-json' }] });
    } finally {
      restore();
    }
    expect(logs.map((l) => l.message)).toEqual(['rollup work item finished', 'rollup work item failed', 'rollup work item failed', 'rollup work item failed']);
    expect(logs[0]).toMatchObject({ level: 'INFO', scope: 'pending', generation: 1, task: good.id, status: 'done', pumpDays: 1, readings: 1, statsWritten: 1, pendingCleared: 0, superseded: 0 });
    expect(logs[1]).toMatchObject({ level: 'ERROR', messageId: 'm-fails', receiveCount: '1', error: expect.stringContaining(`failed for 1 pump-day(s): CHARLIE@${DAY}: stats of CHARLIE`) });
    expect(logs[2]).toMatchObject({ messageId: 'm-kind', receiveCount: '3', error: 'RollupTaskError: rollup work item: scope must be a non-empty string, got undefined' });
    expect(logs[3]).toMatchObject({ messageId: 'm-not-json', error: 'RollupTaskError: rollup work item is not JSON: "hello"' });
    expect(logs[3]).not.toHaveProperty('receiveCount');
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ RollupFailures: 1 });

    // The failed item returned to the queue; once the store accepts the write, its redelivery completes it.
    expect(await worker.handler(sqsEvent([{ id: 'm-fails-again', body: JSON.stringify({ v: 1, ...failing }) }]))).toEqual({ batchItemFailures: [] });
    expect(logs[4]).toMatchObject({ message: 'rollup work item finished', task: failing.id, status: 'done', pumpDays: 1 });
  });

  it('answers an event without records with an empty partial batch response', async () => {
    const worker = createRollupWorker(db.cfg, { dynamo: db.client, metricsSink: () => undefined, log: () => undefined });
    expect(await worker.handler({} as SQSEvent)).toEqual({ batchItemFailures: [] });
  });

  it('builds its own DynamoDB client from the config for the stores it is not given', async () => {
    const given = { stats: createStatsStore(db.client, db.cfg), catalog: createCatalogStore(db.client, db.cfg), series: createSeriesStore(db.client, db.cfg), runs: createRollupRunStore(db.client, db.cfg) };
    const worker = createRollupWorker(db.cfg, { ...given, metricsSink: () => undefined, log: () => undefined });
    expect(await worker.runTask(pendingTask(['DELTA']))).toEqual({ status: 'done', outcome: { pumpDays: 1, readings: 1, statsWritten: 1, pendingCleared: 0, superseded: 0 } });
  });
});
