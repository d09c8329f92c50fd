/**
 * The rollup: a Lambda function turning a day of readings into per-pump daily statistics, run on a schedule.
 */
import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV, loadConfig, SCHEDULE } from '../lambdas/config';
import { ROLLUP_DEFAULTS } from './defaults';
import { acknowledgeTableIndexGrant } from './nag';
import { checkIntRange } from './validate';
import { WellwatchFunction, type WellwatchFunctionSettings } from './wellwatch-function';

/**
 * Inputs of the two scheduled runs; the rollup handler reads `mode`. The daily target also passes the scheduled
 * event's `time` (see {@link RollupSchedule}), so the run rolls up the day before the schedule fired, not the day
 * before it happened to run.
 */
export const ROLLUP_INPUTS = {
  daily: { mode: 'daily' },
  pending: { mode: 'pending' },
} as const;

/** Properties of {@link RollupSchedule}. */
export interface RollupScheduleProps extends WellwatchFunctionSettings {
  /** Readings table; the rollup gets read access. */
  readonly readingsTable: dynamodb.ITable;
  /** Stats table; the rollup gets write access. */
  readonly statsTable: dynamodb.ITable;
  /** Catalog table; the rollup gets read and write access (it deletes the pending markers it handled). */
  readonly catalogTable: dynamodb.ITable;
  /**
   * Days to keep stats rows (TTL), 0–36500; 0 keeps them forever.
   *
   * @default 0
   */
  readonly retentionDays?: number;
  /**
   * Maximum run time of one rollup, 1–900 seconds.
   *
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
}

/**
 * Rollup function with two EventBridge schedules (UTC, from `SCHEDULE` in `lambdas/config.ts`).
 *
 * - daily (`SCHEDULE.daily`, 00:15): rolls up the UTC day before the event's time, input
 *   `{"mode":"daily","time":<the scheduled event's time>}` — a run delayed or retried past midnight (Lambda retries
 *   a failed asynchronous invocation with the same event) still rolls up the day it was scheduled for;
 * - pending (`SCHEDULE.pending`, every hour at :30): re-rolls pump-days that received late data, input
 *   `{"mode":"pending"}`.
 *
 * Both runs are idempotent (a pump-day's stats row is overwritten), so EventBridge's at-least-once delivery and
 * Lambda's async retries are harmless. Permissions: read on readings, read/write on the catalog, write on stats.
 *
 * @example
 * const rollup = new RollupSchedule(this, 'Rollup', { ...storage, retentionDays: 365 });
 */
export class RollupSchedule extends Construct {
  /** The rollup function. */
  public readonly fn: lambda.IFunction;
  /** Function, role and log group. */
  public readonly function: WellwatchFunction;
  /** Daily rule (previous UTC day). */
  public readonly dailyRule: events.Rule;
  /** Hourly rule (pump-days touched late). */
  public readonly pendingRule: events.Rule;

  constructor(scope: Construct, id: string, props: RollupScheduleProps) {
    super(scope, id);
    checkIntRange('retentionDays', props.retentionDays, 0, 36_500);
    const environment: Record<string, string> = {
      [ENV.readingsTable]: props.readingsTable.tableName,
      [ENV.statsTable]: props.statsTable.tableName,
      [ENV.catalogTable]: props.catalogTable.tableName,
      [ENV.retentionDays]: String(props.retentionDays ?? 0),
    };
    loadConfig({}, environment);

    this.function = new WellwatchFunction(this, 'Rollup', {
      name: 'rollup',
      entry: 'lambdas/rollup/handler.ts',
      description: 'wellwatch: daily per-pump statistics from readings',
      environment,
      memorySize: props.memorySize,
      timeout: props.timeout ?? ROLLUP_DEFAULTS.timeout,
      deployment: props.deployment,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
      network: props.network,
      removalPolicy: props.removalPolicy,
    });
    this.fn = this.function.fn;

    props.readingsTable.grantReadData(this.fn);
    props.catalogTable.grantReadWriteData(this.fn);
    props.statsTable.grantWriteData(this.fn);
    const role = this.function.role;
    acknowledgeTableIndexGrant(role, props.readingsTable, 'grantReadData adds them; reading its own indexes is harmless');
    acknowledgeTableIndexGrant(role, props.statsTable, 'grantWriteData adds them; writes never target an index');

    this.dailyRule = new events.Rule(this, 'Daily', {
      description: 'wellwatch: roll up the previous UTC day',
      schedule: events.Schedule.cron({ minute: SCHEDULE.daily.minute, hour: SCHEDULE.daily.hour }),
      targets: [new targets.LambdaFunction(this.fn, { event: events.RuleTargetInput.fromObject({ ...ROLLUP_INPUTS.daily, time: events.EventField.time }) })],
    });
    this.pendingRule = new events.Rule(this, 'Pending', {
      description: 'wellwatch: re-roll pump-days that received late data',
      schedule: events.Schedule.cron({ minute: SCHEDULE.pending.minute, hour: SCHEDULE.pending.hour }),
      targets: [new targets.LambdaFunction(this.fn, { event: events.RuleTargetInput.fromObject(ROLLUP_INPUTS.pending) })],
    });
  }
}
