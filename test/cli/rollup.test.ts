/**
 * `wellwatch rollup`: flags, progress totals, a local-mode run through the fan-out against a real dynalite that a
 * discovery file presents as a running local mode, and the AWS path: the planner invoked through the Lambda API (a
 * fake Lambda endpoint on loopback, reached through the SDK's own `AWS_ENDPOINT_URL_LAMBDA`) and the run records
 * followed in a real dynalite.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { plannerFunctionName, rollupCommand, rollupEventFromFlags, summarizeProgress } from '../../cli/rollup';
import { bufferedIO } from '../../cli/io';
import { DEFAULT_ALERT_RULES, loadConfig, ROLLUP_FANOUT } from '../../lambdas/config';
import { compileRules } from '../../lambdas/core/rules';
import type { RunProgress } from '../../lambdas/core/rollup-tasks';
import { createCatalogStore, forgetWrittenMarkers } from '../../lambdas/store/catalog-store';
import { createReadingStore } from '../../lambdas/store/reading-store';
import type { PlannerResult } from '../../lambdas/rollup/planner';
import { writeLocalInfo } from '../../local/discovery';
import { createLocalRollup, type LocalRollup } from '../../local/rollup-fanout';
import { startDynalite, type DynaliteHandle } from '../helpers/dynalite';

describe('rollup flags', () => {
  it.each<[Record<string, unknown>, Record<string, unknown>]>([
    [{ date: '2014-03-10' }, { date: '2014-03-10' }],
    [{ from: '2014-03-10', to: '2014-03-12' }, { from: '2014-03-10', to: '2014-03-12' }],
    [{ pending: true }, { pending: true }],
  ])('turns %j into the event %j', (flags, event) => {
    expect(rollupEventFromFlags(flags)).toEqual(event);
  });

  it.each<[Record<string, unknown>, RegExp]>([
    [{}, /exactly one of/],
    [{ date: '2014-03-10', pending: true }, /exactly one of/],
    [{ from: '2014-03-10' }, /--from and --to go together/],
  ])('refuses %j', (flags, message) => {
    expect(() => rollupEventFromFlags(flags)).toThrow(message);
  });

  it('names the deployed planner after the deployment', () => {
    expect(plannerFunctionName(loadConfig({}, {}))).toBe(ROLLUP_FANOUT.plannerFunction);
    expect(plannerFunctionName(loadConfig({ deployment: 'staging' }, {}))).toBe('wellwatch-staging-rollup-planner');
  });

  it('sums the progress of several runs and is complete only when all are', () => {
    const run = (scope: string, planned: number, done: number, complete: boolean): RunProgress => ({
      scope,
      generation: 1,
      planned,
      done,
      complete,
      totals: { pumpDays: done * 2, readings: done * 10, statsWritten: done * 2, pendingCleared: 0, superseded: 0 },
      plannedPumpDays: planned * 2,
      days: [scope],
    });
    expect(summarizeProgress([run('2014-03-11', 3, 3, true), run('2014-03-10', 2, 1, false)])).toEqual({
      days: ['2014-03-10', '2014-03-11'],
      tasks: { planned: 5, done: 4 },
      pumpDays: 8,
      readings: 40,
      statsWritten: 8,
      pendingCleared: 0,
      superseded: 0,
      complete: false,
    });
    expect(summarizeProgress([run('2014-03-11', 3, 3, true)]).complete).toBe(true);
  });
});

const evaluate = compileRules(DEFAULT_ALERT_RULES);

/** Two readings on 2014-03-10 for each of `count` pumps, with their catalog markers. */
async function seedDay(db: DynaliteHandle, count: number): Promise<void> {
  const pumps = Array.from({ length: count }, (_, i) => `P${String(i).padStart(3, '0')}`);
  const readings = pumps.flatMap((pump, i) =>
    [10, 20].map((minute) => {
      const values = { hz: 5, disp: 2, flo: 100 + i, sedPPM: 1, psi: 50 + (minute === 10 ? 1 : 3), chlPPM: 1 };
      const time = `01:${minute}:00`;
      return { pump, day: '2014-03-10', time, ts: `2014-03-10T${time}Z`, values, alerts: evaluate(values) };
    }),
  );
  expect((await createReadingStore(db.client, db.cfg).put(readings)).failed).toEqual([]);
  expect((await createCatalogStore(db.client, db.cfg).markTouched(pumps.map((pump) => ({ pump, day: '2014-03-10' })), '2014-03-10')).failed).toEqual([]);
}

describe('rollup --local', () => {
  let db: DynaliteHandle;
  let dir: string;

  beforeAll(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-rollup-cli-'));
    // This process presents the dynalite as a running local mode.
    writeLocalInfo(dir, { pid: process.pid, kinesisEndpoint: 'http://127.0.0.1:1', dynamodbEndpoint: db.endpoint, apiUrl: 'http://127.0.0.1:1', deadLetterUrl: `file://${dir}/dead-letters.jsonl`, dataDir: dir, startedAt: new Date().toISOString() });
    await seedDay(db, 300);
  });
  afterAll(async () => {
    await db?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rolls up a day through the planner, a local queue and the worker, and reports work items and totals', async () => {
    const io = bufferedIO();
    expect(await rollupCommand(['--date', '2014-03-10', '--local', '--data-dir', dir, '--format', 'json'], io)).toBe(0);
    const out = JSON.parse(io.outLines.join('\n'));
    // 300 pumps over 32 buckets: every bucket holds fewer than 200, so one work item per non-empty bucket.
    expect(out).toMatchObject({ days: ['2014-03-10'], pumpDays: 300, readings: 600, statsWritten: 300, complete: true });
    expect(out.tasks.planned).toBeGreaterThan(16);
    expect(out.tasks.done).toBe(out.tasks.planned);

    // Run again: the day is complete and an explicit date recomputes it as a new generation, same statistics.
    const again = bufferedIO();
    expect(await rollupCommand(['--date', '2014-03-10', '--local', '--data-dir', dir], again)).toBe(0);
    expect(again.outLines.join('\n')).toMatch(/^rolled up 1 day\(s\), 300 pump-day\(s\), 600 reading\(s\); 300 stats item\(s\) written, 0 pending marker\(s\) cleared; (\d+)\/\1 work item\(s\) done in \d+ ms/);
  });
});

/**
 * What the deployed planner function does, behind a fake Lambda Invoke endpoint: `run` plans through the real planner
 * and runs the real workers in this process (as AWS runs them after the planner returns); `stuck` plans but every
 * worker fails; `error` answers as Lambda does for a function that threw; `stale` returns a plan for a run that was
 * never written (a planner writing to other tables than the CLI reads).
 */
type PlannerBehaviour = 'run' | 'stuck' | 'error' | 'stale';

describe('rollup in AWS: the planner through the Lambda API, progress from the run records', () => {
  let db: DynaliteHandle;
  let server: http.Server;
  let behaviour: PlannerBehaviour = 'run';
  const invocations: { path: string; body: string }[] = [];
  const rollups: LocalRollup[] = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
    await seedDay(db, 40);
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        invocations.push({ path: `${req.method} ${req.url}`, body });
        const answer = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(payload));
        };
        if (behaviour === 'error') return answer(200, { errorType: 'WellwatchError', errorMessage: 'catalog unreachable' }, { 'x-amz-function-error': 'Unhandled' });
        if (behaviour === 'stale') {
          const stale: PlannerResult = { runs: [{ scope: '2014-03-09', generation: 1, action: 'start', planned: 3, enqueued: 3, pumpDays: 40 }] };
          return answer(200, stale);
        }
        const rollup = createLocalRollup(db.cfg, {
          dynamo: db.client,
          ...(behaviour === 'stuck' ? { wrapWorker: () => async () => Promise.reject(new Error('worker not deployed')) } : {}),
        });
        rollups.push(rollup);
        rollup.planner(JSON.parse(body)).then(
          (planned) => answer(200, planned),
          (e: Error) => answer(200, { errorMessage: e.message }, { 'x-amz-function-error': 'Unhandled' }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // The SDK's own service-specific endpoint variable, as a user would point the CLI at a Lambda endpoint.
    process.env.AWS_ENDPOINT_URL_LAMBDA = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    process.env.AWS_REGION = db.cfg.region;
    process.env.WELLWATCH_DYNAMODB_ENDPOINT = db.endpoint;
  });
  afterEach(async () => {
    for (const r of rollups.splice(0)) await r.stop();
    invocations.length = 0;
  });
  afterAll(async () => {
    process.env = saved;
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const tables = () => ['--catalog-table', db.cfg.catalogTable];

  it('invokes the deployed planner with the event and follows the run records until the day is complete', async () => {
    behaviour = 'run';
    const io = bufferedIO();
    expect(await rollupCommand(['--date', '2014-03-10', ...tables(), '--format', 'json'], io)).toBe(0);
    expect(invocations).toEqual([{ path: `POST /2015-03-31/functions/${ROLLUP_FANOUT.plannerFunction}/invocations`, body: '{"date":"2014-03-10"}' }]);
    const out = JSON.parse(io.outLines.join('\n'));
    expect(out).toMatchObject({ days: ['2014-03-10'], pumpDays: 40, readings: 80, statsWritten: 40, complete: true });
    expect(out.tasks.done).toBe(out.tasks.planned);

    // A day without data plans no work item and is complete at once.
    const empty = bufferedIO();
    expect(await rollupCommand(['--date', '2014-03-08', ...tables(), '--format', 'json'], empty)).toBe(0);
    expect(JSON.parse(empty.outLines.join('\n'))).toMatchObject({ days: ['2014-03-08'], tasks: { planned: 0, done: 0 }, pumpDays: 0, complete: true });
  });

  it("names the deployment's planner and reports its failure with Lambda's error payload", async () => {
    behaviour = 'error';
    await expect(rollupCommand(['--pending', '--deployment', 'staging', ...tables()], bufferedIO())).rejects.toThrow(
      /^rollup planner wellwatch-staging-rollup-planner failed: \{"errorType":"WellwatchError","errorMessage":"catalog unreachable"\}$/,
    );
    expect(invocations.map((i) => i.path)).toEqual(['POST /2015-03-31/functions/wellwatch-staging-rollup-planner/invocations']);
    expect(JSON.parse(invocations[0]!.body)).toEqual({ pending: true });
  });

  it('gives up following after --wait-minutes with exit 1 and says how many work items are left', async () => {
    behaviour = 'stuck';
    const io = bufferedIO();
    expect(await rollupCommand(['--from', '2014-03-10', '--to', '2014-03-10', ...tables(), '--wait-minutes', '0.01'], io)).toBe(1);
    expect(io.errLines.join('\n')).toMatch(/^rollup still running in AWS after 0\.01 min: [1-9]\d* work item\(s\) left/m);
  });

  it('refuses to report success when the catalog it reads has no record of the run the planner started', async () => {
    behaviour = 'stale';
    await expect(rollupCommand(['--date', '2014-03-09', ...tables()], bufferedIO())).rejects.toThrow(
      `the planner reported run 2014-03-09 (generation 1), but ${db.cfg.catalogTable} in ${db.cfg.region} has no record of it`,
    );
  });
});
