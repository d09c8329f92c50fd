/**
 * The rollup planner and worker handlers against dynalite: the planner's work items, the worker's SQS handler with
 * partial batch responses, and a redelivered item that is recognised as done.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { DEFAULT_ALERT_RULES } from '../../../lambdas/config';
import { compileRules } from '../../../lambdas/core/rules';
import { createRollupPlanner } from '../../../lambdas/rollup/planner';
import { createRollupWorker } from '../../../lambdas/rollup/worker';
import { createCatalogStore, forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { queryStats } from '../../../lambdas/store/queries';
import { createReadingStore } from '../../../lambdas/store/reading-store';
import { createRollupRunStore } from '../../../lambdas/store/rollup-run-store';
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
