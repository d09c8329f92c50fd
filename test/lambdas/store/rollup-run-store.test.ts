/**
 * The rollup's run records against dynalite (lambdas/store/rollup-run-store.ts): run headers whose next generation
 * starts only from the latest one, task records written once and completed once, progress from their summaries,
 * strongly consistent reads, and malformed records refused by name.
 */
import { GetItemCommand, PutItemCommand, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { KEYS } from '../../../lambdas/config';
import { dayTasks, encodeTask, NO_OUTCOME, pendingTasks, RollupTaskError, type TaskOutcome } from '../../../lambdas/core/rollup-tasks';
import { createRollupRunStore, runPartition, taskSortKey, type RollupRunStore } from '../../../lambdas/store/rollup-run-store';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { intercept } from '../../helpers/intercept';

const PK = KEYS.partitionKey;
const SK = KEYS.sortKey;
const outcome = (pumpDays: number): TaskOutcome => ({ pumpDays, readings: 10 * pumpDays, statsWritten: pumpDays, pendingCleared: 0, superseded: 1 });
const T0 = new Date('2014-03-11T01:00:00.000Z');
const T1 = new Date('2014-03-11T02:00:00.000Z');

describe('rollup run store', () => {
  let db: DynaliteHandle;
  let runs: RollupRunStore;
  let restore: (() => void) | undefined;

  beforeAll(async () => {
    db = await startDynalite();
    runs = createRollupRunStore(db.client, db.cfg);
  });
  afterEach(() => {
    restore?.();
    restore = undefined;
  });
  afterAll(async () => {
    await db?.close();
  });

  /** Writes a raw item into the catalog table (a record as some other writer left it). */
  const putRaw = async (item: Record<string, AttributeValue>) => {
    await db.client.send(new PutItemCommand({ TableName: db.cfg.catalogTable, Item: item }));
  };

  it('keys a task record by its generation, padded to 6 digits, and its id, in the partition of its scope', () => {
    expect(taskSortKey(2, 'b03-00001')).toBe('T#000002#b03-00001');
    expect(taskSortKey(123456, '')).toBe('T#123456#');
    expect(runPartition('2014-03-10')).toBe('ROLLUP#2014-03-10');
  });

  it('starts generation 1 once, a next generation only from the latest one, and marks only the latest planned', async () => {
    const scope = '2014-03-10';
    expect(await runs.getRun(scope)).toBeUndefined();
    expect(await runs.startRun(scope, 1, 0, T0)).toBe(true);
    // A second planner that also saw no run loses.
    expect(await runs.startRun(scope, 1, 0, T1)).toBe(false);
    expect(await runs.getRun(scope)).toEqual({ scope, generation: 1, state: 'planning', planned: 0, startedAt: T0.toISOString() });

    expect(await runs.startRun(scope, 2, 1, T1)).toBe(true);
    expect(await runs.getRun(scope)).toEqual({ scope, generation: 2, state: 'planning', planned: 0, startedAt: T1.toISOString() });
    // A planner that read generation 1 (stale now) neither starts generation 3 nor marks generation 1 planned.
    expect(await runs.startRun(scope, 3, 1, T1)).toBe(false);
    expect(await runs.markPlanned(scope, 1, 7)).toBe(false);
    expect(await runs.markPlanned(scope, 2, 4)).toBe(true);
    expect(await runs.getRun(scope)).toEqual({ scope, generation: 2, state: 'planned', planned: 4, startedAt: T1.toISOString() });
  });

  it('writes only the task records that do not exist yet, completes each once, and never resets a done one', async () => {
    const scope = '2014-03-12';
    const tasks = dayTasks(scope, 0, 1, ['A', 'B', 'C', 'D', 'E'], 2);
    expect(tasks.map((t) => t.size)).toEqual([2, 2, 1]);
    expect(await runs.startRun(scope, 1, 0, T0)).toBe(true);
    expect(await runs.putTasks(tasks.slice(0, 2))).toBe(2);
    expect(await runs.putTasks(tasks)).toBe(1);
    expect(await runs.markPlanned(scope, 1, tasks.length)).toBe(true);

    expect(await runs.isDone(tasks[0]!)).toBe(false);
    expect(await runs.completeTask(tasks[0]!, outcome(2))).toBe(true);
    // A redelivered item: recognised, its first outcome kept.
    expect(await runs.completeTask(tasks[0]!, outcome(9))).toBe(false);
    expect(await runs.isDone(tasks[0]!)).toBe(true);
    expect(await runs.isDone(tasks[1]!)).toBe(false);
    // A re-plan writes nothing and keeps the done record done.
    expect(await runs.putTasks(tasks)).toBe(0);
    expect(await runs.listTasks(scope, 1)).toEqual([{ task: tasks[0], outcome: outcome(2) }, { task: tasks[1] }, { task: tasks[2] }]);
    expect(await runs.listTasks(scope, 2)).toEqual([]);

    expect(await runs.readProgress(scope)).toEqual({
      scope,
      generation: 1,
      planned: 3,
      done: 1,
      complete: false,
      totals: outcome(2),
      plannedPumpDays: 5,
      days: [scope],
    });
    // Two workers finishing the same item at once: exactly one wins.
    const other = createRollupRunStore(db.client, db.cfg);
    const wins = await Promise.all([runs.completeTask(tasks[1]!, outcome(2)), other.completeTask(tasks[1]!, outcome(2))]);
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await runs.completeTask(tasks[2]!, outcome(1))).toBe(true);
    expect(await runs.readProgress(scope)).toMatchObject({ done: 3, complete: true, totals: { pumpDays: 5, readings: 50, superseded: 3 } });
  });

  it('completes a work item whose record is gone, and reads the days of a pending run from its markers', async () => {
    const scope = 'pending';
    const markers = [
      { pump: 'A', day: '2014-03-09', touchedAt: '2014-03-11T00:00:00.000Z' },
      { pump: 'B', day: '2014-03-08', touchedAt: '2014-03-11T00:00:00.000Z' },
    ];
    const [task] = pendingTasks(scope, 4, 1, markers, 200);
    expect(await runs.startRun(scope, 1, 0, T0)).toBe(true);
    expect(await runs.completeTask(task!, outcome(2))).toBe(true);
    expect(await runs.listTasks(scope, 1)).toEqual([{ task, outcome: outcome(2) }]);
    expect(await runs.readProgress(scope)).toMatchObject({ planned: 1, done: 1, plannedPumpDays: 2, days: ['2014-03-08', '2014-03-09'], complete: false });
  });

  it('reads headers, task lists, progress and done marks strongly consistently', async () => {
    const scope = '2014-03-13';
    const [task] = dayTasks(scope, 0, 1, ['A'], 1);
    await runs.startRun(scope, 1, 0, T0);
    await runs.putTasks([task!]);
    const reads: { name: string; consistent: unknown }[] = [];
    restore = intercept(db.client, (command, next) => {
      if (command instanceof GetItemCommand || command instanceof QueryCommand) reads.push({ name: command.constructor.name, consistent: command.input.ConsistentRead });
      return next(command);
    });
    const readsOf = async (call: () => Promise<unknown>) => {
      reads.length = 0;
      await call();
      return reads.slice();
    };
    expect(await readsOf(() => runs.getRun(scope))).toEqual([{ name: 'GetItemCommand', consistent: true }]);
    expect(await readsOf(() => runs.listTasks(scope, 1))).toEqual([{ name: 'QueryCommand', consistent: true }]);
    expect(await readsOf(() => runs.readProgress(scope))).toEqual([
      { name: 'GetItemCommand', consistent: true },
      { name: 'QueryCommand', consistent: true },
    ]);
    expect(await readsOf(() => runs.isDone(task!))).toEqual([{ name: 'GetItemCommand', consistent: true }]);
  });

  it('passes on every write error other than a lost condition, and recognises a lost condition by its error name alone', async () => {
    const scope = '2014-03-14';
    const [task] = dayTasks(scope, 0, 1, ['A'], 1);
    let thrown: unknown = Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    restore = intercept(db.client, async (command, next) => {
      if (command instanceof GetItemCommand || command instanceof QueryCommand) return next(command);
      throw thrown;
    });
    await expect(runs.startRun(scope, 1, 0, T0)).rejects.toThrow('throttled');
    await expect(runs.putTasks([task!])).rejects.toThrow('throttled');
    await expect(runs.markPlanned(scope, 1, 1)).rejects.toThrow('throttled');
    await expect(runs.completeTask(task!, outcome(1))).rejects.toThrow('throttled');

    // The same exception from another copy of the SDK is not an instance of ours: its name says what it is.
    thrown = Object.assign(new Error('lost'), { name: 'ConditionalCheckFailedException' });
    expect(await runs.startRun(scope, 1, 0, T0)).toBe(false);
    expect(await runs.putTasks([task!])).toBe(0);
    expect(await runs.markPlanned(scope, 1, 1)).toBe(false);
    expect(await runs.completeTask(task!, outcome(1))).toBe(false);

    thrown = null;
    await expect(runs.startRun(scope, 1, 0, T0)).rejects.toBeNull();
  });

  it('refuses a run header whose state is missing or unknown, naming the scope', async () => {
    await putRaw({ [PK]: { S: runPartition('2014-03-15') }, [SK]: { S: 'RUN' }, generation: { N: '1' } });
    await expect(runs.getRun('2014-03-15')).rejects.toThrow('malformed rollup run record of 2014-03-15: state undefined');
    await putRaw({ [PK]: { S: runPartition('2014-03-16') }, [SK]: { S: 'RUN' }, generation: { N: '1' }, state: { S: 'done' } });
    await expect(runs.getRun('2014-03-16')).rejects.toThrow('malformed rollup run record of 2014-03-16: state "done"');
  });

  it('reads a header with only its state with no planned tasks, no start time and no generation (NaN)', async () => {
    await putRaw({ [PK]: { S: runPartition('2014-03-17') }, [SK]: { S: 'RUN' }, state: { S: 'planning' } });
    expect(await runs.getRun('2014-03-17')).toEqual({ scope: '2014-03-17', generation: NaN, state: 'planning', planned: 0, startedAt: '' });
  });

  it('refuses a task record whose outcome has a field that is not a number, or that has no task body', async () => {
    const scope = '2014-03-18';
    const [task] = dayTasks(scope, 0, 1, ['A'], 1);
    await runs.startRun(scope, 1, 0, T0);
    await putRaw({
      [PK]: { S: runPartition(scope) },
      [SK]: { S: taskSortKey(1, task!.id) },
      t: { S: encodeTask(task!) },
      o: { S: JSON.stringify({ ...outcome(1), readings: '10' }) },
    });
    await expect(runs.listTasks(scope, 1)).rejects.toThrow('malformed rollup task outcome: readings must be a number');
    await expect(runs.readProgress(scope)).rejects.toThrow('malformed rollup task outcome: readings must be a number');

    await putRaw({ [PK]: { S: runPartition(scope) }, [SK]: { S: taskSortKey(2, task!.id) } });
    const error = await runs.listTasks(scope, 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RollupTaskError);
    expect((error as Error).message).toBe('rollup work item is not JSON: ""');
  });

  it('counts a task record without summaries as no pump-days and no days, and a day that is not a string as ""', async () => {
    const scope = 'pending-raw';
    await runs.startRun(scope, 1, 0, T0);
    await putRaw({ [PK]: { S: runPartition(scope) }, [SK]: { S: taskSortKey(1, 'b00-00000') } });
    await putRaw({ [PK]: { S: runPartition(scope) }, [SK]: { S: taskSortKey(1, 'b00-00001') }, n: { N: '3' }, d: { L: [{ N: '1' }, { S: '2014-03-01' }] } });
    expect(await runs.readProgress(scope)).toEqual({
      scope,
      generation: 1,
      planned: 2,
      done: 0,
      complete: false,
      totals: NO_OUTCOME,
      plannedPumpDays: 3,
      days: ['', '2014-03-01'],
    });
  });
});
