import {
  chunk,
  dayTasks,
  decodeTask,
  encodeTask,
  nextRunAction,
  pendingTasks,
  remainingTasks,
  runProgress,
  summarizeTask,
  taskId,
  RollupTaskError,
  type RunRecord,
  type TaskOutcome,
} from '../../../lambdas/core/rollup-tasks';

const outcome = (pumpDays: number): TaskOutcome => ({ pumpDays, readings: pumpDays * 3, statsWritten: pumpDays, pendingCleared: 0, superseded: 0 });

describe('chunking', () => {
  it.each<[number, number, number[]]>([
    [0, 200, []],
    [1, 200, [1]],
    [200, 200, [200]],
    [201, 200, [200, 1]],
    [625, 200, [200, 200, 200, 25]],
    [5, 1, [1, 1, 1, 1, 1]],
  ])('cuts %i items into chunks of at most %i: %j', (n, size, sizes) => {
    const items = Array.from({ length: n }, (_, i) => i);
    const chunks = chunk(items, size);
    expect(chunks.map((c) => c.length)).toEqual(sizes);
    expect(chunks.flat()).toEqual(items);
  });

  it.each([0, -1, 1.5, NaN])('rejects chunk size %p', (size) => {
    expect(() => chunk([1], size)).toThrow(RollupTaskError);
  });

  it('cuts a bucket of pumps into id ranges with deterministic, sortable ids', () => {
    const pumps = ['A', 'B', 'C', 'D', 'E'];
    expect(dayTasks('2014-03-10', 3, 1, pumps, 2)).toEqual([
      { kind: 'day', scope: '2014-03-10', generation: 1, id: 'b03-00000', day: '2014-03-10', bucket: 3, from: 'A', to: 'B', size: 2 },
      { kind: 'day', scope: '2014-03-10', generation: 1, id: 'b03-00001', day: '2014-03-10', bucket: 3, from: 'C', to: 'D', size: 2 },
      { kind: 'day', scope: '2014-03-10', generation: 1, id: 'b03-00002', day: '2014-03-10', bucket: 3, from: 'E', to: 'E', size: 1 },
    ]);
    expect(dayTasks('2014-03-10', 3, 1, pumps, 2)).toEqual(dayTasks('2014-03-10', 3, 1, pumps, 2));
    expect(taskId(31, 12345)).toBe('b31-12345');
    expect(taskId(2, 10) < taskId(10, 0)).toBe(true);
  });

  it('cuts pending markers into items that carry them, and summarizes their days', () => {
    const markers = [
      { pump: 'A', day: '2014-03-09', touchedAt: 't1' },
      { pump: 'B', day: '2014-03-10', touchedAt: 't2' },
      { pump: 'A', day: '2014-03-10', touchedAt: 't3' },
    ];
    const tasks = pendingTasks('pending', 7, 4, markers, 2);
    expect(tasks.map((t) => [t.id, t.markers.length])).toEqual([
      ['b07-00000', 2],
      ['b07-00001', 1],
    ]);
    expect(summarizeTask({ task: tasks[0]! })).toEqual({ id: 'b07-00000', size: 2, days: ['2014-03-09', '2014-03-10'] });
  });
});

describe('work item messages', () => {
  const day = dayTasks('2014-03-10', 0, 2, ['A', 'B'], 200)[0]!;
  const pending = pendingTasks('pending', 1, 3, [{ pump: 'A', day: '2014-03-09', touchedAt: 't' }], 200)[0]!;

  it('round-trip', () => {
    expect(decodeTask(encodeTask(day))).toEqual(day);
    expect(decodeTask(encodeTask(pending))).toEqual(pending);
  });

  it.each<[string, string, RegExp]>([
    ['not JSON', '{', /not JSON/],
    ['another version', JSON.stringify({ ...JSON.parse(encodeTask(day)), v: 2 }), /v must be 1/],
    ['an unknown kind', JSON.stringify({ ...JSON.parse(encodeTask(day)), kind: 'week' }), /kind must be 'day' or 'pending'/],
    ['a bad day', JSON.stringify({ ...JSON.parse(encodeTask(day)), day: '3/10/14' }), /day must be YYYY-MM-DD/],
    ['a reversed range', JSON.stringify({ ...JSON.parse(encodeTask(day)), from: 'Z', to: 'A' }), /from must be at most to/],
    ['generation 0', JSON.stringify({ ...JSON.parse(encodeTask(day)), generation: 0 }), /generation must be an integer ≥ 1/],
    ['a marker without touchedAt', JSON.stringify({ ...JSON.parse(encodeTask(pending)), markers: [{ pump: 'A', day: '2014-03-09' }] }), /markers\[\] must be/],
  ])('rejects %s', (_, body, message) => {
    expect(() => decodeTask(body)).toThrow(message);
  });
});

describe('completion', () => {
  const run = (state: RunRecord['state'], planned: number, generation = 1): RunRecord => ({ scope: '2014-03-10', generation, state, planned, startedAt: '' });
  const tasks = dayTasks('2014-03-10', 0, 1, ['A', 'B', 'C', 'D', 'E'], 2);

  it.each<[string, RunRecord, number[], { planned: number; done: number; complete: boolean; pumpDays: number }]>([
    ['nothing done', run('planned', 3), [], { planned: 3, done: 0, complete: false, pumpDays: 0 }],
    ['some done', run('planned', 3), [0, 2], { planned: 3, done: 2, complete: false, pumpDays: 3 }],
    ['all done', run('planned', 3), [0, 1, 2], { planned: 3, done: 3, complete: true, pumpDays: 5 }],
    ['all records done but still planning', run('planning', 0), [0, 1, 2], { planned: 3, done: 3, complete: false, pumpDays: 5 }],
  ])('%s', (_, header, doneIdx, expected) => {
    const records = tasks.map((task, i) => (doneIdx.includes(i) ? { task, outcome: outcome(task.size) } : { task }));
    const p = runProgress(header, records.map(summarizeTask));
    expect({ planned: p.planned, done: p.done, complete: p.complete, pumpDays: p.totals.pumpDays }).toEqual(expected);
    expect(p.plannedPumpDays).toBe(5);
    expect(p.days).toEqual(['2014-03-10']);
    expect(remainingTasks(records).map((t) => t.id)).toEqual(tasks.filter((_, i) => !doneIdx.includes(i)).map((t) => t.id));
  });

  it('counts a planned day without pumps as complete', () => {
    expect(runProgress(run('planned', 0), [])).toMatchObject({ planned: 0, done: 0, complete: true, plannedPumpDays: 0, days: ['2014-03-10'] });
    expect(runProgress(run('planning', 0), [])).toMatchObject({ complete: false });
  });

  it.each<[string, boolean | undefined, boolean, ReturnType<typeof nextRunAction>]>([
    ['no run yet', undefined, false, { action: 'start', generation: 1 }],
    ['an unfinished run, daily', false, false, { action: 'finish', generation: 4 }],
    ['an unfinished run, explicit date', false, true, { action: 'finish', generation: 4 }],
    ['a complete run, daily', true, false, { action: 'skip', generation: 4 }],
    ['a complete run, explicit date', true, true, { action: 'start', generation: 5 }],
  ])('decides on %s', (_, complete, recompute, expected) => {
    const progress = complete === undefined ? undefined : runProgress(run('planned', complete ? 0 : 1, 4), []);
    expect(nextRunAction(progress, recompute)).toEqual(expected);
  });
});
