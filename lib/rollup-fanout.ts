/**
 * The rollup's fan-out: the work queue the planner fills, its dead-letter queue, and the worker function the queue
 * drives with bounded concurrency.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, ROLLUP_FANOUT, deploymentNames, loadConfig } from '../lambdas/config';
import { CONSUMER_DEFAULTS } from './defaults';
import { healthAlarm } from './health-alarm';
import { acknowledgeTableIndexGrant } from './nag';
import { checkIntRange } from './validate';
import { WellwatchFunction, type WellwatchFunctionSettings } from './wellwatch-function';

/** Properties of {@link RollupFanout}. */
export interface RollupFanoutProps extends WellwatchFunctionSettings {
  /** Readings table; the worker reads a pump-day's readings. */
  readonly readingsTable: dynamodb.ITable;
  /** Stats table; the worker writes daily and hourly rows. */
  readonly statsTable: dynamodb.ITable;
  /** Catalog table; the worker reads pump ranges and task records, marks tasks done and deletes pending markers. */
  readonly catalogTable: dynamodb.ITable;
  /**
   * Days to keep stats rows (TTL), 0–36500; 0 keeps them forever.
   *
   * @default 0
   */
  readonly retentionDays?: number;
  /**
   * Concurrent worker invocations (the event source's MaximumConcurrency), 2–1000.
   *
   * @default ROLLUP_FANOUT.maxConcurrency
   */
  readonly maxConcurrency?: number;
  /**
   * Work items per worker invocation, 1–10.
   *
   * @default ROLLUP_FANOUT.batchSize
   */
  readonly batchSize?: number;
  /**
   * Worker timeout, 1–900 seconds; the queue's visibility timeout is six times it.
   *
   * @default ROLLUP_FANOUT.workerTimeoutSeconds
   */
  readonly timeoutSeconds?: number;
  /**
   * Action of the two alarms (worker errors, work items dead-lettered), on alarm and on recovery: the stack passes
   * the ops topic. Every alarm needs an action (Control Tower control CT.CLOUDWATCH.PR.1).
   *
   * @default - no alarms
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/**
 * Work queue → worker Lambda (SQS event source with ReportBatchItemFailures and MaximumConcurrency).
 *
 * - The queue: SSE-SQS encryption and TLS-only like the stack's other queues; visibility timeout six times the
 *   worker's timeout — "set the source queue's visibility timeout to at least six times the configuration timeout on
 *   your function. The extra time allows Lambda to retry if your function is throttled while processing a previous
 *   batch" (AWS Lambda Developer Guide, "Creating and configuring an Amazon SQS event source mapping"); a redrive
 *   policy moving a work item to the dead-letter queue after ROLLUP_FANOUT.maxReceiveCount receives.
 * - The dead-letter queue: allows only the work queue as its source (`byQueue`), keeps messages 14 days; a work
 *   item there is not lost work — its task record stays not done and the next planner run enqueues it again.
 * - The worker: the event source reports partial batch failures (only failed items return to the queue) and is
 *   capped at `maxConcurrency` concurrent invocations, which bounds the rollup's load on the tables.
 *
 * Permissions: read on readings, read/write on the catalog, write on stats; the event source adds receive/delete on
 * the work queue.
 *
 * @example
 * const fanout = new RollupFanout(this, 'RollupFanout', { readingsTable, statsTable, catalogTable });
 * fanout.queue.grantSendMessages(planner);
 */
export class RollupFanout extends Construct {
  /** The work queue the planner sends to. */
  public readonly queue: sqs.Queue;
  /** Where work items go after maxReceiveCount failed receives. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The worker function. */
  public readonly fn: lambda.IFunction;
  /** Function, role and log group of the worker. */
  public readonly function: WellwatchFunction;
  /** The SQS event source of the worker. */
  public readonly eventSource: sources.SqsEventSource;
  /** Worker errors and dead-lettered work items (with `alarmAction` only). */
  public readonly alarms: { readonly workerErrors?: cloudwatch.Alarm; readonly deadLetters?: cloudwatch.Alarm } = {};

  constructor(scope: Construct, id: string, props: RollupFanoutProps) {
    super(scope, id);
    checkIntRange('retentionDays', props.retentionDays, 0, 36_500);
    // "MaximumConcurrency … Valid Range: Minimum value of 2. Maximum value of 1000." (Lambda API, ScalingConfig)
    checkIntRange('maxConcurrency', props.maxConcurrency, 2, 1_000);
    checkIntRange('batchSize', props.batchSize, 1, 10);
    checkIntRange('timeoutSeconds', props.timeoutSeconds, 1, 900);
    const timeoutSeconds = props.timeoutSeconds ?? ROLLUP_FANOUT.workerTimeoutSeconds;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const names = deploymentNames(props.deployment);
    const queueName = names.serviceName + ROLLUP_FANOUT.queueName.slice('wellwatch'.length);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      queueName: `${queueName}-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: CONSUMER_DEFAULTS.queueRetention,
      removalPolicy,
    });
    this.queue = new sqs.Queue(this, 'Work', {
      queueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(timeoutSeconds * ROLLUP_FANOUT.visibilityTimeoutFactor),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: ROLLUP_FANOUT.maxReceiveCount },
      removalPolicy,
    });
    // The redrive-allow policy names the work queue by its ARN built from the name: a reference to the work queue
    // would make each queue depend on the other (its redrive policy names the dead-letter queue).
    (this.deadLetterQueue.node.defaultChild as sqs.CfnQueue).redriveAllowPolicy = {
      redrivePermission: 'byQueue',
      sourceQueueArns: [Stack.of(this).formatArn({ service: 'sqs', resource: queueName })],
    };

    const environment: Record<string, string> = {
      [ENV.readingsTable]: props.readingsTable.tableName,
      [ENV.statsTable]: props.statsTable.tableName,
      [ENV.catalogTable]: props.catalogTable.tableName,
      [ENV.retentionDays]: String(props.retentionDays ?? 0),
    };
    loadConfig({}, environment);

    this.function = new WellwatchFunction(this, 'Worker', {
      name: 'rollup-worker',
      entry: 'lambdas/rollup/worker.ts',
      description: 'wellwatch: rolls up the pump-days of one rollup work item',
      environment,
      memorySize: props.memorySize,
      timeout: Duration.seconds(timeoutSeconds),
      deployment: props.deployment,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
      network: props.network,
      removalPolicy: props.removalPolicy,
    });
    this.fn = this.function.fn;

    this.eventSource = new sources.SqsEventSource(this.queue, {
      batchSize: props.batchSize ?? ROLLUP_FANOUT.batchSize,
      maxConcurrency: props.maxConcurrency ?? ROLLUP_FANOUT.maxConcurrency,
      reportBatchItemFailures: true,
    });
    this.fn.addEventSource(this.eventSource);

    props.readingsTable.grantReadData(this.fn);
    props.catalogTable.grantReadWriteData(this.fn);
    props.statsTable.grantWriteData(this.fn);
    const role = this.function.role;
    acknowledgeTableIndexGrant(role, props.readingsTable, 'grantReadData adds them; reading its own indexes is harmless');
    acknowledgeTableIndexGrant(role, props.statsTable, 'grantWriteData adds them; writes never target an index');

    if (props.alarmAction !== undefined) {
      // A failed work item is retried by redelivery, so a worker error is a warning; a dead-lettered one is a day
      // left incomplete until the next planner run (or `wellwatch rollup`) enqueues it again.
      const action = props.alarmAction;
      const alarm = (alarmId: string, description: string, metric: cloudwatch.IMetric) => healthAlarm(this, alarmId, { description, metric, threshold: 0, action });
      const period = Duration.minutes(5);
      this.alarms = {
        workerErrors: alarm('WorkerErrorsAlarm', 'the rollup worker failed (its work items are redelivered)', this.fn.metricErrors({ period, statistic: 'Sum' })),
        deadLetters: alarm(
          'DeadLettersAlarm',
          'rollup work items reached the dead-letter queue (their day stays incomplete until the rollup runs again)',
          this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        ),
      };
    }
  }
}
