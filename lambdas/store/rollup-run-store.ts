/**
 * The rollup's run records, in the catalog table: what a fan-out run planned and which work items are done.
 *
 * - `{pk: 'ROLLUP#<scope>', sk: 'RUN', generation, state, planned, startedAt}` — the run header of a day or of
 *   `pending`; a new generation replaces it on condition that the generation read is still the latest;
 * - `{pk: 'ROLLUP#<scope>', sk: 'T#<generation>#<task id>', t: <task JSON>, n, d, [o: <outcome JSON>]}` — one per work
 *   item; written by the planner only if absent (a re-plan never resets a done item), and marked done by a worker
 *   with a conditional update that succeeds once (`o` absent), so a redelivered item is recognised. `n` (pump-days)
 *   and `d` (days) let progress be read without the task bodies (a pending item carries up to 200 markers).
 *
 * One partition per run: at 1,000,000 pumps a day has ~5,000 items, written once by the planner and once by the
 * workers, whose pace ROLLUP_FANOUT.maxConcurrency bounds (tens of writes per second, far below 1,000 WCU/s).
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KEYS, ROLLUP_FANOUT, type WellwatchConfig } from '../config';
import { WellwatchError } from '../core/errors';
import { decodeTask, encodeTask, runProgress, summarizeTask, type RollupTask, type RunProgress, type RunRecord, type TaskOutcome, type TaskRecord, type TaskSummary } from '../core/rollup-tasks';
import { queryAll } from './paginate';
import { runPool } from './retry';

const PK = KEYS.partitionKey;
const SK = KEYS.sortKey;
const RUN_SK = 'RUN';

/** Reads and writes the rollup's run records. */
export interface RollupRunStore {
  readonly table: string;
  /** The run header of a scope (strongly consistent); undefined before its first run. */
  getRun(scope: string): Promise<RunRecord | undefined>;
  /**
   * Starts `generation` of a scope (state `planning`) if the latest generation is still `previous` (0: none).
   * `false` when another planner got there first.
   */
  startRun(scope: string, generation: number, previous: number, now: Date): Promise<boolean>;
  /** Writes the task records that do not exist yet (a done record is never reset); returns how many were new. */
  putTasks(tasks: readonly RollupTask[]): Promise<number>;
  /** Marks the generation planned with its task count (only while it is the latest). */
  markPlanned(scope: string, generation: number, planned: number): Promise<boolean>;
  /** The task records of a generation, in id order (strongly consistent). */
  listTasks(scope: string, generation: number): Promise<TaskRecord[]>;
  /** A scope's latest run and its progress, reading only the task records' summaries; undefined before any run. */
  readProgress(scope: string): Promise<RunProgress | undefined>;
  /** Whether a work item is done already (strongly consistent). */
  isDone(task: RollupTask): Promise<boolean>;
  /** Records a work item's outcome; `false` when it was done already (a redelivered or duplicate item). */
  completeTask(task: RollupTask, outcome: TaskOutcome): Promise<boolean>;
}

/**
 * Sort key of a task record: `T#<generation, 6 digits>#<id>`, so one Query lists a generation in id order.
 *
 * @example
 * taskSortKey(2, 'b03-00001'); // → 'T#000002#b03-00001'
 */
export function taskSortKey(generation: number, id: string): string {
  return `T#${String(generation).padStart(6, '0')}#${id}`;
}

/**
 * Partition of a scope's run records.
 *
 * @example
 * runPartition('2014-03-10'); // → 'ROLLUP#2014-03-10'
 */
export function runPartition(scope: string): string {
  return ROLLUP_FANOUT.runPrefix + scope;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';
}

/** The attributes `n` and `d` of a task record. */
function summaryAttributes(summary: TaskSummary) {
  return { n: { N: String(summary.size) }, d: { L: summary.days.map((day) => ({ S: day })) } };
}

/** Attribute values named `:<name>` for an update expression. */
function prefixed<T>(attributes: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [`:${k}`, v]));
}

function decodeOutcome(raw: string): TaskOutcome {
  const o = JSON.parse(raw) as Record<string, unknown>;
  const n = (k: string): number => {
    if (typeof o[k] !== 'number') throw new WellwatchError(`malformed rollup task outcome: ${k} must be a number`);
    return o[k] as number;
  };
  return { pumpDays: n('pumpDays'), readings: n('readings'), statsWritten: n('statsWritten'), pendingCleared: n('pendingCleared'), superseded: n('superseded') };
}

/**
 * Creates the run store on `cfg.catalogTable`.
 *
 * @example
 * const runs = createRollupRunStore(dynamoClient(cfg), cfg);
 * const run = await runs.getRun('2014-03-10');
 */
export function createRollupRunStore(client: DynamoDBClient, cfg: WellwatchConfig): RollupRunStore {
  const table = cfg.catalogTable;
  const taskKey = (task: RollupTask) => ({ [PK]: { S: runPartition(task.scope) }, [SK]: { S: taskSortKey(task.generation, task.id) } });

  const store: RollupRunStore = {
    table,

    async getRun(scope) {
      const out = await client.send(new GetItemCommand({ TableName: table, Key: { [PK]: { S: runPartition(scope) }, [SK]: { S: RUN_SK } }, ConsistentRead: true }));
      const item = out.Item;
      if (item === undefined) return undefined;
      const state = item.state?.S;
      if (state !== 'planning' && state !== 'planned') throw new WellwatchError(`malformed rollup run record of ${scope}: state ${JSON.stringify(state)}`);
      return { scope, generation: Number(item.generation?.N), state, planned: Number(item.planned?.N ?? '0'), startedAt: item.startedAt?.S ?? '' };
    },

    async startRun(scope, generation, previous, now) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: {
              [PK]: { S: runPartition(scope) },
              [SK]: { S: RUN_SK },
              scope: { S: scope },
              generation: { N: String(generation) },
              state: { S: 'planning' },
              planned: { N: '0' },
              startedAt: { S: now.toISOString() },
            },
            ConditionExpression: previous === 0 ? 'attribute_not_exists(#pk)' : '#g = :prev',
            ExpressionAttributeNames: previous === 0 ? { '#pk': PK } : { '#g': 'generation' },
            ...(previous === 0 ? {} : { ExpressionAttributeValues: { ':prev': { N: String(previous) } } }),
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async putTasks(tasks) {
      let created = 0;
      await runPool(tasks, 8, async (task) => {
        try {
          await client.send(
            new PutItemCommand({
              TableName: table,
              Item: { ...taskKey(task), ...summaryAttributes(summarizeTask({ task })), t: { S: encodeTask(task) } },
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': PK },
            }),
          );
          created++;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      });
      return created;
    },

    async markPlanned(scope, generation, planned) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { [PK]: { S: runPartition(scope) }, [SK]: { S: RUN_SK } },
            UpdateExpression: 'SET #s = :planned, #n = :n',
            ConditionExpression: '#g = :g',
            ExpressionAttributeNames: { '#s': 'state', '#n': 'planned', '#g': 'generation' },
            ExpressionAttributeValues: { ':planned': { S: 'planned' }, ':n': { N: String(planned) }, ':g': { N: String(generation) } },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async listTasks(scope, generation) {
      const out: TaskRecord[] = [];
      const items = queryAll(client, {
        TableName: table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: { ':pk': { S: runPartition(scope) }, ':prefix': { S: taskSortKey(generation, '') } },
        ConsistentRead: true,
      });
      for await (const item of items) {
        const task = decodeTask(item.t?.S ?? '');
        out.push(item.o?.S !== undefined ? { task, outcome: decodeOutcome(item.o.S) } : { task });
      }
      return out;
    },

    async readProgress(scope) {
      const run = await store.getRun(scope);
      if (run === undefined) return undefined;
      const summaries: TaskSummary[] = [];
      const items = queryAll(client, {
        TableName: table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ProjectionExpression: '#sk, #n, #d, #o',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#n': 'n', '#d': 'd', '#o': 'o' },
        ExpressionAttributeValues: { ':pk': { S: runPartition(scope) }, ':prefix': { S: taskSortKey(run.generation, '') } },
        ConsistentRead: true,
      });
      for await (const item of items) {
        const id = (item[SK]?.S ?? '').slice(taskSortKey(run.generation, '').length);
        const base = { id, size: Number(item.n?.N ?? '0'), days: (item.d?.L ?? []).map((v) => v.S ?? '') };
        summaries.push(item.o?.S !== undefined ? { ...base, outcome: decodeOutcome(item.o.S) } : base);
      }
      return runProgress(run, summaries);
    },

    async isDone(task) {
      const out = await client.send(
        new GetItemCommand({ TableName: table, Key: taskKey(task), ConsistentRead: true, ProjectionExpression: '#o', ExpressionAttributeNames: { '#o': 'o' } }),
      );
      return out.Item?.o !== undefined;
    },

    async completeTask(task, outcome) {
      try {
        // Upserts the record: a message whose record is gone (a run store wiped, a test) still completes, and the
        // condition makes the first completion the only one.
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: taskKey(task),
            UpdateExpression: 'SET #o = :o, #t = if_not_exists(#t, :t), #n = if_not_exists(#n, :n), #d = if_not_exists(#d, :d)',
            ConditionExpression: 'attribute_not_exists(#o)',
            ExpressionAttributeNames: { '#o': 'o', '#t': 't', '#n': 'n', '#d': 'd' },
            ExpressionAttributeValues: { ':o': { S: JSON.stringify(outcome) }, ':t': { S: encodeTask(task) }, ...prefixed(summaryAttributes(summarizeTask({ task }))) },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
  };
  return store;
}
