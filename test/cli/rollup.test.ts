/**
 * `wellwatch rollup`: flags, progress totals, and a local-mode run through the fan-out against a real dynalite that
 * a discovery file presents as a running local mode.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { plannerFunctionName, rollupCommand, rollupEventFromFlags, summarizeProgress } from '../../cli/rollup';
import { bufferedIO } from '../../cli/io';
import { DEFAULT_ALERT_RULES, loadConfig, ROLLUP_FANOUT } from '../../lambdas/config';
import { compileRules } from '../../lambdas/core/rules';
import type { RunProgress } from '../../lambdas/core/rollup-tasks';
import { createCatalogStore, forgetWrittenMarkers } from '../../lambdas/store/catalog-store';
import { createReadingStore } from '../../lambdas/store/reading-store';
import { writeLocalInfo } from '../../local/discovery';
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

describe('rollup --local', () => {
  let db: DynaliteHandle;
  let dir: string;
  const evaluate = compileRules(DEFAULT_ALERT_RULES);

  beforeAll(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-rollup-cli-'));
    // This process presents the dynalite as a running local mode.
    writeLocalInfo(dir, { pid: process.pid, kinesisEndpoint: 'http://127.0.0.1:1', dynamodbEndpoint: db.endpoint, apiUrl: 'http://127.0.0.1:1', deadLetterUrl: `file://${dir}/dead-letters.jsonl`, dataDir: dir, startedAt: new Date().toISOString() });
    const pumps = Array.from({ length: 300 }, (_, i) => `P${String(i).padStart(3, '0')}`);
    const readings = pumps.flatMap((pump, i) =>
      [10, 20].map((minute) => {
        const values = { hz: 5, disp: 2, flo: 100 + i, sedPPM: 1, psi: 50 + (minute === 10 ? 1 : 3), chlPPM: 1 };
        const time = `01:${minute}:00`;
        return { pump, day: '2014-03-10', time, ts: `2014-03-10T${time}Z`, values, alerts: evaluate(values) };
      }),
    );
    expect((await createReadingStore(db.client, db.cfg).put(readings)).failed).toEqual([]);
    expect((await createCatalogStore(db.client, db.cfg).markTouched(pumps.map((pump) => ({ pump, day: '2014-03-10' })), '2014-03-10')).failed).toEqual([]);
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
