/**
 * The alarm layer: the alarms table and the scheduled alarm check (no-data, shelf expiry, pending notifications).
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ALARM_DEFAULTS, ALARM_KEYS, ENV, FLEET_KEYS, KEYS, deploymentNames, loadConfig } from '../lambdas/config';
import { STORAGE_DEFAULTS } from './defaults';
import { acknowledgeTableIndexGrant } from './nag';
import { checkIntRange } from './validate';
import { WellwatchFunction, type WellwatchFunctionSettings } from './wellwatch-function';

/**
 * Acknowledges the `kms:GenerateDataKey*` action that `topic.grantPublish` adds for a KMS-encrypted topic: SNS needs a
 * data key per message (GenerateDataKey, GenerateDataKeyWithoutPlaintext), on the topic's own key only.
 */
export function acknowledgeTopicKeyGrant(grantee: IConstruct): void {
  Validations.of(grantee).acknowledge({
    id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    reason: 'topic.grantPublish on the KMS-encrypted alarm topic: SNS needs kms:GenerateDataKey* on that one key to encrypt each message',
  });
}

/** Properties of {@link AlarmLayer}. */
export interface AlarmLayerProps extends WellwatchFunctionSettings {
  /** Readings table; the check reads a pump's newest reading to confirm a silence. */
  readonly readingsTable: dynamodb.ITable;
  /** Topic the check publishes alarm transitions to. */
  readonly topic: sns.ITopic;
  /**
   * Expected interval between a pump's readings, minutes (`WELLWATCH_NO_DATA_MINUTES`), 1–10080.
   *
   * @default 30
   */
  readonly noDataMinutes?: number;
  /**
   * Write-sharding buckets of the per-pump items and the alarm indexes (`WELLWATCH_ALARM_BUCKETS`), 1–1000. Fixed
   * for the life of a table: a deployment made with 16 (the default before issue 13) keeps 16.
   *
   * @default FLEET_KEYS.buckets (32)
   */
  readonly buckets?: number;
  /**
   * Warm throughput of the alarms table, e.g. `fleetSizing(pumps).warmThroughput.alarms`.
   *
   * @default - none: a new on-demand table starts at 4,000 write and 12,000 read units per second
   */
  readonly warmThroughput?: dynamodb.WarmThroughput;
  /**
   * Maximum run time of one check, 1–900 seconds.
   *
   * @default Duration.minutes(4) - less than the 5-minute schedule, so runs do not pile up
   */
  readonly timeout?: Duration;
}

/**
 * The alarms table and the alarm check function on an EventBridge schedule every 5 minutes.
 *
 * Table `wellwatch-alarms` (on-demand, PITR, TTL on notification markers): per-(pump, rule) versioned states, archived
 * alarms, bucketed per-pump items and two sparse, bucketed GSIs (`openAlarms`, `alarmHistory`) — the key design is
 * in the alarms block of `lambdas/config.ts`. A table of its own rather than items in the catalog: the alarm items
 * have their own indexes, TTL and access pattern (read-modify-write per pump), and the grants stay separate (the
 * rollup never sees alarms; the check never writes the catalog).
 *
 * The check reads and writes the alarms table, reads the readings table and publishes to the topic; nothing else.
 * EventBridge may deliver a scheduled event more than once; the check is idempotent (conditional writes, markers).
 *
 * @example
 * const alarms = new AlarmLayer(this, 'Alarms', { readingsTable, topic: notifications.topic });
 * alarms.table.grantReadWriteData(consumerFn);
 */
export class AlarmLayer extends Construct {
  /** The alarms table. */
  public readonly table: dynamodb.Table;
  /** The alarm check function. */
  public readonly fn: lambda.IFunction;
  /** Function, role and log group of the check. */
  public readonly function: WellwatchFunction;
  /** The 5-minute schedule. */
  public readonly rule: events.Rule;
  /** Environment variables the alarm-aware functions (consumer, check) need. */
  public readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: AlarmLayerProps) {
    super(scope, id);
    checkIntRange('noDataMinutes', props.noDataMinutes, 1, 10_080);
    checkIntRange('buckets', props.buckets, 1, 1_000);
    const removalPolicy = props.removalPolicy ?? STORAGE_DEFAULTS.removalPolicy;
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: deploymentNames(props.deployment).alarmsTable,
      partitionKey: { name: KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: KEYS.ttlAttribute,
      warmThroughput: props.warmThroughput,
      removalPolicy,
    });
    // openAlarms is keys-only (each write of an open alarm's state writes it too: 1 unit, not the item's size again);
    // alarmHistory holds each closed alarm once and serves listings, so it projects everything.
    for (const [index, projectionType] of [
      [ALARM_KEYS.openAlarms, dynamodb.ProjectionType.KEYS_ONLY],
      [ALARM_KEYS.alarmHistory, dynamodb.ProjectionType.ALL],
    ] as const) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType,
      });
    }

    this.environment = {
      [ENV.alarmsTable]: this.table.tableName,
      [ENV.alarmNotifications]: props.topic.topicArn,
      [ENV.noDataMinutes]: String(props.noDataMinutes ?? ALARM_DEFAULTS.noDataMinutes),
      [ENV.alarmBuckets]: String(props.buckets ?? FLEET_KEYS.buckets),
    };
    const environment = { ...this.environment, [ENV.readingsTable]: props.readingsTable.tableName };
    loadConfig({}, environment);

    this.function = new WellwatchFunction(this, 'Check', {
      name: 'alarm-check',
      entry: 'lambdas/alarms/handler.ts',
      description: 'wellwatch: alarm check (no data, shelf expiry, pending notifications) every 5 minutes',
      environment,
      memorySize: props.memorySize,
      timeout: props.timeout ?? Duration.minutes(4),
      deployment: props.deployment,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
      network: props.network,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.fn = this.function.fn;
    this.table.grantReadWriteData(this.fn);
    props.readingsTable.grantReadData(this.fn);
    props.topic.grantPublish(this.fn);
    acknowledgeTopicKeyGrant(this.function.role);
    acknowledgeTableIndexGrant(this.function.role, this.table, 'the check queries the openAlarms index of its own table');
    acknowledgeTableIndexGrant(this.function.role, props.readingsTable, 'grantReadData adds them; reading its indexes is harmless');

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'wellwatch: alarm check every 5 minutes (no data, shelf expiry, pending notifications)',
      schedule: events.Schedule.cron({ minute: ALARM_DEFAULTS.noDataSchedule.minute, hour: ALARM_DEFAULTS.noDataSchedule.hour }),
      targets: [new targets.LambdaFunction(this.fn, { event: events.RuleTargetInput.fromObject({ mode: 'check' }) })],
    });
  }

  /**
   * Lets a function evaluate alarms: read/write on the alarms table, publish to the topic, and the environment.
   * With `readingsTable`, also `dynamodb:Query` on it alone (no index, no Scan or GetItem): the early-warning
   * detectors replay a pump's stored readings after its checkpoint on a cold start.
   *
   * @example
   * alarms.grantEvaluate(consumer.function, notifications.topic, storage.readingsTable);
   */
  grantEvaluate(fn: WellwatchFunction, topic: sns.ITopic, readingsTable?: dynamodb.ITable): void {
    this.table.grantReadWriteData(fn.fn);
    // Not `readingsTable.grant(…)`: a table grant also covers `<table>/index/*`, and the replay reads the base table only.
    if (readingsTable) fn.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [readingsTable.tableArn] }));
    topic.grantPublish(fn.fn);
    acknowledgeTopicKeyGrant(fn.role);
    for (const [k, v] of Object.entries(this.environment)) fn.fn.addEnvironment(k, v);
    acknowledgeTableIndexGrant(fn.role, this.table, 'grantReadWriteData adds them; the consumer writes index keys through the base table only');
  }
}
