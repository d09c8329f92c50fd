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
      name: 'consumer',
      entry: 'lambdas/consumer/handler.ts',
      functionName: names.consumerFunction, // `wellwatch replay` invokes it by this name
      description: 'wellwatch: Kinesis sensor lines -> readings, alerts and dead letters',
      environment,
      memorySize: props.memorySize,
      timeout: props.timeout ?? CONSUMER_DEFAULTS.timeout,
      deployment: props.deployment,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
      network: props.network,
      removalPolicy,
    });
    this.fn = this.function.fn;

    this.eventSource = new sources.KinesisEventSource(props.stream, {
      startingPosition: lambda.StartingPosition[settings.startingPosition],
      ...(settings.startingPosition === 'AT_TIMESTAMP' ? { startingPositionTimestamp: settings.startingPositionTimestamp } : {}),
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
  if (s.startingPosition !== 'TRIM_HORIZON' && s.startingPosition !== 'LATEST' && s.startingPosition !== 'AT_TIMESTAMP') {
    throw new ConfigError(`startingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP, got ${JSON.stringify(s.startingPosition)}`);
  }
  const ts = s.startingPositionTimestamp;
  if (s.startingPosition === 'AT_TIMESTAMP' && !(typeof ts === 'number' && Number.isFinite(ts) && ts >= 0)) {
    throw new ConfigError(`startingPositionTimestamp (epoch seconds) is required with AT_TIMESTAMP, got ${JSON.stringify(ts)}`);
  }
}

/**
 * An encrypted, TLS-only queue that is itself the end of the line for failed data.
 *
 * cdk-nag's AwsSolutions-SQS3 and Control Tower's CT.SQS.PR.1 ask every queue to have a dead-letter queue. These two
 * queues ARE the dead-letter stores: operators list and redrive their messages with the CLI, and a redrive policy
 * would silently move a message to yet another queue after it had been looked at a few times.
 *
 * CT.SQS.PR.1 accepts a queue that declares itself a dead-letter queue with a redrive-allow policy of `allowAll` or
 * `byQueue`. `byQueue` needs at least one source queue ARN, and wellwatch has no SQS source queue (bad lines are sent
 * by the consumer, failed batches by Lambda's on-failure destination), so the policy is `allowAll`: in the SQS API
 * reference (RedriveAllowPolicy) "allowAll – (Default) Any source queues in this AWS account in the same Region can
 * specify this queue as the dead-letter queue", i.e. what SQS applies when the attribute is absent, now stated.
 * cdk-nag does not read the redrive-allow policy, so its SQS3 stays acknowledged.
 */
function terminalQueue(scope: Construct, id: string, queueName: string, removalPolicy: RemovalPolicy): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    queueName,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: CONSUMER_DEFAULTS.queueRetention,
    redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
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
