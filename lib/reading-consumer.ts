/**
 * The Kinesis consumer: a Lambda function that parses sensor lines, evaluates alert rules and stores readings.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  ConfigError,
  DEFAULT_ALERT_RULES,
  DEFAULT_EVENT_SOURCE,
  ENV,
  type EventSourceSettings,
  deploymentNames,
  loadConfig,
  parseAlertRules,
} from '../lambdas/config';
import type { AlertRule } from '../lambdas/core/types';
import { CONSUMER_DEFAULTS } from './defaults';
import { acknowledgeTableIndexGrant } from './nag';
import { checkIntRange } from './validate';
import { WellwatchFunction, type WellwatchFunctionSettings } from './wellwatch-function';

/** Properties of {@link ReadingConsumer}. */
export interface ReadingConsumerProps extends WellwatchFunctionSettings {
  /** The stream the sensors write to. */
  readonly stream: kinesis.IStream;
  /** Readings table; the consumer gets write access. */
  readonly readingsTable: dynamodb.ITable;
  /** Catalog table; the consumer gets write access (days, pump-days, pending markers). */
  readonly catalogTable: dynamodb.ITable;
  /** Stats table; only its name is passed (so the handler's configuration is complete), no access is granted. */
  readonly statsTable: dynamodb.ITable;
  /**
   * Overrides of the event-source mapping settings; unset fields keep the shared defaults.
   *
   * @default DEFAULT_EVENT_SOURCE from `lambdas/config.ts`
   */
  readonly eventSource?: Partial<EventSourceSettings>;
  /**
   * Alert rules evaluated on every reading.
   *
   * @default DEFAULT_ALERT_RULES (`psi < 5`)
   */
  readonly alertRules?: readonly AlertRule[];
  /**
   * Offset of the sensors' clock from UTC, `±HH:MM`.
   *
   * @default '+00:00'
   */
  readonly sourceUtcOffset?: string;
  /**
   * Days to keep readings (TTL), 0–36500; 0 keeps them forever.
   *
   * @default 0
   */
  readonly retentionDays?: number;
  /**
   * Maximum run time of one batch, 1–900 seconds.
   *
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
}

/**
 * Lambda consumer of the sensor stream, with its dead-letter and failed-batch queues.
 *
 * The safety settings of the event-source mapping, in one place (defaults from `DEFAULT_EVENT_SOURCE`):
 * - starts at `TRIM_HORIZON`, so nothing already in the stream is skipped on first deployment;
 * - reports partial batch failures (`ReportBatchItemFailures`), so only the failing record and its successors are
 *   retried;
 * - bisects a failing batch, retries a bounded number of times and gives up on records older than a day;
 * - what it gives up on goes to the failed-batch queue (shard id and sequence range, for a replay), never lost
 *   silently.
 *
 * Lines that cannot be parsed are not failures: the handler sends them to the dead-letter queue with the reason.
 * Permissions: read on the stream (granted by the event source), write-only on the readings and catalog tables,
 * send-only on the dead-letter queue, nothing on the stats table.
 *
 * @example
 * const consumer = new ReadingConsumer(this, 'Consumer', {
 *   stream: sensors.stream, ...storage, eventSource: { batchSize: 500 },
 * });
 */
export class ReadingConsumer extends Construct {
  /** The consumer function. */
  public readonly fn: lambda.IFunction;
  /** Function, role and log group. */
  public readonly function: WellwatchFunction;
  /** Bad lines (parse errors, corrupt aggregates) with the reason, one message each. */
  public readonly deadLetterQueue: sqs.Queue;
  /** On-failure destination of the event source: batches given up on after the retries. */
  public readonly failedBatchQueue: sqs.Queue;
  /** The Kinesis event source. */
  public readonly eventSource: sources.KinesisEventSource;
  /** The effective event-source settings (defaults merged with the overrides). */
  public readonly eventSourceSettings: EventSourceSettings;

  constructor(scope: Construct, id: string, props: ReadingConsumerProps) {
    super(scope, id);
    const settings: EventSourceSettings = { ...DEFAULT_EVENT_SOURCE, ...props.eventSource };
    validateEventSource(settings);
    this.eventSourceSettings = settings;
    checkIntRange('retentionDays', props.retentionDays, 0, 36_500);
    const alertRules = parseAlertRules(JSON.stringify(props.alertRules ?? DEFAULT_ALERT_RULES));
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const names = deploymentNames(props.deployment);
    this.deadLetterQueue = terminalQueue(this, 'DeadLetterQueue', names.deadLetterQueue, removalPolicy);
    this.failedBatchQueue = terminalQueue(this, 'FailedBatchQueue', names.failedBatchQueue, removalPolicy);

    const environment: Record<string, string> = {
      [ENV.streamName]: props.stream.streamName,
      [ENV.readingsTable]: props.readingsTable.tableName,
      [ENV.statsTable]: props.statsTable.tableName,
      [ENV.catalogTable]: props.catalogTable.tableName,
      [ENV.deadLetterUrl]: this.deadLetterQueue.queueUrl,
      [ENV.alertRules]: JSON.stringify(alertRules),
      [ENV.sourceUtcOffset]: props.sourceUtcOffset ?? '+00:00',
      [ENV.retentionDays]: String(props.retentionDays ?? 0),
    };
    // The handler resolves its configuration with loadConfig(); fail the synth, not the first invocation.
    loadConfig({}, environment);

    this.function = new WellwatchFunction(this, 'Consumer', {
      entry: 'lambdas/consumer/handler.ts',
      functionName: names.consumerFunction, // `wellwatch replay` invokes it by this name
      description: 'wellwatch: Kinesis sensor lines -> readings, alerts and dead letters',
      environment,
      memorySize: props.memorySize,
      timeout: props.timeout ?? CONSUMER_DEFAULTS.timeout,
      deployment: props.deployment,
      logRetention: props.logRetention,
      removalPolicy,
    });
    this.fn = this.function.fn;

    this.eventSource = new sources.KinesisEventSource(props.stream, {
      startingPosition: lambda.StartingPosition[settings.startingPosition],
      batchSize: settings.batchSize,
      maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
      parallelizationFactor: settings.parallelizationFactor,
      bisectBatchOnError: settings.bisectBatchOnError,
      retryAttempts: settings.retryAttempts,
      maxRecordAge: Duration.seconds(settings.maxRecordAgeSeconds),
      reportBatchItemFailures: settings.reportBatchItemFailures,
      onFailure: new sources.SqsDlq(this.failedBatchQueue),
    });
    this.fn.addEventSource(this.eventSource);

    props.readingsTable.grantWriteData(this.fn);
    acknowledgeTableIndexGrant(this.function.role, props.readingsTable, 'grantWriteData adds them; writes never target an index');
    props.catalogTable.grantWriteData(this.fn);
    this.deadLetterQueue.grantSendMessages(this.fn);
  }
}

/** Validates the event-source settings against the ranges Lambda accepts. */
function validateEventSource(s: EventSourceSettings): void {
  checkIntRange('batchSize', s.batchSize, 1, 10_000);
  checkIntRange('maxBatchingWindowSeconds', s.maxBatchingWindowSeconds, 0, 300);
  checkIntRange('parallelizationFactor', s.parallelizationFactor, 1, 10);
  checkIntRange('retryAttempts', s.retryAttempts, 0, 10_000);
  checkIntRange('maxRecordAgeSeconds', s.maxRecordAgeSeconds, 60, 604_800);
  if (s.reportBatchItemFailures !== true) {
    // The handler answers a failed write, and a batch cut short near its timeout, with a partial batch response;
    // without ReportBatchItemFailures Lambda would take that answer as success and skip the unwritten readings.
    throw new ConfigError('reportBatchItemFailures must stay true: the consumer reports unwritten records through partial batch responses');
  }
  if (s.startingPosition !== 'TRIM_HORIZON' && s.startingPosition !== 'LATEST') {
    throw new ConfigError(`startingPosition must be TRIM_HORIZON or LATEST, got ${JSON.stringify(s.startingPosition)}`);
  }
}

/**
 * An encrypted, TLS-only queue that is itself the end of the line for failed data.
 *
 * cdk-nag's AwsSolutions-SQS3 asks every queue to have a dead-letter queue. These two queues ARE the dead-letter
 * stores: operators list and redrive their messages with the CLI, and a redrive policy would silently move a message
 * to yet another queue after it had been looked at a few times.
 */
function terminalQueue(scope: Construct, id: string, queueName: string, removalPolicy: RemovalPolicy): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    queueName,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: CONSUMER_DEFAULTS.queueRetention,
    removalPolicy,
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself a dead-letter store (bad lines / failed Kinesis batches); operators inspect and redrive it ' +
      'with the CLI, and a redrive policy would move messages away after they were merely looked at.',
  });
  return queue;
}
