import { describeError } from '../../../lambdas/core/errors';
import {
  addOutcomes,
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

  it('names the bad chunk size in a RollupTaskError', () => {
    expect(() => chunk([1], 0)).toThrow('chunk size must be a positive integer, got 0');
    let caught: unknown;
    try {
      chunk([1], 1.5);
    } catch (e) {
      caught = e;
    }
    expect(describeError(caught)).toBe('RollupTaskError: chunk size must be a positive integer, got 1.5');
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

  it("summarizes a day item by its day, and a pending item's days once each, ascending whatever the markers' order", () => {
    const day = dayTasks('2014-03-10', 0, 1, ['A'], 200)[0]!;
    expect(summarizeTask({ task: day })).toStrictEqual({ id: 'b00-00000', size: 1, days: ['2014-03-10'] });
    const markers = [
      { pump: 'A', day: '2014-03-11', touchedAt: 't1' },
      { pump: 'B', day: '2014-03-09', touchedAt: 't2' },
      { pump: 'C', day: '2014-03-11', touchedAt: 't3' },
    ];
    expect(summarizeTask({ task: pendingTasks('pending', 0, 1, markers, 200)[0]! }).days).toEqual(['2014-03-09', '2014-03-11']);
  });

  it('gives a summary an outcome only once its task is done (no outcome key before)', () => {
    const task = dayTasks('2014-03-10', 0, 1, ['A', 'B'], 200)[0]!;
    const pending = summarizeTask({ task });
    expect(pending).toStrictEqual({ id: 'b00-00000', size: 2, days: ['2014-03-10'] });
    expect('outcome' in pending).toBe(false);
    expect(summarizeTask({ task, outcome: outcome(2) })).toStrictEqual({ id: 'b00-00000', size: 2, days: ['2014-03-10'], outcome: outcome(2) });
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

  const dayFields = JSON.parse(encodeTask(day)) as Record<string, unknown>;
  const pendingFields = JSON.parse(encodeTask(pending)) as Record<string, unknown>;
  it.each<[string, string, string]>([
    ['a JSON number', '42', 'rollup work item must be an object'],
    ['JSON null', 'null', 'rollup work item must be an object'],
    ['a JSON string', '"b00-00000"', 'rollup work item must be an object'],
    ['an empty id', JSON.stringify({ ...dayFields, id: '' }), 'rollup work item: id must be a non-empty string, got ""'],
    ['a numeric id', JSON.stringify({ ...dayFields, id: 5 }), 'rollup work item: id must be a non-empty string, got 5'],
    ['a missing scope', JSON.stringify({ ...dayFields, scope: undefined }), 'rollup work item: scope must be a non-empty string, got undefined'],
    ['an empty pump in a range', JSON.stringify({ ...dayFields, from: '' }), 'rollup work item: from must be a non-empty string, got ""'],
    ['a pending item without markers', JSON.stringify({ ...pendingFields, markers: undefined }), 'rollup work item: markers must be a list, got undefined'],
    ['a pending item whose markers are an object', JSON.stringify({ ...pendingFields, markers: { pump: 'A' } }), 'rollup work item: markers must be a list, got {"pump":"A"}'],
  ])('rejects %s with a RollupTaskError naming the problem', (_, body, message) => {
    let caught: unknown;
    try {
      decodeTask(body);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RollupTaskError);
    expect((caught as Error).message).toBe(message);
  });

  it('echoes at most the first 80 characters of a message that is not JSON', () => {
    const body = `{${'x'.repeat(200)}`;
    expect(() => decodeTask(body)).toThrow(`rollup work item is not JSON: ${JSON.stringify(body.slice(0, 80))}`);
    expect(() => decodeTask(body)).not.toThrow('x'.repeat(81));
  });

  it('round-trips a range of one pump (from equal to to)', () => {
    const one = dayTasks('2014-03-10', 0, 2, ['A', 'B', 'C'], 2)[1]!;
    expect(one).toMatchObject({ from: 'C', to: 'C' });
    expect(decodeTask(encodeTask(one))).toEqual(one);
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

  it('adds every field of the done tasks\' outcomes', () => {
    const a: TaskOutcome = { pumpDays: 2, readings: 500, statsWritten: 7, pendingCleared: 3, superseded: 1 };
    const b: TaskOutcome = { pumpDays: 1, readings: 200, statsWritten: 4, pendingCleared: 2, superseded: 5 };
    const expected: TaskOutcome = { pumpDays: 3, readings: 700, statsWritten: 11, pendingCleared: 5, superseded: 6 };
    expect(addOutcomes(a, b)).toEqual(expected);
    const p = runProgress(run('planned', 3), [
      summarizeTask({ task: tasks[0]!, outcome: a }),
      summarizeTask({ task: tasks[1]! }),
      summarizeTask({ task: tasks[2]!, outcome: b }),
    ]);
    expect(p.totals).toEqual(expected);
  });

  it("lists a pending run's days from its markers, ascending, without the scope", () => {
    const header: RunRecord = { scope: 'pending', generation: 1, state: 'planned', planned: 2, startedAt: '' };
    const items = [
      ...pendingTasks('pending', 3, 1, [{ pump: 'A', day: '2014-03-12', touchedAt: 't' }], 200),
      ...pendingTasks('pending', 1, 1, [{ pump: 'B', day: '2014-03-09', touchedAt: 't' }, { pump: 'B', day: '2014-03-12', touchedAt: 't' }], 200),
    ];
    expect(runProgress(header, items.map((task) => summarizeTask({ task }))).days).toEqual(['2014-03-09', '2014-03-12']);
  });

  it("counts a run still planning by the task records written so far, not the header's count", () => {
    const summaries = tasks.slice(0, 2).map((task) => summarizeTask({ task }));
    expect(runProgress(run('planning', 5), summaries)).toMatchObject({ planned: 2, complete: false });
    expect(runProgress(run('planned', 5), summaries)).toMatchObject({ planned: 5, complete: false });
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
