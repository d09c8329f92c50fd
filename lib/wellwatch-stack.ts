/**
 * The wellwatch stack: sensor stream → consumer → tables, scheduled rollup, query API, dashboard, alarms and their topic.
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, type Node } from 'constructs';
import { ConfigError, DEFAULT_EVENT_SOURCE, deploymentNames, type EventSourceSettings } from '../lambdas/config';
import type { AlertRule } from '../lambdas/core/types';
import { AlarmLayer } from './alarm-layer';
import { CONTEXT_KEYS, LOG_DEFAULTS, STREAM_DEFAULTS, STREAM_MODES, type StreamModeName, VPC_DEFAULTS } from './defaults';
import { logsEncryptionKey } from './encryption-key';
import { fleetSizing, type FleetSizing } from './fleet-sizing';
import { FunctionNetwork } from './function-network';
import { Notifications } from './notifications';
import { Observability } from './observability';
import { OperatorPolicy } from './operator-policy';
import { QueryApi } from './query-api';
import { ReadingConsumer } from './reading-consumer';
import { ReadingStorage } from './reading-storage';
import { RollupFanout } from './rollup-fanout';
import { RollupSchedule } from './rollup-schedule';
import { SensorStream } from './sensor-stream';
import { checkOneOf, parseVpcPlacement, type VpcPlacement } from './validate';

/** Properties of {@link WellwatchStack}. Without any, the stack is the documented production setup. */
export interface WellwatchStackProps extends StackProps {
  /**
   * Deployment name, so several wellwatch deployments share an account and region: every physical name gets it
   * (`wellwatch-staging-readings`, queues, dashboard, metrics `service`), see `deploymentNames`. Give the stack the
   * matching id, `deploymentNames(name).stackName` (bin/app.ts does).
   *
   * @default - the default deployment: `wellwatch-readings`, `wellwatch-stats`, …
   */
  readonly deployment?: string;
  /**
   * Capacity mode of the stream.
   *
   * @default 'provisioned'
   */
  readonly streamMode?: StreamModeName;
  /**
   * Shards of a provisioned stream, 1–500.
   *
   * @default 2 (when provisioned)
   */
  readonly shardCount?: number;
  /**
   * Pumps in the fleet: sizes the stream's shards (unless `shardCount` is given) and the tables' warm throughput
   * from the sizing model (`fleetSizing`, the model `wellwatch plan` prints), at the default report interval.
   *
   * @default - no sizing: `shardCount` or its default, tables at a new on-demand table's warm throughput
   */
  readonly pumps?: number;
  /**
   * Hours the stream keeps a record, 24–8760.
   *
   * @default 24
   */
  readonly retentionHours?: number;
  /**
   * Overrides of the event-source mapping settings.
   *
   * @default DEFAULT_EVENT_SOURCE from `lambdas/config.ts`
   */
  readonly eventSource?: Partial<EventSourceSettings>;
  /**
   * Alert rules the consumer evaluates.
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
   * Days to keep readings and stats (TTL); 0 keeps them forever.
   *
   * @default 0
   */
  readonly retentionDays?: number;
  /**
   * Removal policy of the stream, tables, queues and log groups.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long function logs are kept (one of the periods CloudWatch Logs accepts). Less than a year is for test
   * deployments: Control Tower control CT.CLOUDWATCH.PR.2 wants a year, and a shorter period is acknowledged in code.
   *
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Run the functions (consumer, rollup, query API) in these subnets of an existing VPC, with a security group of
   * their own (outbound HTTPS only). The subnets need a route to DynamoDB and SQS (VPC endpoints or NAT).
   *
   * @default - the functions run outside any VPC (Control Tower control CT.LAMBDA.PR.3 acknowledged, with the reason)
   */
  readonly vpc?: VpcPlacement;
  /**
   * Create the alarms.
   *
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * E-mail address subscribed to the ops notification topic (which always exists).
   *
   * @default - no subscription
   */
  readonly alarmEmail?: string;
}

/**
 * Everything wellwatch runs on in AWS, composed from one construct per concern.
 *
 * Environment-agnostic (no `env`, no lookups), so `cdk synth` works offline and without credentials; deploy with
 * `cdk deploy` into the account and region of the current credentials.
 *
 * @example
 * const app = new App();
 * new WellwatchStack(app, NAMES.stackName, stackPropsFromContext(app.node));
 */
export class WellwatchStack extends Stack {
  /** The sensor stream. */
  public readonly sensors: SensorStream;
  /** The tables. */
  public readonly storage: ReadingStorage;
  /** The Kinesis consumer and its queues. */
  public readonly consumer: ReadingConsumer;
  /** The scheduled rollup planner. */
  public readonly rollup: RollupSchedule;
  /** The rollup's work queue and workers. */
  public readonly rollupFanout: RollupFanout;
  /** Dashboard and alarms. */
  public readonly observability: Observability;
  /** The query API (HTTP API, IAM authorisation). */
  public readonly queryApi: QueryApi;
  /** The notification topic every alarm notifies: CloudWatch alarms and pump alarm transitions. */
  public readonly notifications: Notifications;
  /** The alarms table and the scheduled alarm check. */
  public readonly alarmLayer: AlarmLayer;
  /** The fleet sizing the stream and tables were sized with, when `pumps` is set. */
  public readonly sizing?: FleetSizing;
  /** Subnets and security group of the functions, when `vpc` is set. */
  public readonly network?: FunctionNetwork;
  /**
   * The key of this deployment's log groups: CloudWatch Logs may use it for log groups named under
   * `deploymentNames(deployment).logGroupPrefix` only, so a new log group must be named there to use it.
   */
  public readonly logEncryptionKey: kms.Key;

  constructor(scope: Construct, id: string, props: WellwatchStackProps = {}) {
    super(scope, id, {
      description: 'wellwatch: oil-well pump sensor monitoring (Kinesis -> Lambda -> DynamoDB, daily rollups)',
      ...props,
    });
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const names = deploymentNames(props.deployment);
    checkOneOf('logRetention', props.logRetention, [...LOG_DEFAULTS.retentionDays, logs.RetentionDays.INFINITE]);

    this.notifications = new Notifications(this, 'Notifications', {
      deployment: props.deployment,
      alarmEmail: props.alarmEmail,
      removalPolicy,
    });
    // One key for the log groups of every function and the API's access logs, usable for this deployment's only.
    this.logEncryptionKey = logsEncryptionKey(this, 'LogsKey', {
      description: `wellwatch: encrypts the function logs under ${names.logGroupPrefix}/`,
      logGroupNamePrefix: names.logGroupPrefix,
      removalPolicy,
    });
    this.network = props.vpc ? new FunctionNetwork(this, 'Network', props.vpc) : undefined;
    const functionSettings = {
      deployment: props.deployment,
      logRetention: props.logRetention,
      logEncryptionKey: this.logEncryptionKey,
      network: this.network,
      removalPolicy,
    };

    if (props.pumps !== undefined) {
      this.sizing = fleetSizing(props.pumps, {
        retentionDays: props.retentionDays,
        eventSource: { ...DEFAULT_EVENT_SOURCE, ...props.eventSource },
      });
    }
    const onDemand = props.streamMode === STREAM_MODES.onDemand;
    if (this.sizing && !onDemand && props.shardCount === undefined && this.sizing.shardCount > STREAM_DEFAULTS.maxShards) {
      throw new ConfigError(
        `pumps ${props.pumps} need ${this.sizing.shardCount} shards, more than a stream's ${STREAM_DEFAULTS.maxShards} (the default quota): use streamMode on-demand or split the fleet over deployments`,
      );
    }
    this.sensors = new SensorStream(this, 'Sensors', {
      streamName: names.streamName,
      mode: props.streamMode,
      // An explicit shard count wins over the plan's; an on-demand stream scales by itself.
      shardCount: props.shardCount ?? (onDemand ? undefined : this.sizing?.shardCount),
      retentionHours: props.retentionHours,
      removalPolicy,
    });
    this.storage = new ReadingStorage(this, 'Storage', {
      readingsTableName: names.readingsTable,
      statsTableName: names.statsTable,
      catalogTableName: names.catalogTable,
      warmThroughput: this.sizing?.warmThroughput,
      removalPolicy,
    });
    const { readingsTable, statsTable, catalogTable } = this.storage;

    this.consumer = new ReadingConsumer(this, 'Consumer', {
      stream: this.sensors.stream,
      readingsTable,
      statsTable,
      catalogTable,
      eventSource: props.eventSource,
      alertRules: props.alertRules,
      sourceUtcOffset: props.sourceUtcOffset,
      retentionDays: props.retentionDays,
      ...functionSettings,
    });
    new OperatorPolicy(this, 'Operators', { stream: this.sensors.stream, readingsTable, catalogTable, consumer: this.consumer.fn, deadLetterQueue: this.consumer.deadLetterQueue, failedBatchQueue: this.consumer.failedBatchQueue });
    this.rollupFanout = new RollupFanout(this, 'RollupFanout', {
      readingsTable,
      statsTable,
      catalogTable,
      retentionDays: props.retentionDays,
      ...(props.alarms === false ? {} : { alarmAction: new actions.SnsAction(this.notifications.topic) }),
      ...functionSettings,
    });
    this.rollup = new RollupSchedule(this, 'Rollup', { catalogTable, workQueue: this.rollupFanout.queue, ...functionSettings });
    const topic = this.notifications.topic;
    this.alarmLayer = new AlarmLayer(this, 'Alarms', { readingsTable, topic, warmThroughput: this.sizing?.warmThroughput.alarms, ...functionSettings });
    this.alarmLayer.grantEvaluate(this.consumer.function, topic, readingsTable);

    this.observability = new Observability(this, 'Observability', {
      stream: this.sensors.stream,
      consumer: this.consumer.fn,
      rollup: this.rollup.fn,
      tables: { readings: readingsTable, stats: statsTable, catalog: catalogTable, alarms: this.alarmLayer.table },
      deadLetterQueue: this.consumer.deadLetterQueue,
      failedBatchQueue: this.consumer.failedBatchQueue,
      dashboardName: names.serviceName,
      serviceName: names.serviceName,
      alarms: props.alarms,
      topic,
    });
    // The query API: a function like the others (logs key, network), its alarms notify the ops topic, and its
    // widgets join the dashboard.
    this.queryApi = new QueryApi(this, 'QueryApi', {
      readingsTable,
      statsTable,
      catalogTable,
      alarms: props.alarms,
      alarmAction: new actions.SnsAction(this.notifications.topic),
      alarmLayer: { table: this.alarmLayer.table, environment: this.alarmLayer.environment, topic },
      ...functionSettings,
    });
    this.observability.dashboard.addWidgets(...this.queryApi.widgets);

    const output = (name: string, value: string, description: string) => new CfnOutput(this, name, { value, description });
    output('StreamName', this.sensors.stream.streamName, 'Kinesis stream the sensors write to');
    output('StreamArn', this.sensors.stream.streamArn, 'ARN of the sensor stream');
    output('ReadingsTableName', readingsTable.tableName, 'DynamoDB table of readings');
    output('StatsTableName', statsTable.tableName, 'DynamoDB table of daily statistics');
    output('CatalogTableName', catalogTable.tableName, 'DynamoDB table of days, pump-days and pending re-rollups');
    output('DeadLetterQueueUrl', this.consumer.deadLetterQueue.queueUrl, 'SQS queue of bad sensor lines');
    output('FailedBatchQueueUrl', this.consumer.failedBatchQueue.queueUrl, 'SQS queue of Kinesis batches the consumer gave up on');
    output('AlarmsTableName', this.alarmLayer.table.tableName, 'DynamoDB table of pump alarm states, archived alarms and per-pump items');
    output('QueryApiUrl', this.queryApi.url, 'Query API base URL (IAM authorisation: sign requests with SigV4, service execute-api)');
    output('DashboardName', this.observability.dashboard.dashboardName, 'CloudWatch dashboard');
    output('AlarmTopicArn', this.notifications.topic.topicArn, 'SNS topic of pump alarm transitions and every CloudWatch alarm (subscribe pagers or chat here)');
  }
}

/**
 * Reads the stack's settings from CDK context (`cdk synth -c wellwatch:shards=4`, or `cdk.json`).
 *
 * Context given on the command line arrives as strings; numbers are parsed and checked here so a typo fails with
 * the key's name instead of deploying a default.
 *
 * Keys: `wellwatch:shards`, `wellwatch:pumps` (sizes shards and warm throughput; `shards` still wins), `wellwatch:streamMode` (`provisioned` | `on-demand`), `wellwatch:retentionHours`,
 * `wellwatch:alarmEmail`, `wellwatch:logRetentionDays` (one of the periods CloudWatch Logs accepts),
 * `wellwatch:vpc` (`vpc-ID:subnet-ID,subnet-ID` or `{"vpcId": …, "subnetIds": […]}`).
 *
 * @example
 * new WellwatchStack(app, NAMES.stackName, stackPropsFromContext(app.node));
 */
export function stackPropsFromContext(node: Node): WellwatchStackProps {
  const int = (key: string): number | undefined => {
    const raw: unknown = node.tryGetContext(key);
    if (raw === undefined || raw === null || raw === '') return undefined;
    const n = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isInteger(n)) throw new ConfigError(`context ${key} must be an integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  const str = (key: string): string | undefined => {
    const raw: unknown = node.tryGetContext(key);
    if (raw === undefined || raw === null || raw === '') return undefined;
    if (typeof raw !== 'string') throw new ConfigError(`context ${key} must be a string, got ${JSON.stringify(raw)}`);
    return raw;
  };

  const mode = str(CONTEXT_KEYS.streamMode);
  if (mode !== undefined && mode !== STREAM_MODES.provisioned && mode !== STREAM_MODES.onDemand) {
    throw new ConfigError(`context ${CONTEXT_KEYS.streamMode} must be 'provisioned' or 'on-demand', got ${JSON.stringify(mode)}`);
  }
  const logRetentionDays = int(CONTEXT_KEYS.logRetentionDays);
  checkOneOf(`context ${CONTEXT_KEYS.logRetentionDays}`, logRetentionDays, LOG_DEFAULTS.retentionDays);
  const vpc = parseVpcPlacement(`context ${CONTEXT_KEYS.vpc}`, node.tryGetContext(CONTEXT_KEYS.vpc), VPC_DEFAULTS.maxSubnets);
  return {
    ...(logRetentionDays !== undefined ? { logRetention: logRetentionDays as logs.RetentionDays } : {}),
    ...(vpc !== undefined ? { vpc } : {}),
    deployment: str(CONTEXT_KEYS.deployment),
    streamMode: mode,
    shardCount: int(CONTEXT_KEYS.shards),
    pumps: int(CONTEXT_KEYS.pumps),
    retentionHours: int(CONTEXT_KEYS.retentionHours),
    alarmEmail: str(CONTEXT_KEYS.alarmEmail),
  };
}
