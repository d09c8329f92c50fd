/**
 * The rollup planner against dynalite: its configuration errors, the events it accepts (daily, date, range,
 * pending), a complete day skipped, an unfinished generation finished, a crashed or concurrent planner's run
 * finished, what it reports and logs, the SQS sink it builds from the environment, and the Lambda entry point.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../../lambdas/config';
import { ConfigError } from '../../../lambdas/core/errors';
import type { TaskOutcome } from '../../../lambdas/core/rollup-tasks';
import { createRollupPlanner, handler, type PlannerDeps } from '../../../lambdas/rollup/planner';
import { createCatalogStore, forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { createRollupRunStore, type RollupRunStore } from '../../../lambdas/store/rollup-run-store';
import type { QueueMessage } from '../../../lambdas/store/work-queue';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';

const PUMPS = ['ALPHA', 'BRAVO', 'CHARLIE', 'DELTA', 'ECHO'];
const QUEUE_ENV = 'WELLWATCH_ROLLUP_QUEUE_URL';
const OUTCOME: TaskOutcome = { pumpDays: 1, readings: 3, statsWritten: 1, pendingCleared: 0, superseded: 0 };

/** A fake SQS endpoint (AWS JSON 1.0): answers SendMessageBatch with every entry failed, or accepted. */
async function fakeSqs(fail: boolean): Promise<{ url: string; bodies: string[]; close: () => Promise<void> }> {
  const bodies: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const entries = (JSON.parse(text) as { Entries: { Id: string; MessageBody: string }[] }).Entries;
      if (!fail) bodies.push(...entries.map((e) => e.MessageBody));
      const out = fail
        ? { Successful: [], Failed: entries.map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'boom' })) }
        : { Successful: entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex') })), Failed: [] };
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Runs `fn` with `WELLWATCH_ROLLUP_QUEUE_URL` set to `value` (or unset), restoring it afterwards. */
async function withQueueEnv<T>(value: string | undefined, fn: () => T | Promise<T>): Promise<T> {
  const saved = process.env[QUEUE_ENV];
  if (value === undefined) delete process.env[QUEUE_ENV];
  else process.env[QUEUE_ENV] = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env[QUEUE_ENV];
    else process.env[QUEUE_ENV] = saved;
  }
}

describe('rollup planner', () => {
  let db: DynaliteHandle;
  let runs: RollupRunStore;

  /** Touches the pumps' day markers for `day` (touched on that day, so no pending markers). */
  const seed = async (day: string, pumps: readonly string[] = PUMPS) => {
    expect((await createCatalogStore(db.client, db.cfg).markTouched(pumps.map((pump) => ({ pump, day })), day)).failed).toEqual([]);
  };

  /** A planner on the test's dynalite, recording what it enqueues and logs. */
  const planner = (deps: PlannerDeps = {}) => {
    const queued: QueueMessage[] = [];
    const sends: number[] = [];
    const logs: Record<string, unknown>[] = [];
    const plan = createRollupPlanner(db.cfg, {
      dynamo: db.client,
      queue: {
        send: async (m) => {
          sends.push(m.length);
          queued.push(...m);
        },
      },
      taskPumpDays: 1,
      metricsSink: () => undefined,
      log: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>),
      ...deps,
    });
    return { plan, queued, sends, logs };
  };

  beforeAll(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
    runs = createRollupRunStore(db.client, db.cfg);
  });
  afterAll(async () => {
    await db?.close();
  });

  describe('configuration', () => {
    it('refuses to build without a queue when WELLWATCH_ROLLUP_QUEUE_URL is unset or empty, and builds when it is set', async () => {
      const message = 'WELLWATCH_ROLLUP_QUEUE_URL must name the rollup work queue (set by the stack)';
      for (const value of [undefined, '']) {
        const error = await withQueueEnv(value, () => {
          try {
            createRollupPlanner(db.cfg, { dynamo: db.client });
          } catch (e) {
            return e;
          }
          return undefined;
        });
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toBe(message);
      }
      await withQueueEnv('https://sqs.us-east-1.amazonaws.com/123456789012/wellwatch-rollup-work', () => {
        expect(typeof createRollupPlanner(db.cfg, { dynamo: db.client })).toBe('function');
      });
    });

    it('sends to the queue named by the environment with the configured write attempts', async () => {
      await seed('2014-04-01');
      const sqs = await fakeSqs(true);
      try {
        const cfg = loadConfig({ endpoints: { dynamodb: db.endpoint, sqs: sqs.url }, writeMaxAttempts: 2, writeBaseDelayMs: 1 }, {});
        const queueUrl = `${sqs.url}/123456789012/wellwatch-rollup-work`;
        const plan = await withQueueEnv(queueUrl, () =>
          createRollupPlanner(cfg, { dynamo: db.client, taskPumpDays: 1, metricsSink: () => undefined, log: () => undefined }),
        );
        await expect(plan({ date: '2014-04-01' })).rejects.toThrow(`5 rollup work item(s) not sent to ${queueUrl} after 2 attempts: InternalError: boom`);
      } finally {
        await sqs.close();
      }
    });

    it('builds its own DynamoDB client from the configuration when none is given, also for a missing run store', async () => {
      await seed('2014-04-02');
      const alone = planner({ dynamo: undefined });
      expect((await alone.plan({ date: '2014-04-02' })).runs).toEqual([{ scope: '2014-04-02', generation: 1, action: 'start', planned: 5, enqueued: 5, pumpDays: 5 }]);
      const catalogOnly = planner({ dynamo: undefined, catalog: createCatalogStore(db.client, db.cfg) });
      expect((await catalogOnly.plan({ date: '2014-04-02' })).runs).toEqual([{ scope: '2014-04-02', generation: 1, action: 'finish', planned: 5, enqueued: 5, pumpDays: 5 }]);
    });
  });

  describe('events and runs', () => {
    it('plans a date, skips the complete day on the daily event without enqueueing or logging, and recomputes it for a date or range', async () => {
      const day = '2014-03-10';
      await seed(day);
      const p = planner();
      expect(await p.plan({ date: day })).toEqual({ runs: [{ scope: day, generation: 1, action: 'start', planned: 5, enqueued: 5, pumpDays: 5 }] });
      expect(new Set(p.queued.map((m) => m.id)).size).toBe(5);
      expect(p.logs.filter((l) => l.message === 'rollup run planned')).toEqual([
        expect.objectContaining({ level: 'INFO', scope: day, generation: 1, action: 'start', planned: 5, enqueued: 5, pumpDays: 5 }),
      ]);
      for (const r of await runs.listTasks(day, 1)) expect(await runs.completeTask(r.task, OUTCOME)).toBe(true);

      const daily = planner();
      expect(await daily.plan({ mode: 'daily', time: '2014-03-11T06:00:00Z' })).toEqual({
        runs: [{ scope: day, generation: 1, action: 'skip', planned: 5, enqueued: 0, pumpDays: 5 }],
      });
      expect(daily.sends).toEqual([]);
      expect(daily.logs.filter((l) => l.message === 'rollup run planned')).toEqual([]);

      const again = planner();
      expect((await again.plan({ date: day })).runs).toEqual([{ scope: day, generation: 2, action: 'start', planned: 5, enqueued: 5, pumpDays: 5 }]);
      // A range: the day before has no pump-days (an empty run), the day's generation 2 is unfinished.
      const range = planner();
      expect((await range.plan({ from: '2014-03-09', to: day })).runs).toEqual([
        { scope: '2014-03-09', generation: 1, action: 'start', planned: 0, enqueued: 0, pumpDays: 0 },
        { scope: day, generation: 2, action: 'finish', planned: 5, enqueued: 5, pumpDays: 5 },
      ]);
      expect(range.logs.filter((l) => l.message === 'rollup run planned').map((l) => [l.scope, l.action])).toEqual([
        ['2014-03-09', 'start'],
        [day, 'finish'],
      ]);
    });

    it('finishes an unfinished generation by enqueueing only the work items not done', async () => {
      const day = '2014-03-12';
      await seed(day);
      const first = planner();
      await first.plan({ date: day });
      const records = await runs.listTasks(day, 1);
      for (const r of records.slice(0, 2)) await runs.completeTask(r.task, OUTCOME);
      const next = planner();
      expect((await next.plan({ mode: 'daily', time: '2014-03-13T00:30:00Z' })).runs).toEqual([
        { scope: day, generation: 1, action: 'finish', planned: 5, enqueued: 3, pumpDays: 5 },
      ]);
      expect(next.queued.map((m) => m.id).sort()).toEqual(records.slice(2).map((r) => r.task.id).sort());
    });

    it('finishes the planning of a planner that crashed after starting the run', async () => {
      const day = '2014-03-14';
      await seed(day);
      expect(await runs.startRun(day, 1, 0, new Date('2014-03-15T00:00:00Z'))).toBe(true);
      const p = planner();
      expect((await p.plan({ date: day })).runs).toEqual([{ scope: day, generation: 1, action: 'finish', planned: 5, enqueued: 5, pumpDays: 5 }]);
      expect(await runs.readProgress(day)).toMatchObject({ generation: 1, planned: 5, done: 0, complete: false });
      expect((await runs.getRun(day))?.state).toBe('planned');
    });

    /** A run store whose first getRun answers as before any run: another planner started one meanwhile. */
    const staleOnce = (): RollupRunStore => {
      let stale = true;
      return {
        ...runs,
        getRun: async (scope) => {
          if (stale) {
            stale = false;
            return undefined;
          }
          return runs.getRun(scope);
        },
      };
    };

    it('finishes the generation another planner started meanwhile (still planning) instead of starting another', async () => {
      const day = '2014-03-16';
      await seed(day);
      expect(await runs.startRun(day, 1, 0, new Date('2014-03-17T00:00:00Z'))).toBe(true);
      const p = planner({ dynamo: undefined, catalog: createCatalogStore(db.client, db.cfg), runs: staleOnce() });
      expect((await p.plan({ date: day })).runs).toEqual([{ scope: day, generation: 1, action: 'finish', planned: 5, enqueued: 5, pumpDays: 5 }]);
      expect((await runs.getRun(day))?.state).toBe('planned');
    });

    it('does not plan again a generation another planner started and planned meanwhile', async () => {
      const day = '2014-03-18';
      await seed(day);
      await planner().plan({ date: day });
      await seed(day, ['FOXTROT']);
      const p = planner({ runs: staleOnce() });
      expect((await p.plan({ date: day })).runs).toEqual([{ scope: day, generation: 1, action: 'finish', planned: 5, enqueued: 5, pumpDays: 5 }]);
      expect(await runs.listTasks(day, 1)).toHaveLength(5);
    });

    it('starts a new pending generation on every pending event, even while the last one is unfinished', async () => {
      const day = '2014-03-20';
      expect((await createCatalogStore(db.client, db.cfg).markTouched(PUMPS.map((pump) => ({ pump, day })), '2014-03-25')).pending).toBe(5);
      const p = planner();
      expect((await p.plan({ pending: true })).runs).toEqual([{ scope: 'pending', generation: 1, action: 'start', planned: 5, enqueued: 5, pumpDays: 5 }]);
      expect((await p.plan({ mode: 'pending' })).runs).toEqual([{ scope: 'pending', generation: 2, action: 'start', planned: 5, enqueued: 5, pumpDays: 5 }]);
    });
  });

  describe('Lambda entry point', () => {
    it('builds the planner from the environment on first use and reuses it while warm', async () => {
      await seed('2014-05-01');
      const sqs = await fakeSqs(false);
      const keys = ['WELLWATCH_DYNAMODB_ENDPOINT', 'WELLWATCH_SQS_ENDPOINT', QUEUE_ENV];
      const saved = keys.map((k) => process.env[k]);
      try {
        process.env.WELLWATCH_DYNAMODB_ENDPOINT = db.endpoint;
        process.env.WELLWATCH_SQS_ENDPOINT = sqs.url;
        process.env[QUEUE_ENV] = `${sqs.url}/123456789012/wellwatch-rollup-work`;
        const first = await handler({ date: '2014-05-01' });
        expect(first.runs).toEqual([{ scope: '2014-05-01', generation: 1, action: 'start', planned: 4, enqueued: 4, pumpDays: 5 }]);
        expect(sqs.bodies).toHaveLength(4);
        // Warm: the environment is not read again.
        delete process.env[QUEUE_ENV];
        expect((await handler({ date: '2014-05-01' })).runs).toEqual([{ scope: '2014-05-01', generation: 1, action: 'finish', planned: 4, enqueued: 4, pumpDays: 5 }]);
        expect(sqs.bodies).toHaveLength(8);
      } finally {
        keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
        await sqs.close();
      }
    });
  });
});
