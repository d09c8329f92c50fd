/**
 * The rollup's planner: a Lambda function run on a schedule that cuts a day (or the pending markers) into work items
 * on the fan-out's work queue (see rollup-fanout.ts for the workers).
 */
import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, ROLLUP_FANOUT, deploymentNames, loadConfig, SCHEDULE } from '../lambdas/config';
import { ROLLUP_DEFAULTS } from './defaults';
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
  /** Catalog table; the planner reads the day and pending markers and reads/writes the run records. */
  readonly catalogTable: dynamodb.ITable;
  /** The fan-out's work queue (RollupFanout.queue); the planner may send to it. */
  readonly workQueue: sqs.IQueue;
  /**
   * Maximum run time of one planner call, 1–900 seconds. Planning lists every bucket of a day and writes a task
   * record per work item (~5,000 at 1,000,000 pumps).
   *
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
}

/**
 * Rollup planner function with two EventBridge schedules (UTC, from `SCHEDULE` in `lambdas/config.ts`).
 *
 * - daily (`SCHEDULE.daily`, 00:15): rolls up the UTC day before the event's time, input
 *   `{"mode":"daily","time":<the scheduled event's time>}` — a run delayed or retried past midnight (Lambda retries
 *   a failed asynchronous invocation with the same event) still rolls up the day it was scheduled for;
 * - pending (`SCHEDULE.pending`, every hour at :30): re-rolls pump-days that received late data, input
 *   `{"mode":"pending"}`.
 *
 * Both runs are idempotent: a repeated daily event finds its day's run complete (or finishes it), and a pending run
 * lists the markers that are left, so EventBridge's at-least-once delivery and Lambda's async retries are harmless.
 * Permissions: read/write on the catalog, send on the work queue; the workers hold the rest. Named
 * (`<service>-rollup-planner`) so `wellwatch rollup` can invoke it.
 *
 * @example
 * const rollup = new RollupSchedule(this, 'Rollup', { catalogTable, workQueue: fanout.queue });
 */
export class RollupSchedule extends Construct {
  /** The planner function. */
  public readonly fn: lambda.IFunction;
  /** Function, role and log group. */
  public readonly function: WellwatchFunction;
  /** Daily rule (previous UTC day). */
  public readonly dailyRule: events.Rule;
  /** Hourly rule (pump-days touched late). */
  public readonly pendingRule: events.Rule;

  constructor(scope: Construct, id: string, props: RollupScheduleProps) {
    super(scope, id);
    const environment: Record<string, string> = {
      [ENV.catalogTable]: props.catalogTable.tableName,
      [ROLLUP_FANOUT.queueUrlEnv]: props.workQueue.queueUrl,
    };
    loadConfig({}, environment);
    const names = deploymentNames(props.deployment);

    this.function = new WellwatchFunction(this, 'Rollup', {
      name: 'rollup',
      entry: 'lambdas/rollup/planner.ts',
      description: 'wellwatch: plans the daily rollup into work items for the rollup workers',
      functionName: names.serviceName + ROLLUP_FANOUT.plannerFunction.slice('wellwatch'.length),
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

    props.catalogTable.grantReadWriteData(this.fn);
    props.workQueue.grantSendMessages(this.fn);

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
